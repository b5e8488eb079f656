"""The base of every KubeVirt reconciler: the cluster clients, and the target narrowed once.

I/O only through `Clusters`/`Api`. `kinds.py` picks a KubeVirt reconciler only
for a kubevirt target, so `target` never refuses in practice; it narrows the
type once for every reconciler (no per-module `_target`/`_api` helpers).
"""

from __future__ import annotations

from typing import Any

from ..core import Call, Targeted
from ..errors import InvalidSpec
from ..models import KubevirtTarget
from ..waiting import Deadline
from .client import Api, Clusters, Gvr
from .owned import fetch_owned


def kubevirt_target(args: Targeted) -> KubevirtTarget:
    """A resource's target as a KubeVirt target."""
    target = args.target
    if not isinstance(target, KubevirtTarget):
        raise InvalidSpec(f"a {target.kind} target reached the KubeVirt backend", resource=args.name, field="target")
    return target


class KubevirtReconciler:
    """Holds the provider process' cluster clients (never pickled: see core.Backends)."""

    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    def _api(self, args: Targeted, deadline: Deadline) -> Api:
        """The verbs against the resource's cluster, each retried within what is left of `deadline`."""
        return self._clusters.api(kubevirt_target(args), resource=args.name).within(deadline.left())

    def _open(self, call: Call[Targeted]) -> tuple[Api, str]:
        """What every call starts from: the verbs within its deadline, and the resource's namespace."""
        return self._api(call.args, call.deadline), kubevirt_target(call.args).namespace

    def _fetch(self, call: Call[Targeted], gvr: Gvr) -> dict[str, Any] | None:
        """The resource's own object of `gvr` (named as the resource, in its namespace), or None when it is
        absent or not this resource's (`owned.fetch_owned`)."""
        api, ns = self._open(call)
        return fetch_owned(api, gvr, call.args.name, ns, owner=call.owner)
