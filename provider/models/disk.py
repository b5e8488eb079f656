"""DiskArgs: a disk image — a libvirt storage volume or a KubeVirt DataVolume.

Pure. Resize is grow-only: the plan refuses a smaller size.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .common import Model, Name, Quantity
from .target import LibvirtTarget, Target
from .vm import Timeouts, VolumeRef


class BlankSource(Model):
    """An empty disk of `size`."""

    kind: Literal["blank"] = "blank"


class ImageSource(Model):
    """Copy of a local image file on the hypervisor (qcow2 or raw)."""

    kind: Literal["image"] = "image"
    path: str = Field(description="Absolute path of the image on the hypervisor host")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must be an absolute path on the hypervisor")
        return value


class UrlSource(Model):
    """Download from an HTTP(S) URL (libvirt: streamed into the volume; KubeVirt: CDI import)."""

    kind: Literal["url"] = "url"
    url: str = Field(description="http:// or https:// URL of a qcow2/raw image")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class CloneSource(Model):
    """A full copy of another disk."""

    kind: Literal["clone"] = "clone"
    volume: VolumeRef | None = Field(None, description="libvirt: the volume to copy (pass a Disk as `of=`)")
    pvc: str | None = Field(None, description="KubeVirt: PVC to clone")
    pvc_namespace: str | None = Field(None, description="KubeVirt: namespace of that PVC")


class BackingSource(Model):
    """libvirt: a copy-on-write overlay on top of another volume (qcow2 only)."""

    kind: Literal["backing"] = "backing"
    volume: VolumeRef = Field(description="The backing volume (pass a Disk as `of=`)")


class RegistrySource(Model):
    """KubeVirt: import a containerdisk image from a registry."""

    kind: Literal["registry"] = "registry"
    url: str = Field(description="docker://registry/image:tag")


DiskSource = Annotated[
    BlankSource | ImageSource | UrlSource | CloneSource | BackingSource | RegistrySource,
    Field(discriminator="kind"),
]


class DiskArgs(Model):
    """A disk image."""

    name: Name = Field(description="Volume / DataVolume name")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the disk lives")
    size: Quantity | None = Field(None, description="Size; grow-only. Required for blank disks")
    format: Literal["qcow2", "raw"] = Field("qcow2", description="libvirt volume format")
    pool: str = Field("default", description="libvirt storage pool (created as a dir pool if absent)")
    pool_path: str | None = Field(None, description="Directory of a pool this resource creates")
    source: DiskSource = Field(default_factory=BlankSource, description="Where the content comes from")
    storage_class: str | None = Field(None, description="KubeVirt: storage class")
    access_modes: list[Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"]] | None = Field(
        None, description="KubeVirt: access modes (default: StorageProfile's)"
    )
    volume_mode: Literal["Filesystem", "Block"] | None = Field(None, description="KubeVirt: volume mode")
    retain_on_delete: bool = Field(False, description="Keep the data when the resource is deleted")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @model_validator(mode="after")
    def _consistent(self) -> DiskArgs:
        src = self.source
        if isinstance(src, BlankSource) and self.size is None:
            raise ValueError("size: a blank disk needs a size, e.g. size='10Gi'")
        libvirt = isinstance(self.target, LibvirtTarget)
        if libvirt and isinstance(src, RegistrySource):
            raise ValueError("source: registry imports need a kubevirt target")
        if libvirt and isinstance(src, CloneSource) and src.volume is None:
            raise ValueError("source.volume: a libvirt clone needs the volume to copy (of=<Disk>)")
        if not libvirt and isinstance(src, (ImageSource, BackingSource)):
            raise ValueError(f"source: {src.kind} sources need a libvirt target")
        if not libvirt and isinstance(src, CloneSource) and not src.pvc:
            raise ValueError("source.pvc: a KubeVirt clone needs the PVC to clone")
        if isinstance(src, BackingSource) and self.format != "qcow2":
            raise ValueError("format: a backing-file overlay must be qcow2")
        if self.pool_path is not None and not self.pool_path.startswith("/"):
            raise ValueError(f"pool_path: {self.pool_path!r} must be absolute")
        return self
