"""Where disk content comes from, and references to existing volumes. Pure."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from .common import DiskQuantity, Model
from .syntax import HostPath, LibvirtName, Namespace, ObjectName, check_host_path, check_single_line, echo

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class VolumeRef(Model):
    """A libvirt storage volume (what a Disk resource outputs as `ref`)."""

    pool: LibvirtName = Field(description="Storage pool name")
    volume: LibvirtName = Field(description="Volume name in the pool")
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
    path: HostPath = Field(description="Absolute path of the image on the hypervisor host")


def check_http_url(value: str) -> str:
    """An http(s) URL with a host, a valid port and no credentials (they would be stored in the state)."""
    check_single_line(value)
    if " " in value:
        raise ValueError(f"{echo(value)} contains a space: percent-encode it as %20")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"{echo(value)} is not a valid URL ({err})") from err
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{echo(value)} is not an http(s) URL: use http://host/path or https://host/path")
    if port == 0:
        raise ValueError(f"{echo(value)}: port 0 is not a port")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "the URL carries credentials (user:password@): they would be stored in plain state; "
            "serve the image without them"
        )
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
        return check_http_url(value)


class CloneSource(Model):
    """A full copy of another disk."""

    kind: Literal["clone"] = "clone"
    volume: VolumeRef | None = Field(None, description="libvirt: the volume to copy (pass a Disk as `of=`)")
    pvc: ObjectName | None = Field(None, description="KubeVirt: PVC to clone")
    pvc_namespace: Namespace | None = Field(None, description="KubeVirt: namespace of that PVC")


class BackingSource(Model):
    """libvirt: a copy-on-write overlay on top of another volume (qcow2 only)."""

    kind: Literal["backing"] = "backing"
    volume: VolumeRef = Field(description="The backing volume (pass a Disk as `of=`)")


# distribution/reference: [host[:port]/]path[:tag][@digest]
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REGISTRY_HOST = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::\d{{1,5}})?/)"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REFERENCE = re.compile(
    rf"^{_REGISTRY_HOST}?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def check_image_reference(value: str) -> str:
    """A container image reference (registry/name[:tag][@digest]), as a containerDisk takes it."""
    if len(value) > 255 or not _IMAGE_REFERENCE.match(value):
        raise ValueError(
            f"{echo(value)} is not a container image reference: use [registry[:port]/]name[:tag][@sha256:digest], "
            "e.g. quay.io/containerdisks/fedora:40"
        )
    return value


ImageReference = Annotated[str, AfterValidator(check_image_reference)]
"""A container image reference, e.g. quay.io/containerdisks/fedora:40."""


class RegistrySource(Model):
    """KubeVirt: import a containerdisk image from a registry (CDI `registry` source)."""

    kind: Literal["registry"] = "registry"
    url: str = Field(description="docker://registry/image:tag (or oci-archive:///path inside the importer)")

    @field_validator("url")
    @classmethod
    def _reference(cls, value: str) -> str:
        check_single_line(value)
        scheme, sep, rest = value.partition("://")
        if sep and scheme == "docker":
            check_image_reference(rest)
            return value
        if sep and scheme == "oci-archive":
            check_host_path(rest)
            return value
        raise ValueError(
            f"{echo(value)} is not a registry URL: CDI takes docker://registry/image:tag or oci-archive:///path"
        )


DiskSource = Annotated[
    BlankSource | ImageSource | UrlSource | CloneSource | BackingSource | RegistrySource,
    Field(discriminator="kind"),
]


class DiskTemplate(Model):
    """KubeVirt: a DataVolume the VM owns (a `dataVolumeTemplates` entry)."""

    size: DiskQuantity = Field(description="Requested size, e.g. 20Gi")
    source: DiskSource = Field(default_factory=BlankSource, description="Where the content comes from")
    storage_class: ObjectName | None = Field(None, description="Storage class (default: the cluster's)")
    access_modes: list[Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"]] | None = Field(
        None, description="Access modes (default: the StorageProfile's); ReadWriteMany allows live migration"
    )
    volume_mode: Literal["Filesystem", "Block"] | None = Field(None, description="Volume mode")
