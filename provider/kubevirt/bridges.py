"""KubeVirt Bridge reconciler: an nmstate NNCP (the node bridge) and a Multus NAD.

I/O. The NNCP is applied first and watched to Available (Degraded ends the
wait with nmstate's message); then the NAD VMs attach to. Every write is
ownership-checked (owned.py): a rerun after an interruption adopts what it made.
Deleting a policy does not undo it on the nodes in nmstate, so delete first
applies the policy with the bridge `state: absent`, waits for it, then deletes
both objects; a policy or NAD that is not ours is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import Call
from ..models import BridgeArgs
from ..outputs import BridgeOutputs
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress, wait
from . import render
from .base import KubevirtReconciler, kubevirt_target
from .client import NAD, NNCE, NNCP, Api, Gvr
from .judges import changed_since, nncp_policy
from .owned import apply_owned, delete_owned, fetch_owned, owned_or_left, refuse_foreign, roll_back
from .parse import parse_bridge, parse_bridge_outputs, parse_enactments_current, parse_nncp_removing
from .render import POLICY_LABEL
from .watching import Watch

_ROLLBACK = 10.0
"""Seconds a failed create may spend removing what it made (the create's own deadline may be spent)."""


def _wait_applied(
    api: Api, name: str, written: Mapping[str, Any] | None, deadline: Deadline, what: str, progress: Progress
) -> None:
    """Wait until nmstate applied this generation of the policy on every node, and it is Available.

    Right after an edit the policy still shows the previous generation's Available
    condition; each time it does, wait for the policy's next change (a watch), then
    look again. Bounded by the deadline.
    """
    generation = ((written or {}).get("metadata") or {}).get("generation")
    while True:
        policy = Watch(api, NNCP, name, None)
        current = wait(policy.until(nncp_policy, what, deadline, progress))
        if not isinstance(generation, int):
            return
        enactments = api.list(NNCE, label_selector=f"{POLICY_LABEL}={name}")
        if parse_enactments_current(enactments, generation):
            return
        version = (current.get("metadata") or {}).get("resourceVersion")
        wait(policy.until(changed_since(version), what, deadline, progress))


class BridgeReconciler(KubevirtReconciler):
    """CRUD of Bridge resources on KubeVirt."""

    def _apply(
        self,
        api: Api,
        args: BridgeArgs,
        owner: Owner,
        deadline: Deadline,
        progress: Progress,
        made: list[tuple[Gvr, str, str | None]],
    ) -> None:
        """Apply the NNCP (and wait for it) and the NAD; `made` collects what was not adopted."""
        ns = kubevirt_target(args).namespace
        if args.manage_node_bridge:
            progress(f"applying the node network policy for {args.bridge}")
            nncp = render.render_nncp(args, owner=owner)
            written = apply_owned(api, NNCP, nncp, owner=owner, adopt=args.adopt, progress=progress, deadline=deadline)
            if written.verb != "adopted":
                made.append((NNCP, args.name, None))
            _wait_applied(api, args.name, written.obj, deadline, "the node network policy to be Available", progress)
        nad = render.render_nad(args, namespace=ns, owner=owner)
        if (
            apply_owned(api, NAD, nad, owner=owner, adopt=args.adopt, progress=progress, deadline=deadline).verb
            != "adopted"
        ):
            made.append((NAD, args.name, ns))

    def create(self, call: Call[BridgeArgs]) -> BridgeOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        api, ns = self._open(call)
        bodies = [(NAD, render.render_nad(args, namespace=ns, owner=owner))]
        if args.manage_node_bridge:
            bodies.insert(0, (NNCP, render.render_nncp(args, owner=owner)))
        refuse_foreign(api, bodies, owner=owner, adopt=args.adopt)
        made: list[tuple[Gvr, str, str | None]] = []
        try:
            self._apply(api, args, owner, call.deadline, progress, made)
        except BaseException:
            # Never what was adopted: that was the user's before this create.
            roll_back(api.within(_ROLLBACK), made, owner=owner, progress=progress)
            raise
        return self._outputs(api, args)

    def read(self, call: Call[BridgeArgs]) -> tuple[dict[str, Any], BridgeOutputs] | None:
        args, owner = call.args, call.owner
        api, ns = self._open(call)
        nad = fetch_owned(api, NAD, args.name, ns, owner=owner)
        nncp = fetch_owned(api, NNCP, args.name, None, owner=owner) if args.manage_node_bridge else None
        if nad is None and nncp is None:
            return None
        return parse_bridge(nncp, nad, args), self._outputs(api, args, nncp=nncp)

    def update(self, call: Call[BridgeArgs], old: BridgeArgs, plan: Plan) -> BridgeOutputs:
        new = call.args
        api, _ns = self._open(call)
        self._apply(api, new, call.owner, call.deadline, call.progress, [])
        if old.manage_node_bridge and not new.manage_node_bridge:
            delete_owned(api, NNCP, new.name, None, owner=call.owner, progress=call.progress)
        return self._outputs(api, new)

    def delete(self, call: Call[BridgeArgs]) -> None:
        args, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        api, ns = self._open(call)
        delete_owned(api, NAD, args.name, ns, owner=owner, progress=progress)
        if not args.manage_node_bridge:
            return
        nncp = owned_or_left(api, NNCP, args.name, None, owner=owner, progress=progress)
        if nncp is None:
            return
        if not parse_nncp_removing(nncp):
            progress(f"removing bridge {args.bridge} from the nodes")
            absent = render.render_nncp(args, owner=owner, absent=True)
            nncp = apply_owned(api, NNCP, absent, owner=owner, must_exist=True, progress=progress).obj
        _wait_applied(api, args.name, nncp, deadline, "the node network policy to remove the bridge", progress)
        delete_owned(api, NNCP, args.name, None, owner=owner, progress=progress)

    def _outputs(self, api: Api, args: BridgeArgs, *, nncp: Mapping[str, Any] | None = None) -> BridgeOutputs:
        if nncp is None and args.manage_node_bridge:
            nncp = api.get(NNCP, args.name, None)
        return parse_bridge_outputs(args, nncp)
