"""What the components share: where a NIC attaches, where a root disk comes from, which backend.

Pure helpers over the resource classes' inputs (dicts); no resource is created here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import pulumi

from pulumi_kubevirt.provider import Bridge

if TYPE_CHECKING:
    from .bridged_network import BridgedNetwork

POD_NETWORK = "pod"
"""KubeVirt: attach a NIC to the pod network (masquerade) instead of a bridge."""

NetworkRef: TypeAlias = "BridgedNetwork | Bridge | str"
"""A NIC's network: a BridgedNetwork, a Bridge, an existing libvirt network or NAD name
(`name` or `namespace/name`), or POD_NETWORK."""

ImageRef: TypeAlias = "str | Mapping[str, Any]"
"""Root disk content: an http(s) URL (downloaded / CDI-imported), `docker://registry/image:tag`
(KubeVirt CDI registry import), an absolute image path on the hypervisor (libvirt), or a
Disk `source` mapping as is (`{"kind": "clone", ...}`)."""


def target_kind(target: Mapping[str, Any] | None) -> str:
    """`libvirt` or `kubevirt`: the target's kind, else the stack-config default the resource
    classes apply (`pulumi-kubevirt:targetKind`; no I/O)."""
    if target is not None:
        return str(target.get("kind", "libvirt"))
    return "kubevirt" if pulumi.Config("pulumi-kubevirt").get("targetKind") == "kubevirt" else "libvirt"


def interface(name: str, network: NetworkRef, **options: Any) -> dict[str, Any]:
    """A VirtualMachine `interfaces` item for `network` (see NetworkRef)."""
    from .bridged_network import BridgedNetwork

    if isinstance(network, BridgedNetwork):
        return {"name": name, "bridge": network.bridge, **options}
    if isinstance(network, Bridge):
        return {"name": name, "bridge": network, **options}
    if network == POD_NETWORK:
        return {"name": name, "pod": True, **options}
    return {"name": name, "network": network, **options}


def disk_source(image: ImageRef) -> dict[str, Any]:
    """A Disk `source` for `image` (see ImageRef)."""
    if not isinstance(image, str):
        return dict(image)
    if image.startswith(("http://", "https://")):
        return {"kind": "url", "url": image}
    if image.startswith(("docker://", "oci-archive://")):
        return {"kind": "registry", "url": image}
    if image.startswith("/"):
        return {"kind": "image", "path": image}
    raise ValueError(
        f"{image!r} is no image: give an http(s) URL, docker://registry/image:tag, an absolute path on the "
        "hypervisor, or a Disk source mapping"
    )


def child_options(parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """Options of a component's child: parented to the component (providers, protect and
    aliases follow from the parent)."""
    return pulumi.ResourceOptions(parent=parent, **extra)


def component_error(component: str, name: str, field: str, reason: str) -> pulumi.RunError:
    """A clean program error (no traceback) naming the component, its name and the argument."""
    return pulumi.RunError(f"{component} {name!r}: {field}: {reason}")
