"""Migration: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

from typing import Any

import pulumi

from ..kinds import MIGRATION
from ..models import VirtualMachineArgs
from ._dynamic import DynamicAdapter, vm_reference
from .inputs import TypedMigration
from .vm import VirtualMachine


class MigrationProvider(DynamicAdapter):
    """Dynamic provider of Migration."""

    kind = MIGRATION


class Migration(TypedMigration, module="kubevirt", name="Migration"):
    """One live migration of a VirtualMachine, as a resource.

    `Migration("move", vm=vm, destination_uri="qemu+tcp://host-b/system")` moves the
    VM when created; changing the destination or `trigger` runs a new migration;
    an unchanged `up` does nothing. List the destination in the VM's `hosts` so
    the VM resource finds it there afterwards.
    """

    source_host: pulumi.Output[str]
    destination_host: pulumi.Output[str]
    elapsed_ms: pulumi.Output[int]
    downtime_ms: pulumi.Output[int]
    bytes_transferred: pulumi.Output[int]
    phase: pulumi.Output[str]
    planned_change: pulumi.Output[str]
    provider_class = MigrationProvider

    refers = ("vm", VirtualMachine)

    def _refer(self, other: Any) -> dict[str, Any]:
        spec_keys = [k for k in VirtualMachineArgs.model_fields if hasattr(other, k)]
        vm_spec = pulumi.Output.all(**{k: getattr(other, k) for k in spec_keys}).apply(
            lambda values: {k: v for k, v in values.items() if v is not None}
        )
        return {**vm_reference(other), "vm_spec": vm_spec}
