"""The base of every libvirt reconciler: the process' connections, and the target narrowed once.

I/O only through `Connections`. `kinds.py` picks a libvirt reconciler only for a
libvirt target, so `uri` never refuses in practice; it narrows the type for
the reconcilers (no per-call-site casts) and refuses clearly if that ever changes.
"""

from __future__ import annotations

from ..core import Targeted
from ..errors import InvalidSpec
from ..models import LibvirtTarget
from .connection import Connections


def target_uri(args: Targeted) -> str:
    """The libvirt connection URI of a resource's target."""
    target = args.target
    if not isinstance(target, LibvirtTarget):
        raise InvalidSpec(f"a {target.kind} target reached the libvirt backend", resource=args.name, field="target")
    return target.uri


class LibvirtReconciler:
    """Holds the provider process' libvirt connections (never pickled: see core.Backends)."""

    def __init__(self, connections: Connections) -> None:
        self._conns = connections
