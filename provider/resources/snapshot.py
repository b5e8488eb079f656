"""Snapshot and SnapshotRestore: the Pulumi resources and their dynamic providers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from ..kinds import SNAPSHOT, SNAPSHOT_RESTORE
from ._dynamic import DynamicAdapter, KindResource, vm_reference
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

    vm: pulumi.Output[str]
    target: pulumi.Output[dict[str, Any]]
    ready: pulumi.Output[bool]
    phase: pulumi.Output[str | None]
    creation_time: pulumi.Output[str | None]
    vm_state: pulumi.Output[str | None]
    planned_change: pulumi.Output[str]
    provider_class = SnapshotProvider

    def _construct(
        self,
        resource_name: str,
        *,
        vm: VirtualMachine | str,
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        refs = vm_reference(vm) if isinstance(vm, VirtualMachine) else {"vm": vm}
        KindResource.__init__(self, resource_name, name=name, opts=opts, **{**refs, **fields})

    if not TYPE_CHECKING:  # the type checker sees TypedSnapshot's typed signature
        __init__ = _construct


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

    def _construct(
        self,
        resource_name: str,
        *,
        snapshot: Snapshot | str,
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        refs: dict[str, Any] = {"snapshot": snapshot}
        if isinstance(snapshot, Snapshot):
            # its name, and the VM and target it was taken of
            refs = {"vm": snapshot.vm, "target": snapshot.target, "snapshot": getattr(snapshot, "name")}  # noqa: B009
        KindResource.__init__(self, resource_name, name=name, opts=opts, **{**refs, **fields})

    if not TYPE_CHECKING:  # the type checker sees TypedSnapshotRestore's typed signature
        __init__ = _construct
