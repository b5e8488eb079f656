"""The base of every libvirt reconciler: the process' connections, and the target narrowed once.

I/O only through `Connections`. `kinds.py` picks a libvirt reconciler only for a
libvirt target, so `uri` never refuses in practice; it narrows the type for
the reconcilers (no per-call-site casts) and refuses clearly if that ever changes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import libvirt

from ..core import Targeted
from ..errors import Conflict, InvalidSpec
from ..models import LibvirtTarget
from ..ownership import Owner
from ..waiting import Progress
from .connection import Connections


def target_uri(args: Targeted) -> str:
    """The libvirt connection URI of a resource's target."""
    target = args.target
    if not isinstance(target, LibvirtTarget):
        raise InvalidSpec(f"a {target.kind} target reached the libvirt backend", resource=args.name, field="target")
    return target.uri


class Adoptable(Targeted, Protocol):
    """The arguments of a kind whose create may take over an existing object."""

    @property
    def adopt(self) -> bool: ...


def take_over(found: str | None, args: Adoptable, *, what: str, called: str, owner: Owner, progress: Progress) -> bool:
    """Whether a create finds its object (of owner marker `found`) already there and adopts it.

    Ours (an interrupted create of this resource): finish it, not adopted. Someone
    else's: adopted with `adopt`, else a Conflict that leaves it untouched. `what`
    names the object in progress lines, `called` in the Conflict.
    """
    name = args.name
    if found == str(owner):
        progress(f"{what} {name} was left by an interrupted create of this resource: finishing it")
        return False
    if args.adopt:
        progress(f"adopting {what} {name} (adopt=True; its owner was {found or 'none'})")
        return True
    raise Conflict(
        f"a {called} named {name!r} already exists on {target_uri(args)} and is not owned by {owner} "
        f"(its owner: {found or 'none'}); it was left untouched: pick another name, "
        "or set adopt=True to take it over",
        resource=name,
        field="name",
    )


class LibvirtReconciler:
    """Holds the provider process' libvirt connections (never pickled: see core.Backends)."""

    def __init__(self, connections: Connections) -> None:
        self._conns = connections

    def _call(self, args: Targeted, doing: str) -> AbstractContextManager[libvirt.virConnect]:
        """A connection to the resource's own target (`Connections.call`: libvirt errors become provider errors)."""
        return self._conns.call(target_uri(args), resource=args.name, doing=doing)
