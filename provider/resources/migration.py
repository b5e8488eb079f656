"""Migration: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from ..kinds import MIGRATION
from ..models import VirtualMachineArgs
from ._dynamic import DynamicAdapter, KindResource, vm_reference
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

    def _construct(
        self,
        resource_name: str,
        *,
        vm: VirtualMachine | str,
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        if not isinstance(vm, VirtualMachine):
            # Not a VirtualMachine resource (a name, or a wrong value): check judges `vm` as given.
            KindResource.__init__(self, resource_name, name=name, opts=opts, vm=vm, **fields)
            return
        spec_keys = [k for k in VirtualMachineArgs.model_fields if hasattr(vm, k)]
        vm_spec = pulumi.Output.all(**{k: getattr(vm, k) for k in spec_keys}).apply(
            lambda values: {k: v for k, v in values.items() if v is not None}
        )
        KindResource.__init__(self, resource_name, name=name, opts=opts, **vm_reference(vm), vm_spec=vm_spec, **fields)

    if not TYPE_CHECKING:  # the type checker sees TypedMigration's typed signature
        __init__ = _construct
