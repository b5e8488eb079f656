"""libvirt Bridge reconciler: libvirt networks.

I/O. A `bridge`-mode network needs its host bridge to exist already (libvirt's
interface API is read-only without netcf); managed modes get their own bridge
and DHCP from libvirt. Updates redefine the network in place; an active
network keeps running on its old definition until restarted, which the
outputs report as `pending_restart` (restarting it would cut every attached
guest's link). Autostart changes apply at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libvirt

from ..errors import Conflict, InvalidSpec, NotFound
from ..models import BridgeArgs
from ..ownership import Owner
from ..plan import Plan, diff_data
from ..waiting import Progress
from . import render
from .connection import Connections, lookup
from .parse import network_bridge_name, parse_network


class NetworkReconciler:
    """CRUD of Bridge resources on libvirt."""

    def __init__(self, connections: Connections) -> None:
        self._conns = connections

    def create(self, args: BridgeArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="creating the network") as conn:
            if lookup(conn.networkLookupByName, name, resource=name, what="network") is not None:
                raise Conflict(f"a libvirt network named {name!r} already exists on {uri}", resource=name, field="name")
            # libvirt starts a bridge-mode network without checking its bridge; guests would
            # fail to attach later. The (read-only) interface API can tell, even remotely.
            if args.mode == "bridge" and args.bridge is not None:
                if lookup(conn.interfaceLookupByName, args.bridge, resource=name, what="host interface") is None:
                    raise InvalidSpec(
                        f"host bridge {args.bridge!r} does not exist on {uri}: create the bridge on the host first "
                        "(e.g. `ip link add NAME type bridge`), or use a managed mode (nat/route/isolated/open)",
                        resource=name,
                        field="bridge",
                    )
            net = conn.networkDefineXML(render.render_network(args))
            try:
                net.setAutostart(1 if args.autostart else 0)
                progress("starting the network")
                net.create()
            except libvirt.libvirtError as err:
                net.undefine()
                if args.mode == "bridge":
                    raise InvalidSpec(
                        f"cannot start network over host bridge {args.bridge!r}: {err.get_error_message()}; "
                        "create the bridge on the host first (e.g. `ip link add NAME type bridge`)",
                        resource=name,
                        field="bridge",
                    ) from err
                raise
            return _outputs(net, pending=[])

    def read(
        self, args: BridgeArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="reading the network") as conn:
            net = lookup(conn.networkLookupByName, name, resource=name, what="network")
            if net is None:
                return None
            observed = parse_network(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE), args)
            observed["autostart"] = bool(net.autostart())
            return observed, _outputs(net, pending=_pending(net, args))

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
        uri, name = new.target.uri, new.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="updating the network") as conn:
            net = lookup(conn.networkLookupByName, name, resource=name, what="network")
            if net is None:
                raise NotFound(f"network {name!r} is gone from {uri}; run `pulumi refresh`", resource=name)
            progress("redefining the network in place")
            net = conn.networkDefineXML(render.render_network(new))
            net.setAutostart(1 if new.autostart else 0)
            if not net.isActive():
                net.create()
            return _outputs(net, pending=_pending(net, new))

    def delete(self, args: BridgeArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="deleting the network") as conn:
            net = lookup(conn.networkLookupByName, name, resource=name, what="network")
            if net is None:
                return
            if net.isActive():
                progress("stopping the network")
                net.destroy()
            net.undefine()


def _pending(net: libvirt.virNetwork, args: BridgeArgs) -> list[str]:
    if not net.isActive():
        return []
    live = parse_network(net.XMLDesc(0), args)
    config = parse_network(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE), args)
    return [path for path, _o, _n in diff_data(live, config)]


def _outputs(net: libvirt.virNetwork, *, pending: list[str]) -> dict[str, Any]:
    return {
        "network_name": net.name(),
        "bridge_device": network_bridge_name(net.XMLDesc(0)),
        "active": bool(net.isActive()),
        "pending_restart": bool(pending),
        "pending_changes": pending,
    }
