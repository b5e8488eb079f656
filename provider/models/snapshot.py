"""SnapshotArgs and SnapshotRestoreArgs: point-in-time copies of a VM, and going back to one. Pure.

A Snapshot resource *is* one snapshot: create takes it (KubeVirt: a
VirtualMachineSnapshot, waited for until readyToUse; libvirt: a domain
snapshot), delete removes it; any change of its inputs takes a new one
(replace). A SnapshotRestore resource *is* one restore: create restores the
VM from the snapshot (KubeVirt: a VirtualMachineRestore, waited for until
complete; libvirt: revert to the domain snapshot); restoring another snapshot,
or the same one again (`trigger`), replaces the restore resource. Deleting a
restore record changes nothing on the VM.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import Bool, Duration, Model, Name, Timeouts, field_error
from .syntax import Annotations, Labels, MultilineText, SingleLine
from .target import LibvirtTarget, Target


class SnapshotArgs(Model):
    """A snapshot of a VirtualMachine (KubeVirt VirtualMachineSnapshot, libvirt domain snapshot)."""

    name: Name = Field(description="Snapshot name (the VirtualMachineSnapshot / the libvirt snapshot)")
    vm: Name = Field(description="The VM to snapshot, by name (the dynamic Snapshot also takes the VirtualMachine)")
    target: Target = Field(
        default_factory=LibvirtTarget,
        description="The VM's target (the dynamic Snapshot takes it from a VirtualMachine passed as `vm`)",
    )
    disk_only: Bool | None = Field(
        None,
        description="libvirt: True = external disk-only snapshot (overlay files), False/unset = internal snapshot "
        "with the running guest's memory (every disk qcow2). KubeVirt snapshots are always of the disks",
    )
    description: MultilineText | None = Field(None, description="Free text")
    failure_deadline: Duration | None = Field(
        None, description="KubeVirt: how long the snapshot controller may try before it marks the snapshot failed"
    )
    labels: Labels = Field(default_factory=dict, description="KubeVirt: labels of the VirtualMachineSnapshot")
    annotations: Annotations = Field(default_factory=dict, description="KubeVirt: annotations of the object")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @model_validator(mode="after")
    def _consistent(self) -> SnapshotArgs:
        if isinstance(self.target, LibvirtTarget):
            for f in ("failure_deadline", "labels", "annotations"):
                if getattr(self, f):
                    raise field_error((f,), "this is for KubeVirt targets")
        elif self.disk_only is False:
            raise field_error(
                ("disk_only",), "a KubeVirt VirtualMachineSnapshot holds the disks only, never the guest's memory"
            )
        return self


class SnapshotRestoreArgs(Model):
    """Restoring a VirtualMachine from a Snapshot (KubeVirt VirtualMachineRestore, libvirt revert)."""

    name: Name = Field(description="Name of this restore (the VirtualMachineRestore on KubeVirt)")
    vm: Name | None = Field(
        None,
        description="The VM to restore, by name (required; the dynamic SnapshotRestore takes it from a Snapshot "
        "passed as `snapshot`)",
    )
    snapshot: Name = Field(
        description="The snapshot to restore, by name (the dynamic SnapshotRestore also takes the Snapshot)"
    )
    target: Target = Field(
        default_factory=LibvirtTarget,
        description="The VM's target (the dynamic SnapshotRestore takes it from a Snapshot passed as `snapshot`)",
    )
    trigger: SingleLine | None = Field(None, description="Change this value to restore the same snapshot again")
    target_readiness_policy: Literal["StopTarget", "WaitGracePeriod", "FailImmediate", "WaitEventually"] | None = Field(
        None, description="KubeVirt: what to do when the VM runs (default: KubeVirt's, WaitGracePeriod)"
    )
    run_after: Literal["snapshot", "running", "paused"] = Field(
        "snapshot",
        description="libvirt: the guest's state after the revert: as in the snapshot, running, or paused",
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @property
    def vm_name(self) -> str:
        """The VM restored (the validator makes sure there is one)."""
        if self.vm is None:
            raise ValueError("a SnapshotRestore without vm passed validation")
        return self.vm

    @model_validator(mode="after")
    def _consistent(self) -> SnapshotRestoreArgs:
        if self.vm is None:
            raise field_error(("vm",), "name the VM to restore, or pass the Snapshot resource as `snapshot=`")
        if isinstance(self.target, LibvirtTarget):
            if self.target_readiness_policy is not None:
                raise field_error(("target_readiness_policy",), "this is for KubeVirt targets")
        elif self.run_after != "snapshot":
            raise field_error(("run_after",), "on KubeVirt the VM's run strategy decides whether it runs")
        return self
