"""InstancetypeArgs and PreferenceArgs: KubeVirt instancetypes and preferences as resources. Pure.

One model per concept, with `cluster` choosing the scope: `cluster=False` is the
namespaced `VirtualMachineInstancetype` / `VirtualMachinePreference` (in the
target's namespace), `cluster=True` the cluster-scoped
`VirtualMachineClusterInstancetype` / `VirtualMachineClusterPreference`. The
fields are the common ones users set (not every field of the CRDs).

A VM refers to one through `kubevirt.instancetype` / `kubevirt.preference`; the
resource's `ref` output ({name, kind}) is exactly that reference.

Changing the object is live for the object itself, but KubeVirt stores a
ControllerRevision of it per VM when a VM first uses it, and the VM keeps
running (and restarting) on that revision: VMs that already reference the
instancetype do not see the change (see kubevirt/rules.py). libvirt has no such
concept: a libvirt target is refused at check.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from .common import (
    INT32_MAX,
    VCPUS_MAX,
    Adopt,
    Bool,
    Int,
    MemoryQuantity,
    Model,
    Name,
    Timeouts,
    field_error,
    quantity_bytes,
)
from .syntax import Annotations, Labels, ObjectName, Word
from .target import KubevirtTarget, Target

INSTANCETYPE_KINDS = {False: "VirtualMachineInstancetype", True: "VirtualMachineClusterInstancetype"}
PREFERENCE_KINDS = {False: "VirtualMachinePreference", True: "VirtualMachineClusterPreference"}


class InstancetypeCpu(Model):
    """The vCPUs an instancetype gives its VMs."""

    guest: Int = Field(ge=1, le=VCPUS_MAX, description="vCPUs of the guest")
    model: Word | None = Field(None, description="CPU model, e.g. host-passthrough (default: the cluster's)")
    dedicated_cpu_placement: Bool = Field(False, description="Pin each vCPU to a dedicated host CPU")
    isolate_emulator_thread: Bool = Field(False, description="A dedicated host CPU for QEMU's emulator thread")
    max_sockets: Int | None = Field(None, ge=1, le=VCPUS_MAX, description="Hot-plug headroom in sockets")


class InstancetypeMemory(Model):
    """The memory an instancetype gives its VMs."""

    guest: MemoryQuantity = Field(description="Guest memory, e.g. 2Gi")
    max_guest: MemoryQuantity | None = Field(None, description="Hot-plug ceiling of guest memory")
    hugepages_page_size: Literal["2Mi", "1Gi"] | None = Field(None, description="Back the guest with hugepages")
    overcommit_percent: Int | None = Field(
        None, ge=0, le=100, description="Request less memory than the guest sees (percent below guest)"
    )

    @model_validator(mode="after")
    def _ceiling(self) -> InstancetypeMemory:
        if self.max_guest is not None and quantity_bytes(self.max_guest) < quantity_bytes(self.guest):
            raise field_error(("max_guest",), f"max_guest ({self.max_guest}) is smaller than guest ({self.guest})")
        if self.hugepages_page_size is not None and self.overcommit_percent:
            raise field_error(("overcommit_percent",), "hugepages-backed memory cannot be overcommitted")
        return self


class _SizingObject(Model):
    """What instancetypes and preferences share: a name, a KubeVirt target, a scope, object metadata."""

    KINDS: ClassVar[dict[bool, str]]
    CONCEPT: ClassVar[str]

    name: Name = Field(description="Object name")
    target: Target = Field(default_factory=KubevirtTarget, description="The KubeVirt cluster (libvirt is refused)")
    cluster: Bool = Field(
        False, description="The cluster-wide kind (VirtualMachineCluster...) instead of the namespaced one"
    )
    labels: Labels = Field(default_factory=dict, description="Labels of the object")
    annotations: Annotations = Field(default_factory=dict, description="Annotations of the object")
    adopt: Adopt = False
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @property
    def kind(self) -> str:
        """The KubeVirt kind this resource is: namespaced or cluster-wide."""
        return self.KINDS[self.cluster]

    @model_validator(mode="after")
    def _kubevirt_only(self) -> Self:
        if not isinstance(self.target, KubevirtTarget):
            raise field_error(
                ("target",),
                f"{self.CONCEPT} are a KubeVirt concept and libvirt has none: use a kubevirt target, or give a "
                "libvirt VM its memory and cpu directly",
            )
        return self


class InstancetypeArgs(_SizingObject):
    """A KubeVirt instancetype (namespaced, or cluster-wide with cluster=True): the size of VMs."""

    KINDS: ClassVar[dict[bool, str]] = INSTANCETYPE_KINDS
    CONCEPT: ClassVar[str] = "instancetypes"

    cpu: InstancetypeCpu = Field(description="vCPUs")
    memory: InstancetypeMemory = Field(description="Memory")
    node_selector: Labels = Field(default_factory=dict, description="Node labels the VMs must run on")
    io_threads_policy: Literal["shared", "auto", "supplementalPool"] | None = Field(
        None, description="How disks get IO threads"
    )
    vm_annotations: Annotations = Field(
        default_factory=dict, description="Annotations the instancetype puts on its VMs' instances"
    )


class PreferenceArgs(_SizingObject):
    """A KubeVirt preference (namespaced, or cluster-wide with cluster=True): device defaults of VMs."""

    KINDS: ClassVar[dict[bool, str]] = PREFERENCE_KINDS
    CONCEPT: ClassVar[str] = "preferences"

    cpu_topology: Literal["sockets", "cores", "threads", "spread", "any"] | None = Field(
        None, description="Lay the instancetype's vCPUs out as sockets, cores, threads, spread or any"
    )
    disk_bus: Literal["virtio", "sata", "scsi"] | None = Field(None, description="Default disk bus")
    cdrom_bus: Literal["sata", "scsi"] | None = Field(None, description="Default CD-ROM bus")
    interface_model: Literal["virtio", "e1000", "e1000e", "rtl8139"] | None = Field(
        None, description="Default NIC model"
    )
    rng: Bool | None = Field(None, description="Give VMs a virtio-rng device")
    autoattach_graphics: Bool | None = Field(None, description="Attach a graphics device")
    autoattach_serial_console: Bool | None = Field(None, description="Attach a serial console")
    firmware: Literal["bios", "efi", "efi-secure-boot"] | None = Field(
        None, description="Firmware: BIOS, EFI, or EFI with secure boot (and SMM)"
    )
    machine_type: Word | None = Field(None, description="Machine type, e.g. q35")
    termination_grace_period_seconds: Int | None = Field(
        None, ge=0, le=INT32_MAX, description="Default shutdown grace period"
    )
    storage_class: ObjectName | None = Field(None, description="Default storage class of the VMs' DataVolume templates")
    min_cpu: Int | None = Field(None, ge=1, le=VCPUS_MAX, description="Requirement: at least this many vCPUs")
    min_memory: MemoryQuantity | None = Field(None, description="Requirement: at least this much memory")
