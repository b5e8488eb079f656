"""libvirt Snapshot and SnapshotRestore reconcilers: domain snapshots, and reverting to one.

I/O. A libvirt snapshot has no <metadata> element, so the owner marker is the
first line of its description (render.render_snapshot); parse.parse_snapshot
reads it back.

- The VM must belong to this stack (its domain marker names the same
  `project/stack`): a snapshot or a revert changes a domain, and a domain the
  stack does not own is never touched (Conflict on `vm`).
- Snapshot create is one libvirt call with the ATOMIC flag (all or nothing).
  A snapshot of that name already there is judged by its marker: ours (an
  interrupted create of this resource) is finished, someone else's is a
  Conflict and left untouched. Full snapshots are internal (memory included
  when the guest runs; every disk must be qcow2); `disk_only` takes external
  overlays (the domain then runs on `<disk>.<snapshot>` files; deleting the
  snapshot merges them back). libvirt 9 cannot revert to an external snapshot:
  a restore of one fails with libvirt's message.
- Snapshot delete removes only our snapshot (children are kept: libvirt
  re-parents them); a domain that is already gone took its snapshots with it.
- SnapshotRestore create reverts the domain to our snapshot (one call; a rerun
  reverts again, to the same point). It is a record: read/update/delete touch nothing.
- The snapshot and the revert are blocking libvirt calls (saving or loading the
  guest's memory takes time): each runs on a worker thread and is waited for no
  longer than the resource's timeout, then the domain's job is aborted (`_bounded`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import libvirt

from ..core import Call
from ..errors import Conflict, NotFound, OperationFailed
from ..models.common import dump
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from ..outputs import RestoreOutputs, SnapshotOutputs, carried
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline
from .base import LibvirtReconciler, target_uri
from .connection import is_not_found, lookup, translate
from .domains import power_state
from .jobs import bounded_job
from .parse import parse_owner, parse_snapshot, parse_snapshot_disks
from .render import overlay_path, render_disk_only_snapshot, render_snapshot, revert_flags, snapshot_flags

T = TypeVar("T")


def _bounded(dom: Any, work: Callable[[], T], *, deadline: Deadline, resource: str, doing: str) -> T:
    """`work()` (a blocking libvirt call on `dom`: a snapshot with the guest's memory, a revert) bounded by
    `deadline` (`jobs.bounded_job`: past it the domain's job is aborted and WaitTimeout names what ran out).
    A job libvirt cannot abort (QEMU's internal snapshots) may still finish: its snapshot carries this
    resource's marker, so the next `up` adopts it and `destroy` removes it."""
    return bounded_job(
        dom,
        work,
        deadline=deadline,
        resource=resource,
        what=doing,
        timed_out=f"{doing} did not finish within the resource's timeout (after {deadline.seconds:.0f}s) and was "
        "aborted; raise customTimeouts for guests with much memory",
    )


def _stack_domain(conn: libvirt.virConnect, args: SnapshotArgs | SnapshotRestoreArgs, vm: str, owner: Owner) -> Any:
    """The domain `vm` when this stack manages it; NotFound when there is none; Conflict otherwise."""
    dom = lookup(conn.lookupByName, vm, resource=args.name, what="domain")
    if dom is None:
        raise NotFound(f"there is no domain {vm!r} on {target_uri(args)}", resource=args.name, field="vm")
    marker = parse_owner(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    if marker is None or Owner.parse(marker, resource=args.name).stack != owner.stack:
        raise Conflict(
            f"domain {vm!r} is not managed by the stack {owner.stack} (its owner: {marker or 'none'}); "
            "a snapshot or a revert would change it, so it was left untouched",
            resource=args.name,
            field="vm",
        )
    return dom


def _snapshot(dom: Any, name: str, *, resource: str) -> Any | None:
    """The domain's snapshot `name`, or None when libvirt says there is none."""
    try:
        return dom.snapshotLookupByName(name, 0)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            return None
        raise translate(err, resource=resource, doing=f"looking up snapshot {name!r}") from err


def _ours(snap: Any, owner: Owner) -> bool:
    return parse_snapshot(snap.getXMLDesc(0))[0] == str(owner)


def _outputs(snap: Any) -> SnapshotOutputs:
    _owner, _description, state, created = parse_snapshot(snap.getXMLDesc(0))
    when = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created is not None else None
    return {"ready": True, "phase": None, "creation_time": when, "vm_state": state}


class DomainSnapshotReconciler(LibvirtReconciler):
    """CRUD of Snapshot resources on libvirt."""

    def create(self, call: Call[SnapshotArgs]) -> SnapshotOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        with self._call(args, "taking the snapshot") as conn:
            dom = _stack_domain(conn, args, args.vm, owner)
            existing = _snapshot(dom, args.name, resource=args.name)
            if existing is not None:
                if not _ours(existing, owner):
                    found = parse_snapshot(existing.getXMLDesc(0))[0]
                    raise Conflict(
                        f"domain {args.vm!r} already has a snapshot {args.name!r} (its owner: {found or 'none'}), "
                        f"not {owner}'s; it was left untouched: pick another name",
                        resource=args.name,
                        field="name",
                    )
                progress(f"snapshot {args.name} was taken by an interrupted create of this resource")
                return _outputs(existing)
            xml, flags = self._snapshot_xml(conn, dom, args, owner), snapshot_flags(args)
            snap = _bounded(
                dom,
                lambda: dom.snapshotCreateXML(xml, flags),
                deadline=call.deadline,
                resource=args.name,
                doing="taking the snapshot",
            )
            progress(f"took snapshot {args.name} of domain {args.vm}")
            return _outputs(snap)

    def _snapshot_xml(self, conn: libvirt.virConnect, dom: Any, args: SnapshotArgs, owner: Owner) -> str:
        """The <domainsnapshot> to take; a disk-only one names each writable disk's overlay file (libvirt
        names none itself for a pool volume), next to the disk's own file."""
        if not args.disk_only:
            return render_snapshot(args, owner=str(owner))
        overlays: dict[str, str | None] = {}
        for dev, file, pool_volume, writable in parse_snapshot_disks(dom.XMLDesc(0)):
            path = file
            if path is None and pool_volume is not None:
                pool = conn.storagePoolLookupByName(pool_volume[0])
                path = pool.storageVolLookupByName(pool_volume[1]).path()
            if writable and path is None:
                raise OperationFailed(
                    f"disk {dev} of domain {args.vm!r} has no file a disk-only snapshot can put an overlay on",
                    resource=args.name,
                    field="disk_only",
                )
            overlays[dev] = overlay_path(path, args.name) if writable and path is not None else None
        return render_disk_only_snapshot(args, owner=str(owner), overlays=overlays)

    def read(self, call: Call[SnapshotArgs]) -> tuple[dict[str, Any], SnapshotOutputs] | None:
        args = call.args
        with self._call(args, "reading the snapshot") as conn:
            dom = lookup(conn.lookupByName, args.vm, resource=args.name, what="domain")
            snap = _snapshot(dom, args.name, resource=args.name) if dom is not None else None
            if snap is None or not _ours(snap, call.owner):
                return None
            observed = dump(args)
            description = parse_snapshot(snap.getXMLDesc(0))[1]
            if description is None:
                observed.pop("description", None)
            else:
                observed["description"] = description
            return observed, _outputs(snap)

    def update(self, call: Call[SnapshotArgs], old: SnapshotArgs, plan: Plan) -> SnapshotOutputs:
        # SNAPSHOT_RULES: only the wait bounds change in place, which touches nothing.
        return carried(call.state, SnapshotOutputs)

    def delete(self, call: Call[SnapshotArgs]) -> None:
        args, progress = call.args, call.progress
        with self._call(args, "deleting the snapshot") as conn:
            dom = lookup(conn.lookupByName, args.vm, resource=args.name, what="domain")
            snap = _snapshot(dom, args.name, resource=args.name) if dom is not None else None
            if snap is None:
                return
            if not _ours(snap, call.owner):
                progress(f"left snapshot {args.name} of domain {args.vm}: it is not owned by {call.owner}")
                return
            try:
                snap.delete(0)
            except libvirt.libvirtError as err:
                if not is_not_found(err) and err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                    raise
            progress(f"deleted snapshot {args.name} of domain {args.vm}")


class DomainRevertReconciler(LibvirtReconciler):
    """CRUD of SnapshotRestore resources on libvirt: create reverts; the rest is a record."""

    def create(self, call: Call[SnapshotRestoreArgs]) -> RestoreOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        vm = args.vm_name
        with self._call(args, "reverting to the snapshot") as conn:
            dom = _stack_domain(conn, args, vm, owner)
            snap = _snapshot(dom, args.snapshot, resource=args.name)
            if snap is None:
                raise NotFound(f"domain {vm!r} has no snapshot {args.snapshot!r}", resource=args.name, field="snapshot")
            found = parse_snapshot(snap.getXMLDesc(0))[0]
            if found is None or Owner.parse(found, resource=args.name).stack != owner.stack:
                raise Conflict(
                    f"snapshot {args.snapshot!r} of domain {vm!r} was not taken by the stack {owner.stack} "
                    f"(its owner: {found or 'none'}); nothing was reverted",
                    resource=args.name,
                    field="snapshot",
                )
            flags = revert_flags(args)
            try:
                _bounded(
                    dom,
                    lambda: dom.revertToSnapshot(snap, flags),
                    deadline=call.deadline,
                    resource=args.name,
                    doing="reverting to the snapshot",
                )
            except libvirt.libvirtError as err:
                raise OperationFailed(
                    f"libvirt could not revert domain {vm!r} to snapshot {args.snapshot!r}: {err.get_error_message()}",
                    resource=args.name,
                    field="snapshot",
                ) from err
            progress(f"reverted domain {vm} to snapshot {args.snapshot}")
            when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {"complete": True, "phase": "Complete", "restore_time": when, "vm_state": power_state(dom)}

    def read(self, call: Call[SnapshotRestoreArgs]) -> tuple[dict[str, Any], RestoreOutputs] | None:
        # A revert that happened is history: nothing on the hypervisor can drift from it.
        return dump(call.args), carried(call.state, RestoreOutputs)

    def update(self, call: Call[SnapshotRestoreArgs], old: SnapshotRestoreArgs, plan: Plan) -> RestoreOutputs:
        return carried(call.state, RestoreOutputs)

    def delete(self, call: Call[SnapshotRestoreArgs]) -> None:
        call.progress("a restore is history: deleting its record changes nothing on the domain")
