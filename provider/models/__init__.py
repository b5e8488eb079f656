"""Typed inputs of every resource (pydantic v2, extra fields forbidden). Pure."""

from .bridge import Bond, BridgeArgs, Ipv4
from .common import Model, parse_duration, parse_quantity, quantity_bytes
from .disk import BackingSource, BlankSource, CloneSource, DiskArgs, ImageSource, RegistrySource, UrlSource
from .target import KubevirtTarget, LibvirtTarget
from .vm import (
    CloudInit,
    Cpu,
    DiskAttachment,
    Interface,
    KernelBoot,
    RestartPolicy,
    Timeouts,
    VirtualMachineArgs,
    VolumeRef,
)

__all__ = [
    "BackingSource",
    "BlankSource",
    "Bond",
    "BridgeArgs",
    "CloneSource",
    "CloudInit",
    "Cpu",
    "DiskArgs",
    "DiskAttachment",
    "ImageSource",
    "Interface",
    "Ipv4",
    "KernelBoot",
    "KubevirtTarget",
    "LibvirtTarget",
    "Model",
    "RegistrySource",
    "RestartPolicy",
    "Timeouts",
    "UrlSource",
    "VirtualMachineArgs",
    "VolumeRef",
    "parse_duration",
    "parse_quantity",
    "quantity_bytes",
]
