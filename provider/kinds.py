"""The resource kinds: model, classification rules and reconcilers per target.

Pure at import: backend modules (libvirt, kubernetes clients) are imported only
when a reconciler is first needed, in the provider process.
"""

from __future__ import annotations

from typing import Any

from .core import Backends, Failure, Reconciler, ResourceKind
from .errors import InvalidSpec
from .kubevirt import rules as kube_rules
from .libvirt import rules as libvirt_rules
from .models import BridgeArgs, DiskArgs, MigrationArgs, VirtualMachineArgs
from .models.common import quantity_bytes
from .outputs import BRIDGE_OUTPUTS, DISK_OUTPUTS, MIGRATION_OUTPUTS, VM_OUTPUTS


def _libvirt_connections(backends: Backends) -> Any:
    from .libvirt.connection import Connections

    return backends.get("libvirt.connections", Connections)


def _clusters(backends: Backends) -> Any:
    from .kubevirt.client import Clusters

    return backends.get("kubevirt.clusters", Clusters)


def _unsupported(kind: str, target: str) -> InvalidSpec:
    return InvalidSpec(f"{kind} on a {target} target is not implemented yet", field="target")


def _vm_reconciler(backends: Backends, target: str) -> Reconciler[VirtualMachineArgs]:
    if target == "libvirt":
        from .libvirt.domains import DomainReconciler

        return DomainReconciler(_libvirt_connections(backends))
    if target == "kubevirt":
        from .kubevirt.vms import VmReconciler

        return VmReconciler(_clusters(backends))
    raise _unsupported("VirtualMachine", target)


def _disk_reconciler(backends: Backends, target: str) -> Reconciler[DiskArgs]:
    if target == "libvirt":
        from .libvirt.volumes import VolumeReconciler

        return VolumeReconciler(_libvirt_connections(backends))
    if target == "kubevirt":
        from .kubevirt.disks import DataVolumeReconciler

        return DataVolumeReconciler(_clusters(backends))
    raise _unsupported("Disk", target)


def _bridge_reconciler(backends: Backends, target: str) -> Reconciler[BridgeArgs]:
    if target == "libvirt":
        from .libvirt.networks import NetworkReconciler

        return NetworkReconciler(_libvirt_connections(backends))
    if target == "kubevirt":
        from .kubevirt.bridges import BridgeReconciler

        return BridgeReconciler(_clusters(backends))
    raise _unsupported("Bridge", target)


def _migration_reconciler(backends: Backends, target: str) -> Reconciler[MigrationArgs]:
    if target == "libvirt":
        from .libvirt.migrations import MigrationReconciler

        return MigrationReconciler(_libvirt_connections(backends))
    if target == "kubevirt":
        from .kubevirt.migrations import VmimReconciler

        return VmimReconciler(_clusters(backends))
    raise _unsupported("Migration", target)


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
    secret_paths=(("cloud_init", "user_data"), ("cloud_init", "network_data")),
    reconciler=_vm_reconciler,
)

DISK: ResourceKind[DiskArgs] = ResourceKind(
    type_name="kubevirt:index:Disk",
    model=DiskArgs,
    rules={"libvirt": libvirt_rules.VOLUME_RULES, "kubevirt": kube_rules.DATA_VOLUME_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=DISK_OUTPUTS,
    transition=_disk_transition,
    reconciler=_disk_reconciler,
)

BRIDGE: ResourceKind[BridgeArgs] = ResourceKind(
    type_name="kubevirt:index:Bridge",
    model=BridgeArgs,
    rules={"libvirt": libvirt_rules.NETWORK_RULES, "kubevirt": kube_rules.BRIDGE_RULES},
    default={"libvirt": "restart", "kubevirt": "restart"},
    output_keys=BRIDGE_OUTPUTS,
    reconciler=_bridge_reconciler,
)


MIGRATION: ResourceKind[MigrationArgs] = ResourceKind(
    type_name="kubevirt:index:Migration",
    model=MigrationArgs,
    rules={"libvirt": libvirt_rules.MIGRATION_RULES, "kubevirt": libvirt_rules.MIGRATION_RULES},
    default={"libvirt": "replace", "kubevirt": "replace"},
    output_keys=MIGRATION_OUTPUTS,
    reconciler=_migration_reconciler,
)
