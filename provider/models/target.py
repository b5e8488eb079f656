"""Where a resource lives: a libvirt hypervisor or a KubeVirt cluster.

Pure. The URI/kubeconfig is only validated for form here; it is never opened.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from .common import Model

LIBVIRT_SCHEMES = ("qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh2", "test")
DEFAULT_LIBVIRT_URI = "qemu:///system"


def _check_libvirt_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in LIBVIRT_SCHEMES:
        raise ValueError(
            f"{uri!r} is not a libvirt URI this provider drives: use one of "
            + ", ".join(f"{s}://" for s in LIBVIRT_SCHEMES)
            + " (e.g. qemu:///system or qemu+ssh://user@host/system)"
        )
    if parts.scheme != "test" and parts.path not in ("/system", "/session"):
        raise ValueError(f"{uri!r} must end in /system or /session (e.g. qemu+tcp://10.0.0.2/system)")
    if parts.scheme in ("qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+libssh2") and not parts.hostname:
        raise ValueError(f"{uri!r} names no host: a remote URI looks like qemu+ssh://user@host/system")
    return uri


LibvirtUri = Annotated[str, AfterValidator(_check_libvirt_uri)]


class LibvirtTarget(Model):
    """A libvirt hypervisor reached through a connection URI."""

    kind: Literal["libvirt"] = "libvirt"
    uri: LibvirtUri = Field(DEFAULT_LIBVIRT_URI, description="libvirt connection URI, e.g. qemu:///system")


class KubevirtTarget(Model):
    """A Kubernetes cluster running KubeVirt, resolved the way kubectl does."""

    kind: Literal["kubevirt"] = "kubevirt"
    kubeconfig: str | None = Field(
        None, description="Path of a kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    context: str | None = Field(None, description="kubeconfig context (default: its current-context)")
    namespace: str = Field("default", description="Namespace of the namespaced objects")
    in_cluster: bool = Field(False, description="Use the pod's service account instead of a kubeconfig")


Target = Annotated[LibvirtTarget | KubevirtTarget, Field(discriminator="kind")]
"""A resource's target; the discriminator is `kind`."""
