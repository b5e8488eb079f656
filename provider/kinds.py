"""The resource kinds: model, classification rules and reconcilers per target.

Pure at import: backend modules (libvirt, kubernetes clients) are imported only
when a reconciler is first needed, in the provider process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from .core import Backends, Failure, Reconciler, ResourceKind
from .errors import InvalidSpec
from .kubevirt import rules as kube_rules
from .libvirt import rules as libvirt_rules
from .models import BridgeArgs, DiskArgs, MigrationArgs, VirtualMachineArgs
from .models.common import quantity_bytes
from .models.instancetype import InstancetypeArgs, PreferenceArgs
from .models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from .models.vm import vm_state_today
from .outputs import (
    BRIDGE_OUTPUTS,
    DISK_OUTPUTS,
    INSTANCETYPE_OUTPUTS,
    MIGRATION_OUTPUTS,
    RESTORE_OUTPUTS,
    SNAPSHOT_OUTPUTS,
    VM_OUTPUTS,
)

# The reconciler of each (kind, target): (module under provider/, class), imported
# only when first needed, so importing this module loads no client library.
_RECONCILERS: dict[tuple[str, str], tuple[str, str]] = {
    ("VirtualMachine", "libvirt"): ("libvirt.domains", "DomainReconciler"),
    ("VirtualMachine", "kubevirt"): ("kubevirt.vms", "VmReconciler"),
    ("Disk", "libvirt"): ("libvirt.volumes", "VolumeReconciler"),
    ("Disk", "kubevirt"): ("kubevirt.disks", "DataVolumeReconciler"),
    ("Bridge", "libvirt"): ("libvirt.networks", "NetworkReconciler"),
    ("Bridge", "kubevirt"): ("kubevirt.bridges", "BridgeReconciler"),
    ("Migration", "libvirt"): ("libvirt.migrations", "MigrationReconciler"),
    ("Migration", "kubevirt"): ("kubevirt.migrations", "VmimReconciler"),
    ("Instancetype", "kubevirt"): ("kubevirt.instancetypes", "InstancetypeReconciler"),
    ("Preference", "kubevirt"): ("kubevirt.instancetypes", "PreferenceReconciler"),
    ("Snapshot", "kubevirt"): ("kubevirt.snapshots", "VmSnapshotReconciler"),
    ("Snapshot", "libvirt"): ("libvirt.snapshots", "DomainSnapshotReconciler"),
    ("SnapshotRestore", "kubevirt"): ("kubevirt.snapshots", "VmRestoreReconciler"),
    ("SnapshotRestore", "libvirt"): ("libvirt.snapshots", "DomainRevertReconciler"),
}

# What a backend's reconcilers are built on: (Backends key, (module, class)).
_BACKEND_CLIENTS: dict[str, tuple[str, tuple[str, str]]] = {
    "libvirt": ("libvirt.connections", ("libvirt.connection", "Connections")),
    "kubevirt": ("kubevirt.clusters", ("kubevirt.client", "Clusters")),
}


def _load(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f".{module}", __package__), name)


def _reconciler(kind: str) -> Callable[[Backends, str], Reconciler[Any]]:
    """The factory of `kind`'s reconciler for a target (backend modules imported on first use)."""

    def make(backends: Backends, target: str) -> Reconciler[Any]:
        found = _RECONCILERS.get((kind, target))
        if found is None:
            raise InvalidSpec(f"{kind} on a {target} target is not implemented yet", field="target")
        key, client = _BACKEND_CLIENTS[target]
        return cast("Reconciler[Any]", _load(*found)(backends.get(key, _load(*client))))

    return make


def _disk_transition(old: DiskArgs, new: DiskArgs) -> list[Failure]:
    if old.size and new.size and quantity_bytes(new.size) < quantity_bytes(old.size):
        return [Failure("size", f"disks only grow: {new.size} is smaller than the current {old.size}")]
    if old.size and new.size is None:
        return [Failure("size", f"size cannot be removed once set (currently {old.size}); disks only grow")]
    return []


VIRTUAL_MACHINE: ResourceKind[VirtualMachineArgs] = ResourceKind(
    type_name="kubevirt:index:VirtualMachine",
    model=VirtualMachineArgs,
    rules={"libvirt": libvirt_rules.VM_RULES, "kubevirt": kube_rules.VM_RULES},
    default={"libvirt": "restart", "kubevirt": "restart"},
    output_keys=VM_OUTPUTS,
    upgrade=vm_state_today,
    reconciler=_reconciler("VirtualMachine"),
)

DISK: ResourceKind[DiskArgs] = ResourceKind(
    type_name="kubevirt:index:Disk",
    model=DiskArgs,
    rules={"libvirt": libvirt_rules.VOLUME_RULES, "kubevirt": kube_rules.DATA_VOLUME_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=DISK_OUTPUTS,
    transition=_disk_transition,
    reconciler=_reconciler("Disk"),
)

BRIDGE: ResourceKind[BridgeArgs] = ResourceKind(
    type_name="kubevirt:index:Bridge",
    model=BridgeArgs,
    rules={"libvirt": libvirt_rules.NETWORK_RULES, "kubevirt": kube_rules.BRIDGE_RULES},
    default={"libvirt": "restart", "kubevirt": "restart"},
    output_keys=BRIDGE_OUTPUTS,
    reconciler=_reconciler("Bridge"),
)


MIGRATION: ResourceKind[MigrationArgs] = ResourceKind(
    type_name="kubevirt:index:Migration",
    model=MigrationArgs,
    rules={"libvirt": libvirt_rules.MIGRATION_RULES, "kubevirt": libvirt_rules.MIGRATION_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=MIGRATION_OUTPUTS,
    reconciler=_reconciler("Migration"),
)


# Instancetypes and preferences exist only on KubeVirt: their models refuse a libvirt target at
# check (the libvirt rules are only there so that a plan never meets a missing key).
INSTANCETYPE: ResourceKind[InstancetypeArgs] = ResourceKind(
    type_name="kubevirt:index:Instancetype",
    model=InstancetypeArgs,
    rules={"libvirt": kube_rules.INSTANCETYPE_RULES, "kubevirt": kube_rules.INSTANCETYPE_RULES},
    default={"libvirt": "live", "kubevirt": "live"},
    output_keys=INSTANCETYPE_OUTPUTS,
    reconciler=_reconciler("Instancetype"),
)

PREFERENCE: ResourceKind[PreferenceArgs] = ResourceKind(
    type_name="kubevirt:index:Preference",
    model=PreferenceArgs,
    rules={"libvirt": kube_rules.INSTANCETYPE_RULES, "kubevirt": kube_rules.INSTANCETYPE_RULES},
    default={"libvirt": "live", "kubevirt": "live"},
    output_keys=INSTANCETYPE_OUTPUTS,
    reconciler=_reconciler("Preference"),
)

SNAPSHOT: ResourceKind[SnapshotArgs] = ResourceKind(
    type_name="kubevirt:index:Snapshot",
    model=SnapshotArgs,
    rules={"libvirt": kube_rules.SNAPSHOT_RULES, "kubevirt": kube_rules.SNAPSHOT_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=SNAPSHOT_OUTPUTS,
    reconciler=_reconciler("Snapshot"),
)

SNAPSHOT_RESTORE: ResourceKind[SnapshotRestoreArgs] = ResourceKind(
    type_name="kubevirt:index:SnapshotRestore",
    model=SnapshotRestoreArgs,
    rules={"libvirt": kube_rules.SNAPSHOT_RULES, "kubevirt": kube_rules.SNAPSHOT_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=RESTORE_OUTPUTS,
    reconciler=_reconciler("SnapshotRestore"),
)
