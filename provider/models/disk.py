"""DiskArgs: a disk image — a libvirt storage volume or a KubeVirt DataVolume.

Pure. Resize is grow-only: the plan refuses a smaller size.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import Adopt, Bool, DiskQuantity, Model, Name, Timeouts, field_error
from .sources import (
    BackingSource,
    BlankSource,
    CloneSource,
    DiskSource,
    ImageSource,
    RegistrySource,
)
from .syntax import Annotations, HostPath, LibvirtName, ObjectName
from .target import LibvirtTarget, Target


class DiskArgs(Model):
    """A disk image."""

    name: Name = Field(description="Volume / DataVolume name")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the disk lives")
    size: DiskQuantity | None = Field(None, description="Size (1Mi .. 1Pi); grow-only. Required for blank disks")
    format: Literal["qcow2", "raw"] = Field("qcow2", description="libvirt volume format")
    pool: LibvirtName = Field("default", description="libvirt storage pool (created as a dir pool if absent)")
    pool_path: HostPath | None = Field(
        None, description="Absolute, normalized directory of a pool this resource creates"
    )
    source: DiskSource = Field(default_factory=BlankSource, description="Where the content comes from")
    storage_class: ObjectName | None = Field(None, description="KubeVirt: storage class")
    access_modes: list[Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"]] | None = Field(
        None, description="KubeVirt: access modes (default: StorageProfile's)"
    )
    volume_mode: Literal["Filesystem", "Block"] | None = Field(None, description="KubeVirt: volume mode")
    retain_on_delete: Bool = Field(False, description="Keep the data when the resource is deleted")
    annotations: Annotations = Field(default_factory=dict, description="KubeVirt: DataVolume annotations")
    adopt: Adopt = False
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @model_validator(mode="after")
    def _consistent(self) -> DiskArgs:
        src = self.source
        if isinstance(src, BlankSource) and self.size is None:
            raise field_error(("size",), "a blank disk needs a size, e.g. size='10Gi'")
        libvirt = isinstance(self.target, LibvirtTarget)
        if libvirt and isinstance(src, RegistrySource):
            raise field_error(("source",), "registry imports need a kubevirt target")
        if libvirt and isinstance(src, CloneSource) and src.volume is None:
            raise field_error(("source", "volume"), "a libvirt clone needs the volume to copy (of=<Disk>)")
        if libvirt and self.annotations:
            raise field_error(("annotations",), "Kubernetes annotations need a kubevirt target")
        if not libvirt and isinstance(src, (ImageSource, BackingSource)):
            raise field_error(("source",), f"{src.kind} sources need a libvirt target")
        if not libvirt and isinstance(src, CloneSource) and not src.pvc:
            raise field_error(("source", "pvc"), "a KubeVirt clone needs the PVC to clone")
        if isinstance(src, BackingSource) and self.format != "qcow2":
            raise field_error(("format",), "a backing-file overlay must be qcow2")
        return self
