"""Typed inputs of every resource (pydantic v2, extra fields forbidden). Pure."""

from .bridge import Bond, BridgeArgs, Ipv4
from .common import Model, Timeouts, parse_duration, parse_quantity, quantity_bytes
from .disk import DiskArgs
from .kubevirt import ClusterRef, KubevirtVmOptions, Probe, Toleration
from .migration import MigrationArgs
from .sources import (
    BackingSource,
    BlankSource,
    CloneSource,
    DiskSource,
    DiskTemplate,
    ImageSource,
    RegistrySource,
    UrlSource,
    VolumeRef,
)
from .target import KubevirtTarget, LibvirtTarget, libvirt_host, normalize_libvirt_uri, same_libvirt_host
from .vm import CloudInit, Cpu, DiskAttachment, Interface, KernelBoot, RestartPolicy, VirtualMachineArgs

__all__ = [
    "BackingSource",
    "BlankSource",
    "Bond",
    "BridgeArgs",
    "CloneSource",
    "CloudInit",
    "ClusterRef",
    "Cpu",
    "DiskArgs",
    "DiskAttachment",
    "DiskSource",
    "DiskTemplate",
    "ImageSource",
    "Interface",
    "Ipv4",
    "KernelBoot",
    "KubevirtTarget",
    "KubevirtVmOptions",
    "LibvirtTarget",
    "MigrationArgs",
    "Model",
    "Probe",
    "RegistrySource",
    "RestartPolicy",
    "Timeouts",
    "Toleration",
    "UrlSource",
    "VirtualMachineArgs",
    "VolumeRef",
    "libvirt_host",
    "normalize_libvirt_uri",
    "parse_duration",
    "parse_quantity",
    "quantity_bytes",
    "same_libvirt_host",
]
