"""KubeVirt Bridge reconciler: an nmstate NNCP (the node bridge) and a Multus NAD.

I/O. The NNCP is applied first and watched to Available (Degraded ends the
wait with nmstate's message); then the NAD VMs attach to. Deleting a policy
does not undo it on the nodes in nmstate, so delete first applies the policy
with the bridge `state: absent`, waits for it, then deletes both objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Conflict
from ..models import BridgeArgs, KubevirtTarget
from ..models.common import parse_duration
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from . import render
from .client import NAD, NNCP, Api, Clusters
from .parse import parse_bridge
from .watching import nncp_available, wait_until


def _target(args: BridgeArgs) -> KubevirtTarget:
    assert isinstance(args.target, KubevirtTarget)
    return args.target


class BridgeReconciler:
    """CRUD of Bridge resources on KubeVirt."""

    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    def _api(self, args: BridgeArgs) -> Api:
        return self._clusters.api(_target(args), resource=args.name)

    def _apply(self, api: Api, args: BridgeArgs, deadline: Deadline, progress: Progress) -> None:
        ns = _target(args).namespace
        if args.manage_node_bridge:
            progress(f"applying the node network policy for {args.bridge}")
            api.apply(NNCP, render.render_nncp(args))
            wait_until(
                api,
                NNCP,
                args.name,
                None,
                nncp_available,
                deadline=deadline,
                what="the node network policy to be Available",
                progress=progress,
            )
        api.apply(NAD, render.render_nad(args, namespace=ns))

    def create(self, args: BridgeArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        api, ns = self._api(args), _target(args).namespace
        if api.get(NAD, args.name, ns) is not None:
            raise Conflict(f"NetworkAttachmentDefinition {ns}/{args.name} already exists", resource=args.name)
        if args.manage_node_bridge and api.get(NNCP, args.name, None) is not None:
            raise Conflict(f"NodeNetworkConfigurationPolicy {args.name} already exists", resource=args.name)
        try:
            self._apply(api, args, Deadline(parse_duration(args.timeouts.create)), progress)
        except BaseException:
            api.delete(NAD, args.name, ns)
            if args.manage_node_bridge:
                api.delete(NNCP, args.name, None)
            raise
        return self._outputs(api, args)

    def read(
        self, args: BridgeArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        api, ns = self._api(args), _target(args).namespace
        nad = api.get(NAD, args.name, ns)
        nncp = api.get(NNCP, args.name, None) if args.manage_node_bridge else None
        if nad is None and nncp is None:
            return None
        return parse_bridge(nncp, nad, args), self._outputs(api, args, nncp=nncp)

    def update(
        self,
        old: BridgeArgs,
        new: BridgeArgs,
        plan: Plan,
        state: Mapping[str, Any],
        *,
        owner: Owner,
        progress: Progress,
    ) -> dict[str, Any]:
        api = self._api(new)
        self._apply(api, new, Deadline(parse_duration(new.timeouts.update)), progress)
        if old.manage_node_bridge and not new.manage_node_bridge:
            api.delete(NNCP, new.name, None)
        return self._outputs(api, new)

    def delete(self, args: BridgeArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        api, ns = self._api(args), _target(args).namespace
        api.delete(NAD, args.name, ns)
        if not args.manage_node_bridge or api.get(NNCP, args.name, None) is None:
            return
        progress(f"removing bridge {args.bridge} from the nodes")
        absent = render.render_nncp(args)
        for iface in absent["spec"]["desiredState"]["interfaces"]:
            iface["state"] = "absent"
        api.apply(NNCP, absent)
        wait_until(
            api,
            NNCP,
            args.name,
            None,
            nncp_available,
            deadline=Deadline(parse_duration(args.timeouts.delete)),
            what="the node network policy to remove the bridge",
            progress=progress,
        )
        api.delete(NNCP, args.name, None)

    def _outputs(self, api: Api, args: BridgeArgs, *, nncp: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if nncp is None and args.manage_node_bridge:
            nncp = api.get(NNCP, args.name, None)
        conditions = ((nncp or {}).get("status") or {}).get("conditions") or []
        available = any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)
        return {
            "network_name": args.name,
            "bridge_device": args.bridge,
            "active": available or not args.manage_node_bridge,
            "pending_restart": False,
            "pending_changes": [],
        }
