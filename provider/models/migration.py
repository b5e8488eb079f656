"""MigrationArgs: moving a running VM to another host / node, declaratively. Pure.

A Migration resource *is* one migration: create runs it and records its
measurements; a changed destination or `trigger` replaces the resource, which
runs a new migration; an unchanged `up` does nothing. Deleting the record moves
nothing back (on KubeVirt, deleting it while it runs cancels the migration).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .common import Model, Name, Timeouts
from .target import LibvirtTarget, LibvirtUri, Target
from .vm import VirtualMachineArgs


class MigrationArgs(Model):
    """A live (or offline) migration of a VirtualMachine."""

    name: Name = Field(description="Name of this migration (the VirtualMachineInstanceMigration on KubeVirt)")
    vm: Name = Field(description="The VM to move (pass the VirtualMachine resource as `vm=`)")
    target: Target = Field(default_factory=LibvirtTarget, description="The VM's target (filled from `vm=`)")
    vm_spec: dict[str, Any] | None = Field(
        None, description="The VM's inputs (filled from `vm=`), for preview-time feasibility checks"
    )
    destination_uri: LibvirtUri | None = Field(
        None, description="libvirt: destination as the source libvirtd reaches it (qemu+tcp://host/system)"
    )
    destination_client_uri: LibvirtUri | None = Field(
        None, description="libvirt: destination as Pulumi reaches it (default: destination_uri)"
    )
    migrate_uri: str | None = Field(None, description="libvirt: where QEMU sends the stream, e.g. tcp://10.0.0.2")
    live: bool = Field(True, description="Live (guest keeps running) or offline")
    peer_to_peer: bool = Field(True, description="libvirt: the source libvirtd drives the migration")
    tunnelled: bool = Field(False, description="libvirt: tunnel the stream through libvirtd (needs peer_to_peer)")
    persistent: bool = Field(True, description="libvirt: define the VM persistently on the destination")
    undefine_source: bool = Field(True, description="libvirt: remove the definition from the source afterwards")
    auto_converge: bool = Field(False, description="libvirt: throttle vCPUs when memory does not converge")
    post_copy: bool = Field(False, description="libvirt: allow switching to post-copy")
    copy_storage: Literal["none", "all", "incremental"] = Field(
        "none", description="libvirt: copy local disks along (none = disks are on shared storage)"
    )
    max_downtime_ms: int | None = Field(None, ge=1, description="libvirt: tolerated downtime")
    bandwidth_mib_s: int | None = Field(None, ge=1, description="libvirt: bandwidth cap in MiB/s")
    target_node_selector: dict[str, str] = Field(
        default_factory=dict, description="KubeVirt: extra node selector for the target (addedNodeSelector)"
    )
    trigger: str | None = Field(None, description="Change this value to run the migration again")
    annotations: dict[str, str] = Field(default_factory=dict, description="KubeVirt: migration object annotations")
    allow_unsafe: bool = Field(False, description="Skip the feasibility checks (host-passthrough CPU, local disks)")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @field_validator("migrate_uri")
    @classmethod
    def _migrate_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("tcp://", "rdma://", "unix://")):
            raise ValueError(f"{value!r} is not a migration URI: use tcp://HOST[:PORT]")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MigrationArgs:
        if isinstance(self.target, LibvirtTarget):
            if self.destination_uri is None:
                raise ValueError(
                    "destination_uri: a libvirt migration needs a destination, e.g. qemu+tcp://host/system"
                )
            if self.destination_uri == self.target.uri and self.destination_client_uri in (None, self.target.uri):
                raise ValueError("destination_uri: the destination is the VM's own host")
            if self.tunnelled and not self.peer_to_peer:
                raise ValueError("tunnelled: a tunnelled migration must be peer_to_peer")
            if self.target_node_selector or self.annotations:
                raise ValueError("target_node_selector/annotations: these are for KubeVirt targets")
        elif self.destination_uri is not None or self.copy_storage != "none":
            raise ValueError("destination_uri/copy_storage: KubeVirt picks the target node (use target_node_selector)")
        if not self.allow_unsafe and self.vm_spec is not None:
            spec = {k: v for k, v in self.vm_spec.items() if k in VirtualMachineArgs.model_fields}
            problems = feasibility(self, VirtualMachineArgs.model_validate(spec))
            if problems:
                raise ValueError("; ".join(problems) + " (set allow_unsafe=True to try anyway)")
        return self


def feasibility(args: MigrationArgs, vm: VirtualMachineArgs) -> list[str]:
    """Why a live migration of `vm` cannot work, judged from the declarations alone."""
    problems: list[str] = []
    if not args.live:
        return problems
    if vm.cpu.model == "host-passthrough":
        problems.append("the VM uses cpu model host-passthrough, which cannot live-migrate between different hosts")
    if isinstance(args.target, LibvirtTarget) and args.copy_storage == "none":
        local = [d.name for d in vm.disks if d.volume is not None or (d.path is not None and not d.readonly)]
        if vm.cloud_init is not None:
            local.append("cloud-init seed")
        if local:
            problems.append(
                f"disks {', '.join(local)} are host-local volumes: put them on shared storage or set copy_storage='all'"
            )
    if not isinstance(args.target, LibvirtTarget):
        rwo = [
            d.name
            for d in vm.disks
            if d.template is not None and d.template.access_modes and "ReadWriteMany" not in d.template.access_modes
        ]
        if rwo:
            problems.append(f"disks {', '.join(rwo)} are not ReadWriteMany: KubeVirt cannot live-migrate them")
    return problems
