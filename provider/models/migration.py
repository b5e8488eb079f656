"""MigrationArgs: moving a running VM to another host / node, declaratively. Pure.

A Migration resource *is* one migration: create runs it and records its
measurements; a changed destination or `trigger` replaces the resource, which
runs a new migration; an unchanged `up` does nothing. Deleting the record moves
nothing back (on KubeVirt, deleting it while it runs cancels the migration).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from .common import INT32_MAX, Bool, Int, Model, Name, Timeouts, field_error
from .syntax import Annotations, Labels, SingleLine, check_host_path, check_single_line, echo
from .target import LibvirtTarget, LibvirtUri, Target, same_libvirt_host
from .vm import VirtualMachineArgs


class MigrationArgs(Model):
    """A live (or offline) migration of a VirtualMachine."""

    name: Name = Field(description="Name of this migration (the VirtualMachineInstanceMigration on KubeVirt)")
    vm: Name = Field(description="The VM to move, by name (the dynamic Migration also takes the VirtualMachine)")
    target: Target = Field(
        default_factory=LibvirtTarget,
        description="The VM's target (the dynamic Migration takes it from a VirtualMachine passed as `vm`)",
    )
    vm_spec: dict[str, Any] | None = Field(
        None,
        description="The VM's inputs, for preview-time feasibility checks (the dynamic Migration takes them from a "
        "VirtualMachine passed as `vm`)",
    )
    destination_uri: LibvirtUri | None = Field(
        None, description="libvirt: destination as the source libvirtd reaches it (qemu+tcp://host/system)"
    )
    destination_client_uri: LibvirtUri | None = Field(
        None, description="libvirt: destination as Pulumi reaches it (default: destination_uri)"
    )
    migrate_uri: str | None = Field(None, description="libvirt: where QEMU sends the stream, e.g. tcp://10.0.0.2")
    live: Bool = Field(True, description="Live (guest keeps running) or offline")
    peer_to_peer: Bool = Field(True, description="libvirt: the source libvirtd drives the migration")
    tunnelled: Bool = Field(False, description="libvirt: tunnel the stream through libvirtd (needs peer_to_peer)")
    persistent: Bool = Field(True, description="libvirt: define the VM persistently on the destination")
    undefine_source: Bool = Field(True, description="libvirt: remove the definition from the source afterwards")
    auto_converge: Bool = Field(False, description="libvirt: throttle vCPUs when memory does not converge")
    post_copy: Bool = Field(False, description="libvirt: allow switching to post-copy")
    copy_storage: Literal["none", "all", "incremental"] = Field(
        "none", description="libvirt: copy local disks along (none = disks are on shared storage)"
    )
    max_downtime_ms: Int | None = Field(None, ge=1, le=INT32_MAX, description="libvirt: tolerated downtime")
    bandwidth_mib_s: Int | None = Field(None, ge=1, le=INT32_MAX, description="libvirt: bandwidth cap in MiB/s")
    target_node_selector: Labels = Field(
        default_factory=dict, description="KubeVirt: extra node selector for the target (addedNodeSelector)"
    )
    trigger: SingleLine | None = Field(None, description="Change this value to run the migration again")
    annotations: Annotations = Field(default_factory=dict, description="KubeVirt: migration object annotations")
    allow_unsafe: Bool = Field(False, description="Skip the feasibility checks (host-passthrough CPU, local disks)")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @field_validator("migrate_uri")
    @classmethod
    def _migrate_uri(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_single_line(value)
        hint = f"{echo(value)} is not a migration URI: use tcp://HOST[:PORT] (or rdma://HOST[:PORT], unix:///PATH)"
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as err:
            raise ValueError(f"{hint} ({err})") from err
        if parts.scheme in ("tcp", "rdma") and parts.hostname and port != 0 and parts.path in ("", "/"):
            return value
        if parts.scheme == "unix" and not parts.netloc:
            check_host_path(parts.path)
            return value
        raise ValueError(hint)

    @model_validator(mode="after")
    def _consistent(self) -> MigrationArgs:
        if isinstance(self.target, LibvirtTarget):
            self._libvirt(self.target)
        elif self.destination_uri is not None or self.destination_client_uri is not None:
            raise field_error(("destination_uri",), "KubeVirt picks the target node (use target_node_selector)")
        elif self.copy_storage != "none":
            raise field_error(("copy_storage",), "KubeVirt picks the target node and storage (use ReadWriteMany)")
        if not self.allow_unsafe and self.vm_spec is not None:
            spec = {k: v for k, v in self.vm_spec.items() if k in VirtualMachineArgs.model_fields}
            try:
                vm = VirtualMachineArgs.model_validate(spec)
            except ValidationError:
                vm = None  # the VirtualMachine resource reports its own inputs; nothing to judge here
            problems = feasibility(self, vm) if vm is not None else []
            if problems:
                raise field_error(("vm",), "; ".join(problems) + " (set allow_unsafe=True to try anyway)")
        return self

    def _libvirt(self, target: LibvirtTarget) -> None:
        if self.destination_uri is None:
            raise field_error(
                ("destination_uri",), "a libvirt migration needs a destination, e.g. qemu+tcp://host/system"
            )
        client = self.destination_client_uri
        if same_libvirt_host(self.destination_uri, target.uri) and (
            client is None or same_libvirt_host(client, target.uri)
        ):
            raise field_error(
                ("destination_uri",),
                f"{echo(self.destination_uri)} reaches the VM's own host ({echo(target.uri)}): name another hypervisor",
            )
        # A client URI equal to the target's is fine: it is how a VM that a previous Migration moved
        # away comes home (the target names the VM's home; where it runs now is not known offline).
        if self.tunnelled and not self.peer_to_peer:
            raise field_error(("tunnelled",), "a tunnelled migration must be peer_to_peer")
        for f in ("target_node_selector", "annotations"):
            if getattr(self, f):
                raise field_error((f,), "this is for KubeVirt targets")


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
        if vm.usb_host_devices:
            # KubeVirt's LiveMigratable condition: HostDeviceNotLiveMigratable (libvirt re-attaches USB ones)
            problems.append("the VM has host devices (usb_host_devices), which KubeVirt never live-migrates")
    return problems
