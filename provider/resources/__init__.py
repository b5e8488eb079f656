"""Pulumi resources (dynamic providers): thin adapters over provider.core."""

from .bridge import Bridge, BridgeProvider
from .disk import Disk, DiskProvider
from .vm import VirtualMachine, VirtualMachineProvider

__all__ = ["Bridge", "BridgeProvider", "Disk", "DiskProvider", "VirtualMachine", "VirtualMachineProvider"]
