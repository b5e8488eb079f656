"""libvirt Bridge reconciler: libvirt networks.

I/O. A `bridge`-mode network needs its host bridge to exist already (libvirt's
interface API is read-only without netcf); managed modes get their own bridge
and DHCP from libvirt. Updates redefine the network in place; an active
network keeps running on its old definition until restarted, which the
outputs report as `pending_restart` (restarting it would cut every attached
guest's link). Autostart changes apply at once.

Ownership: every network this provider defines carries `<pkv:owner>` in its
`<metadata>` (kept by libvirt 9.0; only the metadata *setter API* needs 9.7, so
marking is done by the define itself). A network of the same name that is not
ours is a Conflict at create (left untouched) unless `adopt=True`, is never
updated, and delete leaves it with a note. Create is idempotent on the marker:
a network left by an interrupted create of the same resource (defined, maybe
not started) is redefined in place and started.
"""

from __future__ import annotations

from typing import Any

import libvirt

from ..core import Call
from ..errors import Conflict, InvalidSpec, NotFound
from ..models import BridgeArgs
from ..outputs import BridgeOutputs
from ..ownership import Owner
from ..plan import Plan, diff_data, path_text
from ..waiting import Progress
from . import render
from .base import LibvirtReconciler, take_over, target_uri
from .connection import lookup
from .parse import network_bridge_name, parse_network, parse_owner


class NetworkReconciler(LibvirtReconciler):
    """CRUD of Bridge resources on libvirt."""

    def create(self, call: Call[BridgeArgs]) -> BridgeOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        uri, name = target_uri(args), args.name
        with self._call(args, "creating the network") as conn:
            existing = lookup(conn.networkLookupByName, name, resource=name, what="network")
            found = _marker(existing) if existing is not None else None
            adopted = existing is not None and take_over(
                found, args, what="network", called="libvirt network", owner=owner, progress=progress
            )
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
            uuid = existing.UUIDString() if existing is not None else None
            net = conn.networkDefineXML(render.render_network(args, owner=str(owner), uuid=uuid))
            progress(f"defined network {name}")
            try:
                net.setAutostart(1 if args.autostart else 0)
                if not net.isActive():
                    progress("starting the network")
                    net.create()
                progress(f"started network {name}")
            except libvirt.libvirtError as err:
                if not adopted:
                    _remove(net)
                if args.mode == "bridge":
                    raise InvalidSpec(
                        f"cannot start network over host bridge {args.bridge!r}: {err.get_error_message()}; "
                        "create the bridge on the host first (e.g. `ip link add NAME type bridge`)",
                        resource=name,
                        field="bridge",
                    ) from err
                raise
            return _outputs(net, pending=_pending(net, args))

    def _owned(self, conn: libvirt.virConnect, args: BridgeArgs, owner: Owner, progress: Progress) -> Any:
        """The network if it exists and `owner` owns it; a foreign one is reported, not returned."""
        net = lookup(conn.networkLookupByName, args.name, resource=args.name, what="network")
        if net is not None and _marker(net) != str(owner):
            progress(f"network {args.name} exists but is not owned by {owner}: not this resource's")
            return None
        return net

    def read(self, call: Call[BridgeArgs]) -> tuple[dict[str, Any], BridgeOutputs] | None:
        args = call.args
        with self._call(args, "reading the network") as conn:
            net = self._owned(conn, args, call.owner, call.progress)
            if net is None:
                return None
            observed = parse_network(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE), args)
            observed["autostart"] = bool(net.autostart())
            return observed, _outputs(net, pending=_pending(net, args))

    def update(self, call: Call[BridgeArgs], old: BridgeArgs, plan: Plan) -> BridgeOutputs:
        new, owner, progress = call.args, call.owner, call.progress
        uri, name = target_uri(new), new.name
        with self._call(new, "updating the network") as conn:
            net = self._owned(conn, new, owner, progress)
            if net is None:
                if lookup(conn.networkLookupByName, name, resource=name, what="network") is not None:
                    raise Conflict(
                        f"network {name!r} on {uri} is not owned by {owner}: not updated", resource=name, field="name"
                    )
                raise NotFound(f"network {name!r} is gone from {uri}; run `pulumi refresh`", resource=name)
            progress("redefining the network in place")
            net = conn.networkDefineXML(render.render_network(new, owner=str(owner), uuid=net.UUIDString()))
            net.setAutostart(1 if new.autostart else 0)
            if not net.isActive():
                net.create()
            return _outputs(net, pending=_pending(net, new))

    def delete(self, call: Call[BridgeArgs]) -> None:
        args, progress = call.args, call.progress
        with self._call(args, "deleting the network") as conn:
            net = self._owned(conn, args, call.owner, progress)
            if net is None:
                return
            if net.isActive():
                progress("stopping the network")
                net.destroy()
            net.undefine()
            progress(f"undefined network {args.name}")


def _marker(net: libvirt.virNetwork) -> str | None:
    return parse_owner(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE))


def _remove(net: libvirt.virNetwork) -> None:
    if net.isActive():
        net.destroy()
    net.undefine()


def _pending(net: libvirt.virNetwork, args: BridgeArgs) -> list[str]:
    if not net.isActive():
        return []
    live = parse_network(net.XMLDesc(0), args)
    config = parse_network(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE), args)
    return [path_text(path) for path, _o, _n in diff_data(live, config)]


def _outputs(net: libvirt.virNetwork, *, pending: list[str]) -> BridgeOutputs:
    return {
        "network_name": net.name(),
        "bridge_device": network_bridge_name(net.XMLDesc(0)),
        "active": bool(net.isActive()),
        "pending_restart": bool(pending),
        "pending_changes": pending,
    }
