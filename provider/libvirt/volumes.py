"""libvirt Disk reconciler: storage pools and volumes.

I/O. Content is streamed into volumes through the libvirt connection (works
for remote hypervisors too): a local image file or an HTTP(S) download
(download.py: bounded by the create timeout, length and checksum verified) is
read where Pulumi runs and uploaded; clones use `createXMLFrom`; overlays carry
a `<backingStore>`. Resize is grow-only (check refuses shrinking).

Ownership (ledger.py): the volume name is claimed for the resource's owner
before the volume is created; a volume of that name that is not ours is a
Conflict (left untouched) unless `adopt=True`. A create interrupted earlier
(the owner's own leftover) is finished by deleting the partial volume and
creating it again: a Disk that never reached the state holds no user data.
Any failure deletes the volume this call created, then its record; when that
rollback fails too, only owned objects remain and the next run cleans them.
Delete removes only an owned volume, then its pool if this provider created it
and it is now empty.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import libvirt

from ..core import Call
from ..errors import Conflict, InvalidSpec, NotFound, OperationFailed, ProviderError
from ..models import BackingSource, CloneSource, DiskArgs, ImageSource, UrlSource, VolumeRef
from ..outputs import DiskOutputs
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from . import ledger, render
from .base import LibvirtReconciler, target_uri
from .connection import lookup
from .download import open_source
from .images import image_info
from .parse import parse_volume_format
from .streams import upload_bytes, upload_chunks

__all__ = ["VolumeReconciler", "lookup_volume", "upload_bytes"]


def lookup_volume(conn: libvirt.virConnect, ref: VolumeRef, *, resource: str) -> libvirt.virStorageVol:
    pool = lookup(conn.storagePoolLookupByName, ref.pool, resource=resource, what="storage pool")
    vol = None if pool is None else lookup(pool.storageVolLookupByName, ref.volume, resource=resource, what="volume")
    if vol is None:
        raise NotFound(f"source volume {ref.pool}/{ref.volume} does not exist", resource=resource, field="source")
    return vol


class VolumeReconciler(LibvirtReconciler):
    """CRUD of Disk resources on libvirt."""

    def _pool_lock(self, args: DiskArgs) -> AbstractContextManager[bool]:
        """This process' lock of the Disk's pool (ledger.py: records and pool removal)."""
        return self._conns.pool_lock(target_uri(args), args.pool)

    def create(self, call: Call[DiskArgs]) -> DiskOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        name, vol_name = args.name, render.volume_name(args)
        with self._call(args, "creating the volume") as conn:
            with self._pool_lock(args):
                pool = ledger.ensure_pool(conn, args.pool, args.pool_path, resource=name, progress=progress)
                claim = ledger.claim(conn, pool, vol_name, owner, adopt=args.adopt, resource=name, field="name")
            existing = lookup(pool.storageVolLookupByName, vol_name, resource=name, what="volume")
            if existing is not None and claim.taken_over:
                progress(f"adopted volume {args.pool}/{vol_name} (adopt=True): now owned by {owner}")
                return self._grow(existing, args, progress)
            if existing is not None:
                progress(f"removing {args.pool}/{vol_name}, left by an interrupted create of this resource")
                existing.delete(0)
            progress(f"claimed {args.pool}/{vol_name}")
            created: list[libvirt.virStorageVol] = []
            try:
                vol = self._make(conn, pool, args, call.deadline, progress, created)
                progress(f"created {args.pool}/{vol_name}")
                return _outputs(args, vol)
            except BaseException as err:
                self._rollback(conn, args, owner, created, err, progress)
                raise

    def _make(
        self,
        conn: libvirt.virConnect,
        pool: libvirt.virStoragePool,
        args: DiskArgs,
        deadline: Deadline,
        progress: Progress,
        created: list[libvirt.virStorageVol],
    ) -> libvirt.virStorageVol:
        """The volume with its content; every volume created is appended to `created` at once,
        so a failure later in the same call (an upload, a resize) still removes it."""
        name = args.name
        wanted = render.size_bytes(args.size)
        src = args.source
        if isinstance(src, CloneSource):
            assert src.volume is not None
            origin = lookup_volume(conn, src.volume, resource=name)
            capacity = max(origin.info()[1], wanted or 0)
            progress(f"cloning {src.volume.pool}/{src.volume.volume}")
            vol = pool.createXMLFrom(render.render_volume(args, capacity=capacity), origin, 0)
            created.append(vol)
            if wanted and wanted > vol.info()[1]:
                vol.resize(wanted, 0)
            return vol
        if isinstance(src, BackingSource):
            origin = lookup_volume(conn, src.volume, resource=name)
            fmt = parse_volume_format(origin.XMLDesc(0))
            capacity = max(origin.info()[1], wanted or 0)
            vol = pool.createXML(render.render_volume(args, capacity=capacity, backing=(origin.path(), fmt)), 0)
            created.append(vol)
            return vol
        if isinstance(src, (ImageSource, UrlSource)):
            with open_source(src, deadline, resource=name) as source:
                info = image_info(source.head, source.length)
                if info.format != args.format:
                    raise InvalidSpec(
                        f"the image is {info.format} but format is {args.format!r}: set format={info.format!r}",
                        resource=name,
                        field="format",
                    )
                capacity = max(info.virtual_size, wanted or 0)
                vol = pool.createXML(render.render_volume(args, capacity=capacity), 0)
                created.append(vol)
                progress(f"uploading {source.length} bytes")
                upload_chunks(conn, vol, source.chunks(), source.length)
            if capacity > info.virtual_size:
                vol.resize(capacity, 0)
            return vol
        assert wanted is not None  # the model requires a size for blank disks
        vol = pool.createXML(render.render_volume(args, capacity=wanted), 0)
        created.append(vol)
        return vol

    def _rollback(
        self,
        conn: libvirt.virConnect,
        args: DiskArgs,
        owner: Owner,
        created: list[libvirt.virStorageVol],
        cause: BaseException,
        progress: Progress,
    ) -> None:
        """Undo a failed create: the volume, its record, the pool if ours and empty."""
        vol_name = render.volume_name(args)
        try:
            for vol in created:
                vol.delete(0)
            with self._pool_lock(args):
                pool = lookup(conn.storagePoolLookupByName, args.pool, resource=args.name, what="storage pool")
                if pool is not None:
                    ledger.release(conn, pool, vol_name, owner, resource=args.name)
                ledger.remove_pool_if_unused(conn, args.pool, resource=args.name, progress=progress)
        except (libvirt.libvirtError, ProviderError) as err:
            raise OperationFailed(
                f"creating {args.pool}/{vol_name} failed ({cause}) and rolling back failed too ({err}); "
                f"what is left is marked as owned by {owner}: the next `pulumi up` removes and recreates it",
                resource=args.name,
            ) from err

    def _forget(self, conn: libvirt.virConnect, args: DiskArgs, owner: Owner, progress: Progress) -> None:
        vol_name = render.volume_name(args)
        with self._pool_lock(args):
            pool = lookup(conn.storagePoolLookupByName, args.pool, resource=args.name, what="storage pool")
            if pool is None or not pool.isActive():
                return
            if lookup(pool.storageVolLookupByName, vol_name, resource=args.name, what="volume") is not None:
                return  # there, but not ours: nothing of ours to drop
            ledger.release(conn, pool, vol_name, owner, resource=args.name)
            ledger.remove_pool_if_unused(conn, args.pool, resource=args.name, progress=progress)

    def _grow(self, vol: libvirt.virStorageVol, args: DiskArgs, progress: Progress) -> DiskOutputs:
        wanted = render.size_bytes(args.size)
        if wanted is not None and wanted > vol.info()[1]:
            progress(f"growing to {args.size}")
            vol.resize(wanted, 0)
        return _outputs(args, vol)

    def _owned_volume(
        self, conn: libvirt.virConnect, args: DiskArgs, owner: Owner, progress: Progress
    ) -> libvirt.virStorageVol | None:
        """The Disk's volume if it exists and `owner` owns it; a foreign one is reported, not returned."""
        pool = lookup(conn.storagePoolLookupByName, args.pool, resource=args.name, what="storage pool")
        if pool is None or not pool.isActive():
            return None
        vol_name = render.volume_name(args)
        vol = lookup(pool.storageVolLookupByName, vol_name, resource=args.name, what="volume")
        if vol is None:
            return None
        if not ledger.owns(conn, pool, vol_name, owner, resource=args.name):
            progress(f"volume {args.pool}/{vol_name} exists but is not owned by {owner}: not this resource's")
            return None
        return vol

    def read(self, call: Call[DiskArgs]) -> tuple[dict[str, Any], DiskOutputs] | None:
        args = call.args
        with self._call(args, "reading the volume") as conn:
            vol = self._owned_volume(conn, args, call.owner, call.progress)
            if vol is None:
                # Gone: drop our record of it too (an interrupted delete), or nothing ever would.
                self._forget(conn, args, call.owner, call.progress)
                return None
            outputs = _outputs(args, vol)
        observed = args.model_dump(mode="json", exclude_none=True)
        if args.size is not None and render.size_bytes(args.size) != outputs["capacity"]:
            observed["size"] = str(outputs["capacity"])
        return observed, outputs

    def update(self, call: Call[DiskArgs], old: DiskArgs, plan: Plan) -> DiskOutputs:
        new, owner, progress = call.args, call.owner, call.progress
        name = new.name
        with self._call(new, "resizing the volume") as conn:
            vol = self._owned_volume(conn, new, owner, progress)
            if vol is None:
                lookup_volume(conn, VolumeRef(pool=new.pool, volume=render.volume_name(new)), resource=name)
                raise Conflict(
                    f"volume {new.pool}/{render.volume_name(new)} is not owned by {owner}: not resized",
                    resource=name,
                )
            return self._grow(vol, new, progress)

    def delete(self, call: Call[DiskArgs]) -> None:
        args, owner, progress = call.args, call.owner, call.progress
        name, vol_name = args.name, render.volume_name(args)
        with self._call(args, "deleting the volume") as conn, self._pool_lock(args):
            if args.retain_on_delete:
                # Forget the ownership too: a later create of this resource must not take the
                # retained data for the leftover of an interrupted create and replace it.
                pool = lookup(conn.storagePoolLookupByName, args.pool, resource=name, what="storage pool")
                if pool is not None and pool.isActive():
                    ledger.release(conn, pool, vol_name, owner, resource=name)
                progress(f"retain_on_delete: keeping {args.pool}/{vol_name} (no longer owned by the stack)")
                return
            if ledger.delete_owned_volume(conn, args.pool, vol_name, owner, resource=name, progress=progress):
                progress(f"deleted {args.pool}/{vol_name}")
            ledger.remove_pool_if_unused(conn, args.pool, resource=name, progress=progress)


def _outputs(args: DiskArgs, vol: libvirt.virStorageVol) -> DiskOutputs:
    _type, capacity, allocation = vol.info()
    return {
        "ref": {"pool": args.pool, "volume": render.volume_name(args), "format": args.format},
        "path": vol.path(),
        "capacity": capacity,
        "allocation": allocation,
    }
