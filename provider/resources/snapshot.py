"""Snapshot and SnapshotRestore: the Pulumi resources and their dynamic providers."""

from __future__ import annotations

from typing import Any

import pulumi

from ..kinds import SNAPSHOT, SNAPSHOT_RESTORE
from ._dynamic import DynamicAdapter, vm_reference
from .inputs import TypedSnapshot, TypedSnapshotRestore
from .vm import VirtualMachine


class SnapshotProvider(DynamicAdapter):
    """Dynamic provider of Snapshot."""

    kind = SNAPSHOT


class SnapshotRestoreProvider(DynamicAdapter):
    """Dynamic provider of SnapshotRestore."""

    kind = SNAPSHOT_RESTORE


class Snapshot(TypedSnapshot, module="kubevirt", name="Snapshot"):
    """A snapshot of a VirtualMachine: `Snapshot("before", vm=vm)`.

    KubeVirt: a VirtualMachineSnapshot, ready when created. libvirt: a domain snapshot
    (internal with memory, or `disk_only=True` external). Any change takes a new one (replace);
    deleting the resource deletes the snapshot.
    """

    ready: pulumi.Output[bool]
    phase: pulumi.Output[str | None]
    creation_time: pulumi.Output[str | None]
    vm_state: pulumi.Output[str | None]
    planned_change: pulumi.Output[str]
    provider_class = SnapshotProvider

    refers = ("vm", VirtualMachine)

    def _refer(self, other: Any) -> dict[str, Any]:
        return vm_reference(other)


class SnapshotRestore(TypedSnapshotRestore, module="kubevirt", name="SnapshotRestore"):
    """Restoring a VM from a Snapshot: `SnapshotRestore("rollback", snapshot=snap)`.

    KubeVirt: a VirtualMachineRestore, waited for until complete (KubeVirt wants the VM stopped, or
    `target_readiness_policy="StopTarget"`). libvirt: a revert to the domain snapshot. Restoring
    another snapshot, or the same one again (`trigger`), replaces this resource; deleting it changes
    nothing on the VM.
    """

    complete: pulumi.Output[bool]
    restore_time: pulumi.Output[str | None]
    vm_state: pulumi.Output[str | None]
    planned_change: pulumi.Output[str]
    provider_class = SnapshotRestoreProvider

    refers = ("snapshot", Snapshot)

    def _refer(self, other: Any) -> dict[str, Any]:
        return {"vm": other.vm, "target": other.target}  # the VM and target it was taken of
