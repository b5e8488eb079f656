"""Pulumi resources (dynamic providers): thin adapters over provider.core."""

from .bridge import Bridge, BridgeProvider
from .disk import Disk, DiskProvider
from .migration import Migration, MigrationProvider
from .vm import VirtualMachine, VirtualMachineProvider

__all__ = [
    "Bridge",
    "BridgeProvider",
    "Disk",
    "DiskProvider",
    "Migration",
    "MigrationProvider",
    "VirtualMachine",
    "VirtualMachineProvider",
]
