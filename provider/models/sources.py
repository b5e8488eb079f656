"""Where disk content comes from, and references to existing volumes. Pure."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from .common import Model, Quantity

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class VolumeRef(Model):
    """A libvirt storage volume (what a Disk resource outputs as `ref`)."""

    pool: str = Field(description="Storage pool name")
    volume: str = Field(description="Volume name in the pool")
    format: Literal["qcow2", "raw"] | None = Field(
        None, description="Image format (default: from the volume name's extension, .qcow2 or raw)"
    )

    @property
    def image_format(self) -> str:
        return self.format or ("qcow2" if self.volume.endswith(".qcow2") else "raw")


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
    checksum: str | None = Field(
        None,
        description="Expected digest of the downloaded bytes, `sha256:<64 hex>`; verified before the Disk is "
        "reported created (libvirt)",
    )

    @field_validator("checksum")
    @classmethod
    def _checksum(cls, value: str | None) -> str | None:
        if value is None:
            return None
        algo, _, digest = value.partition(":")
        if algo != "sha256" or not _SHA256.match(digest):
            raise ValueError("checksum must look like sha256:<64 hex digits>")
        return f"sha256:{digest.lower()}"

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


class DiskTemplate(Model):
    """KubeVirt: a DataVolume the VM owns (a `dataVolumeTemplates` entry)."""

    size: Quantity = Field(description="Requested size, e.g. 20Gi")
    source: DiskSource = Field(default_factory=BlankSource, description="Where the content comes from")
    storage_class: str | None = Field(None, description="Storage class (default: the cluster's)")
    access_modes: list[Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"]] | None = Field(
        None, description="Access modes (default: the StorageProfile's); ReadWriteMany allows live migration"
    )
    volume_mode: Literal["Filesystem", "Block"] | None = Field(None, description="Volume mode")
