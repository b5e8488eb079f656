"""Where a resource lives: a libvirt hypervisor or a KubeVirt cluster.

Pure. The URI/kubeconfig is only validated for form here; it is never opened.

`normalize_libvirt_uri` gives one spelling per URI (scheme and host lower-case,
default port dropped, no trailing `/`, only the parameters that pick a daemon),
and `libvirt_host` the daemon a URI reaches, so "the same host under another
spelling" (qemu+tcp://h/system vs qemu+tcp://H:16509/system, or qemu:///system
vs qemu+tcp://127.0.0.1/system) is recognised without I/O. A host is known by
name or address: two names of one machine cannot be told apart offline.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AfterValidator, Field

from .common import Bool, Model
from .syntax import Namespace, SingleLine, check_single_line, echo

LIBVIRT_SCHEMES = ("qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh2", "test")
DEFAULT_LIBVIRT_URI = "qemu:///system"
_REMOTE = ("qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+libssh2")
_DEFAULT_PORTS = {"qemu+tcp": 16509, "qemu+tls": 16514, "qemu+ssh": 22, "qemu+libssh2": 22}
_DAEMON_PARAMS = ("socket",)  # parameters that choose another daemon; the rest only tune the transport
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "localhost6", "ip6-localhost")
LOCAL_HOST = "localhost"


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return LOCAL_HOST if host in _LOCAL_NAMES else host
    if address.is_loopback:
        return LOCAL_HOST
    return str(address)


def _check_libvirt_uri(uri: str) -> str:
    check_single_line(uri)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"{echo(uri)} is not a valid URI ({err})") from err
    scheme = parts.scheme.lower()
    if scheme not in LIBVIRT_SCHEMES:
        raise ValueError(
            f"{echo(uri)} is not a libvirt URI this provider drives: use one of "
            + ", ".join(f"{s}://" for s in LIBVIRT_SCHEMES)
            + " (e.g. qemu:///system or qemu+ssh://user@host/system)"
        )
    if scheme != "test" and parts.path not in ("/system", "/session"):
        raise ValueError(f"{echo(uri)} must end in /system or /session (e.g. qemu+tcp://10.0.0.2/system)")
    if scheme in _REMOTE and not parts.hostname:
        raise ValueError(f"{echo(uri)} names no host: a remote URI looks like qemu+ssh://user@host/system")
    if port == 0:
        raise ValueError(f"{echo(uri)}: port 0 is not a port")
    if parts.password is not None:
        raise ValueError("a libvirt URI must not carry a password (it would be stored in the state): use SSH keys")
    if parts.fragment:
        raise ValueError(f"{echo(uri)}: a libvirt URI has no #fragment")
    return uri


LibvirtUri = Annotated[str, AfterValidator(_check_libvirt_uri)]


def normalize_libvirt_uri(uri: str) -> str:
    """One spelling per libvirt URI: lower-case scheme and host, loopback spelled `localhost`
    on remote schemes, the default port dropped, no trailing `/`, only daemon-choosing
    parameters (`socket`), sorted. `uri` must be a valid LibvirtUri."""
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    netloc = ""
    if parts.hostname:
        host = _host(parts.hostname)
        host = f"[{host}]" if ":" in host else host
        port = parts.port
        netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
    path = parts.path.rstrip("/") or parts.path
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if k in _DAEMON_PARAMS))
    return urlunsplit((scheme, netloc, path, query, ""))


def libvirt_host(uri: str) -> str:
    """The daemon a URI reaches: its host (`localhost` for local and loopback URIs), plus
    `?socket=` when it names another local daemon. Users, ports, transports and the
    system/session choice do not change the machine."""
    parts = urlsplit(uri.strip())
    host = _host(parts.hostname) if parts.hostname else LOCAL_HOST
    socket = dict(parse_qsl(parts.query)).get("socket")
    return f"{host}?socket={socket}" if socket else host


def same_libvirt_host(a: str, b: str) -> bool:
    """Whether two libvirt URIs reach the same daemon, judged offline."""
    return libvirt_host(a) == libvirt_host(b)


class LibvirtTarget(Model):
    """A libvirt hypervisor reached through a connection URI."""

    kind: Literal["libvirt"] = "libvirt"
    uri: LibvirtUri = Field(DEFAULT_LIBVIRT_URI, description="libvirt connection URI, e.g. qemu:///system")


class KubevirtTarget(Model):
    """A Kubernetes cluster running KubeVirt, resolved the way kubectl does."""

    kind: Literal["kubevirt"] = "kubevirt"
    kubeconfig: SingleLine | None = Field(
        None, description="Path of a kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    context: SingleLine | None = Field(None, description="kubeconfig context (default: its current-context)")
    namespace: Namespace = Field("default", description="Namespace of the namespaced objects")
    in_cluster: Bool = Field(False, description="Use the pod's service account instead of a kubeconfig")


Target = Annotated[LibvirtTarget | KubevirtTarget, Field(discriminator="kind")]
"""A resource's target; the discriminator is `kind`."""
