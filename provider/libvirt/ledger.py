"""Ownership of storage volumes and pools, which carry no <metadata>. I/O.

Domains and networks keep their owner in their own XML (render.py, `<pkv:owner>`).
Volumes and pools cannot, so this module keeps the records:

Volumes: one *record volume* per owned volume, `<volume>.pkv-owner` in the same
pool, holding `{"owner": "project/stack::resource", "volume": ...}` (JSON padded
to a fixed size), written and read through libvirt streams (remote hosts work).

- Creating the record is the claim. libvirt refuses a second volume of one name
  atomically (VIR_ERR_STORAGE_VOL_EXIST, under libvirtd's pool lock), so two
  provider processes (two stacks, two test sessions on one host) can never both
  claim a name. A single JSON ledger per pool was considered and rejected: its
  read-modify-write loses entries when two processes write at once (an
  in-process lock cannot prevent that), and one torn write would forget every
  owner of the pool. Here a torn write damages one record, and only while its
  volume does not exist yet (next point).
- Intent first: the record is complete before the volume is created, and is
  removed only after the volume is deleted. So at every instant a volume this
  provider made has a record; a record without a volume is a create or delete
  that was interrupted, which its owner's next run finishes.
- A record that cannot be read (zeros: its writer died between creating the
  record volume and uploading the content) names nobody. By the previous rule
  no volume was created under it: with no volume it is a dead claim anyone may
  take over; next to an existing volume, that volume is foreign.
- In one process, `Connections.pool_lock(uri, pool)` is held while records of a
  pool are claimed and while the pool may be removed, so a thread never removes
  a pool another thread is claiming a name in.

Pools: a pool this provider creates carries a UUID derived from its name
(`render.pool_uuid`), set by the very call that defines it, so no crash can
leave an unmarked pool. It is removed when it holds no volume any more (checked
after a refresh); libvirt's dir-pool delete is an rmdir, which fails on a
non-empty directory, so a file another process added meanwhile keeps the pool.
A pool that existed before (such as `default`) has another UUID: never removed,
never started or modified.

Record volumes are named `*.pkv-owner` and show in `virsh vol-list`; do not
delete them by hand while their volume exists (the volume would look foreign).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import libvirt

from ..errors import Conflict, InvalidSpec, WaitTimeout
from ..ownership import Owner
from ..waiting import Deadline, Poll, Progress, Wait, wait
from . import render
from .connection import lookup
from .streams import download_bytes, upload_bytes

RECORD_SUFFIX = ".pkv-owner"
RECORD_SIZE = 4096
SETTLE = 5.0
"""Seconds an unreadable record gets for its writer to finish (creating it and uploading its 4 KiB
take milliseconds): a claim another run is writing at this moment must not look dead."""
DEFAULT_POOL_DIR = "/var/lib/libvirt/images"


def record_name(volume: str) -> str:
    return volume + RECORD_SUFFIX


@dataclass(frozen=True)
class Record:
    """What the record of a volume says: `exists` False = no record; `owner` None = unreadable;
    `busy`: another run is allocating it this very moment (libvirt refuses to read it yet)."""

    exists: bool
    owner: str | None = None
    busy: bool = False


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a volume name for an owner."""

    existing: bool
    """The volume itself exists already (a leftover of ours, or what `adopt` took over)."""
    taken_over: bool
    """It was not ours: `adopt=True` took it (or its dead claim) over."""


def read_record(conn: libvirt.virConnect, pool: libvirt.virStoragePool, volume: str, *, resource: str) -> Record:
    rec = lookup(pool.storageVolLookupByName, record_name(volume), resource=resource, what="ownership record")
    if rec is None:
        return Record(exists=False)
    try:
        raw = download_bytes(conn, rec, RECORD_SIZE).rstrip(b"\0 \n")
    except libvirt.libvirtError as err:
        # "volume ... is still being allocated": a claim of another run is being written now.
        if err.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
            raise
        return Record(exists=True, busy=True)
    try:
        doc = json.loads(raw)
    except ValueError:
        return Record(exists=True)
    owner = doc.get("owner") if isinstance(doc, dict) else None
    return Record(exists=True, owner=owner if isinstance(owner, str) and owner else None)


def owns(conn: libvirt.virConnect, pool: libvirt.virStoragePool, volume: str, owner: Owner, *, resource: str) -> bool:
    return read_record(conn, pool, volume, resource=resource).owner == str(owner)


def claim(
    conn: libvirt.virConnect,
    pool: libvirt.virStoragePool,
    volume: str,
    owner: Owner,
    *,
    adopt: bool,
    resource: str,
    field: str,
    legacy: bool = False,
) -> Claim:
    """Record `owner` as the owner of `pool/volume` before the volume is created.

    Conflict (nothing written) when the volume, or a live claim of it, belongs
    to somebody else, unless `adopt` says to take it over. `legacy`: the caller
    proved the volume is ours by other means (an owned domain references it).
    """
    where = f"{pool.name()}/{volume}"
    record = read_record(conn, pool, volume, resource=resource)
    if record.exists and record.owner is None:
        record = _settled(conn, pool, volume, resource=resource)
    if record.busy:
        raise Conflict(
            f"volume name {where} is being claimed by another run at this moment", resource=resource, field=field
        )
    vol = lookup(pool.storageVolLookupByName, volume, resource=resource, what="volume")
    if record.exists and record.owner == str(owner):
        return Claim(existing=vol is not None, taken_over=False)
    taking = adopt or legacy
    if vol is not None and not taking:
        raise Conflict(
            f"volume {where} exists and is not owned by {owner} (recorded owner: {record.owner or 'none'}); "
            "it was left untouched: choose another name, or set adopt=True to take it over",
            resource=resource,
            field=field,
        )
    if vol is None and record.owner is not None and not taking:
        raise Conflict(
            f"volume name {where} is claimed by {record.owner} (a create of that resource is running or was "
            f"interrupted; its next `pulumi up` finishes it): choose another name, or set adopt=True",
            resource=resource,
            field=field,
        )
    _write_record(conn, pool, volume, owner, exists=record.exists, resource=resource, field=field)
    return Claim(existing=vol is not None, taken_over=vol is not None or record.owner is not None)


def _settled(conn: libvirt.virConnect, pool: libvirt.virStoragePool, volume: str, *, resource: str) -> Record:
    """The record once its writer has written it; still unreadable after SETTLE seconds, its
    writer died between creating and writing it (a dead claim), or is allocating it still (busy)."""
    try:
        return wait(
            Wait(
                what=f"the ownership record of {pool.name()}/{volume} to be written",
                source=Poll(lambda: read_record(conn, pool, volume, resource=resource), initial=0.1, maximum=0.5),
                judge=lambda record: record if record.owner is not None or not record.exists else None,
                deadline=Deadline(SETTLE),
                resource=resource,
            )
        )
    except WaitTimeout:
        return read_record(conn, pool, volume, resource=resource)


def _write_record(
    conn: libvirt.virConnect,
    pool: libvirt.virStoragePool,
    volume: str,
    owner: Owner,
    *,
    exists: bool,
    resource: str,
    field: str,
) -> None:
    doc = json.dumps({"owner": str(owner), "volume": volume, "version": 1}, sort_keys=True).encode()
    if len(doc) > RECORD_SIZE:
        raise InvalidSpec(f"owner marker too long for an ownership record ({len(doc)} bytes)", resource=resource)
    name = record_name(volume)
    if exists:
        rec = pool.storageVolLookupByName(name)
    else:
        try:
            rec = pool.createXML(render.render_record_volume(name, RECORD_SIZE), 0)
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                raise
            raise Conflict(
                f"volume name {pool.name()}/{volume} is being claimed by another run at this moment",
                resource=resource,
                field=field,
            ) from err
    upload_bytes(conn, rec, doc.ljust(RECORD_SIZE, b" "))


def release(
    conn: libvirt.virConnect, pool: libvirt.virStoragePool, volume: str, owner: Owner, *, resource: str
) -> None:
    """Remove `owner`'s record of `volume` (after the volume itself is gone, or kept on purpose)."""
    if owns(conn, pool, volume, owner, resource=resource):
        rec = lookup(pool.storageVolLookupByName, record_name(volume), resource=resource, what="ownership record")
        if rec is not None:
            rec.delete(0)


def delete_owned_volume(
    conn: libvirt.virConnect, pool_name: str, volume: str, owner: Owner, *, resource: str, progress: Progress
) -> bool:
    """Delete `pool_name/volume` and its record if `owner` owns it; a foreign volume is left
    with a progress note. True when something of ours was removed."""
    pool = lookup(conn.storagePoolLookupByName, pool_name, resource=resource, what="storage pool")
    if pool is None or not pool.isActive():
        return False
    if not owns(conn, pool, volume, owner, resource=resource):
        if lookup(pool.storageVolLookupByName, volume, resource=resource, what="volume") is not None:
            progress(f"volume {pool_name}/{volume} is not owned by {owner}: left untouched")
        return False
    vol = lookup(pool.storageVolLookupByName, volume, resource=resource, what="volume")
    if vol is not None:
        vol.delete(0)
        progress(f"volume {pool_name}/{volume} deleted, dropping its ownership record")
    release(conn, pool, volume, owner, resource=resource)
    return True


def ensure_pool(
    conn: libvirt.virConnect, name: str, path: str | None, *, resource: str, progress: Progress
) -> libvirt.virStoragePool:
    """The named pool, active; created (marked as ours, autostarted) when absent."""
    pool = lookup(conn.storagePoolLookupByName, name, resource=resource, what="storage pool")
    if pool is None:
        target = path or (DEFAULT_POOL_DIR if name == "default" else f"/var/lib/libvirt/pools/{name}")
        progress(f"creating storage pool {name} at {target}")
        # Defined only: starting with WITH_BUILD below makes its directory. A separate build()
        # would race another process that defined the same pool and started it meanwhile.
        pool = conn.storagePoolDefineXML(render.render_pool(name, target), 0)
        pool.setAutostart(1)
    if not pool.isActive():
        if not pool_is_ours(pool):
            raise InvalidSpec(
                f"storage pool {name!r} exists but is not active, and this provider did not create it: "
                f"start it first (`virsh pool-start {name}`)",
                resource=resource,
                field="pool",
            )
        try:
            pool.create(libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
        except libvirt.libvirtError as err:
            # Another process (a second stack, another provider host) started it meanwhile.
            if err.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID or not pool.isActive():
                raise
    return pool


def pool_is_ours(pool: libvirt.virStoragePool) -> bool:
    return bool(pool.UUIDString() == render.pool_uuid(pool.name()))


def remove_pool_if_unused(conn: libvirt.virConnect, name: str, *, resource: str, progress: Progress) -> bool:
    """Remove pool `name` if this provider created it and it holds no volume any more."""
    pool = lookup(conn.storagePoolLookupByName, name, resource=resource, what="storage pool")
    if pool is None or not pool_is_ours(pool):
        return False
    if not pool.isActive():
        try:
            pool.create(0)
        except libvirt.libvirtError:
            # Its directory is gone already (an interrupted removal): only the definition is left.
            pool.undefine()
            return True
    # No refresh: libvirtd refuses it ("asynchronous jobs running") while another process builds a
    # volume in the pool, and that volume is already counted here; a file put there by hand makes
    # the rmdir below refuse.
    if pool.numOfVolumes() > 0:
        return False
    progress(f"removing storage pool {name}: this provider created it and its last volume is gone")
    try:
        pool.destroy()
    except libvirt.libvirtError:
        if pool.isActive():
            return False  # refused: another process started building a volume in it just now
        raise
    try:
        pool.delete(0)
    except libvirt.libvirtError:
        pool.create(0)  # a file appeared meanwhile (rmdir refused): keep the pool, running
        return False
    pool.undefine()
    return True
