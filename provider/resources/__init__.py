"""Pulumi resources (dynamic providers): thin adapters over provider.core."""

from .bridge import Bridge, BridgeProvider
from .disk import Disk, DiskProvider
from .instancetype import Instancetype, InstancetypeProvider, Preference, PreferenceProvider
from .migration import Migration, MigrationProvider
from .snapshot import Snapshot, SnapshotProvider, SnapshotRestore, SnapshotRestoreProvider
from .vm import VirtualMachine, VirtualMachineProvider

__all__ = [
    "Bridge",
    "BridgeProvider",
    "Disk",
    "DiskProvider",
    "Instancetype",
    "InstancetypeProvider",
    "Migration",
    "MigrationProvider",
    "Preference",
    "PreferenceProvider",
    "Snapshot",
    "SnapshotProvider",
    "SnapshotRestore",
    "SnapshotRestoreProvider",
    "VirtualMachine",
    "VirtualMachineProvider",
]
