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
- Overlay files are ours by the pool's ledger (ledger.py), intent first: before
  the snapshot is taken, each overlay's name is claimed in the pool holding its
  disk (`<disk>.<snapshot>.pkv-owner`), after a pool refresh, so a file already
  at that path is a Conflict and never becomes ours. A failed take drops the
  claims of overlays that do not exist.
- Snapshot delete removes only our snapshot (children are kept: libvirt
  re-parents them); libvirt merges a disk-only one back into its disks and
  removes the overlays. Then, whether the domain is there or not (a VM named by
  a plain string may be deleted first; its own delete merges our stack's
  disk-only snapshots, domains.py), the overlays still recorded as this
  resource's are removed: found by their record names in the active pools, each
  only when its record names this resource, no disk of the domain uses it, and
  it is layered on the disk it is named after; its record goes after it. A file
  failing a check is left byte-for-byte (with a note). Interrupted anywhere, the
  next delete finds the same records and finishes.
- SnapshotRestore create reverts the domain to our snapshot (one call; a rerun
  reverts again, to the same point). It is a record: read/update/delete touch nothing.
- The snapshot and the revert are blocking libvirt calls (saving or loading the
  guest's memory takes time): each runs on a worker thread and is waited for no
  longer than the resource's timeout, then the domain's job is aborted (`_bounded`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar

import libvirt

from ..core import Call
from ..errors import Conflict, NotFound, OperationFailed, ProviderError
from ..models.common import dump
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from ..outputs import RestoreOutputs, SnapshotOutputs, carried
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Poll, Progress, Wait, wait
from . import ledger
from .base import LibvirtReconciler, target_uri
from .connection import is_not_found, lookup, translate
from .domains import power_state
from .jobs import bounded_job
from .parse import parse_backing_path, parse_disk_files, parse_owner, parse_snapshot, parse_snapshot_disks
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


def _refresh_pool(pool: Any, *, deadline: Deadline, resource: str) -> None:
    """`pool` refreshed, so that it lists files libvirt made outside its storage API (overlays).
    libvirtd refuses while another process builds a volume in the pool: retried until `deadline`."""

    def attempt() -> bool:
        try:
            pool.refresh(0)
        except libvirt.libvirtError as err:
            # INTERNAL_ERROR: "pool ... has asynchronous jobs running".
            if err.get_error_code() != libvirt.VIR_ERR_INTERNAL_ERROR:
                raise
            return False
        return True

    wait(
        Wait(
            f"storage pool {pool.name()} to refresh",
            Poll(attempt),
            lambda done: done or None,
            deadline,
            resource=resource,
        )
    )


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
            xml, overlays = self._snapshot_xml(conn, dom, args, owner)
            flags = snapshot_flags(args)
            claimed = self._claim_overlays(conn, args, owner, overlays, call.deadline, progress)
            try:
                snap = _bounded(
                    dom,
                    lambda: dom.snapshotCreateXML(xml, flags),
                    deadline=call.deadline,
                    resource=args.name,
                    doing="taking the snapshot",
                )
            except BaseException:
                self._drop_claims(conn, args, owner, claimed, progress)
                raise
            progress(f"took snapshot {args.name} of domain {args.vm}")
            return _outputs(snap)

    def _claim_overlays(
        self,
        conn: libvirt.virConnect,
        args: SnapshotArgs,
        owner: Owner,
        overlays: list[str],
        deadline: Deadline,
        progress: Progress,
    ) -> list[tuple[str, str]]:
        """Claim each overlay's name in the pool of its disk's directory; the (pool, volume) claimed.
        An overlay outside every pool gets no record: only the VM's delete (which merges it) removes it."""
        claimed: list[tuple[str, str]] = []
        for path in overlays:
            disk = lookup(
                conn.storageVolLookupByPath, path.removesuffix(f".{args.name}"), resource=args.name, what="volume"
            )
            if disk is None:
                progress(f"overlay {path} is in no storage pool: only deleting the VM or this snapshot removes it")
                continue
            pool = disk.storagePoolLookupByVolume()
            volume = PurePosixPath(path).name
            with self._conns.pool_lock(target_uri(args), pool.name()):
                _refresh_pool(pool, deadline=deadline, resource=args.name)  # a file already there is foreign
                ledger.claim(conn, pool, volume, owner, adopt=False, resource=args.name, field="name")
            claimed.append((pool.name(), volume))
        return claimed

    def _drop_claims(
        self,
        conn: libvirt.virConnect,
        args: SnapshotArgs,
        owner: Owner,
        claimed: list[tuple[str, str]],
        progress: Progress,
    ) -> None:
        """After a failed take: drop the claims of overlays that were not made (the take's error is what the
        user sees; a claim left by a failure here is finished by this resource's next create or delete)."""
        try:
            for pool_name, volume in claimed:
                pool = conn.storagePoolLookupByName(pool_name)
                with self._conns.pool_lock(target_uri(args), pool_name):
                    _refresh_pool(pool, deadline=Deadline(ledger.SETTLE), resource=args.name)
                    if lookup(pool.storageVolLookupByName, volume, resource=args.name, what="volume") is None:
                        ledger.release(conn, pool, volume, owner, resource=args.name)
        except (libvirt.libvirtError, ProviderError) as err:
            progress(f"could not drop the overlay claims of the failed snapshot ({err}); its next run does")

    def _snapshot_xml(
        self, conn: libvirt.virConnect, dom: Any, args: SnapshotArgs, owner: Owner
    ) -> tuple[str, list[str]]:
        """The <domainsnapshot> to take and the overlay files it makes; a disk-only one names each writable
        disk's overlay file (libvirt names none itself for a pool volume), next to the disk's own file."""
        if not args.disk_only:
            return render_snapshot(args, owner=str(owner)), []
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
        made = [path for path in overlays.values() if path is not None]
        return render_disk_only_snapshot(args, owner=str(owner), overlays=overlays), made

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
            if snap is not None and not _ours(snap, call.owner):
                progress(f"left snapshot {args.name} of domain {args.vm}: it is not owned by {call.owner}")
            elif snap is not None:
                try:
                    _bounded(
                        dom,
                        lambda: snap.delete(0),
                        deadline=call.deadline,
                        resource=args.name,
                        doing="deleting the snapshot (a disk-only one is merged back into its disks)",
                    )
                except libvirt.libvirtError as err:
                    if not is_not_found(err) and err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                        raise
                progress(f"deleted snapshot {args.name} of domain {args.vm}")
            if args.disk_only:
                self._remove_overlays(conn, args, call.owner, dom, call.deadline, progress)

    def _remove_overlays(
        self,
        conn: libvirt.virConnect,
        args: SnapshotArgs,
        owner: Owner,
        dom: Any | None,
        deadline: Deadline,
        progress: Progress,
    ) -> None:
        """Remove the overlay files (and their records) still recorded as `owner`'s: what is left when the
        domain went first, or when a delete was interrupted after the merge. See the module docstring."""
        suffix = f".{args.name}{ledger.RECORD_SUFFIX}"
        in_use: set[str] = set()
        if dom is not None:
            in_use = parse_disk_files(dom.XMLDesc(0)) | parse_disk_files(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            records = [name for name in pool.listVolumes() if name.endswith(suffix)]
            if not records:
                continue
            with self._conns.pool_lock(target_uri(args), pool.name()):
                _refresh_pool(pool, deadline=deadline, resource=args.name)
                for record in records:
                    volume = record.removesuffix(ledger.RECORD_SUFFIX)
                    if not ledger.owns(conn, pool, volume, owner, resource=args.name):
                        continue
                    vol = lookup(pool.storageVolLookupByName, volume, resource=args.name, what="volume")
                    if vol is not None:
                        self._remove_overlay(vol, args, in_use, progress)
                    ledger.release(conn, pool, volume, owner, resource=args.name)
                    progress(f"dropped the ownership record of overlay {pool.name()}/{volume}")
                ledger.remove_pool_if_unused(conn, pool.name(), resource=args.name, progress=progress)

    def _remove_overlay(self, vol: Any, args: SnapshotArgs, in_use: set[str], progress: Progress) -> None:
        """Delete the overlay `vol` when it is one this snapshot made and no disk of the domain uses it."""
        path = str(vol.path())
        if path in in_use:
            # Its snapshot is gone but the domain still runs on it (the snapshot's metadata was removed by
            # hand): deleting it would break the domain, forgetting it would orphan it.
            raise OperationFailed(
                f"overlay {path} of snapshot {args.name} is still a disk of domain {args.vm}, whose snapshot "
                "metadata is gone: nothing was deleted; merge it with `virsh blockcommit --active --pivot` "
                "or delete the VM, then delete this snapshot again",
                resource=args.name,
                field="vm",
            )
        base = path.removesuffix(f".{args.name}")
        if parse_backing_path(vol.XMLDesc(0)) != base:
            # Not layered on the disk it is named after: not the overlay this snapshot made. Left as it is;
            # dropping our record says so.
            progress(f"left {path}: it is not an overlay of {base}, so not a file this snapshot made")
            return
        vol.delete(0)
        progress(f"deleted overlay {path} of snapshot {args.name} (domain {args.vm} is gone or no longer uses it)")


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
