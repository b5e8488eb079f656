"""libvirt Disk reconciler: storage pools and volumes.

I/O. Content is streamed into volumes through the libvirt connection (works
for remote hypervisors too): a local image file or an HTTP(S) download is read
where Pulumi runs and uploaded; clones use `createXMLFrom`; overlays carry a
`<backingStore>`. Resize is grow-only (check refuses shrinking). Creation
rolls back the volume it created when the upload fails.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import libvirt
from lxml import etree

from ..errors import BackendUnavailable, Conflict, InvalidSpec, NotFound, OperationFailed
from ..models import BackingSource, CloneSource, DiskArgs, ImageSource, UrlSource, VolumeRef
from ..models.common import parse_duration
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from . import render
from .connection import Connections, lookup
from .images import image_info

_CHUNK = 1 << 20
DEFAULT_POOL_DIR = "/var/lib/libvirt/images"


def ensure_pool(conn: libvirt.virConnect, name: str, path: str | None, *, resource: str) -> libvirt.virStoragePool:
    """The named pool, created as an autostarted dir pool when absent, and active."""
    pool = lookup(conn.storagePoolLookupByName, name, resource=resource, what="storage pool")
    if pool is None:
        target = path or (DEFAULT_POOL_DIR if name == "default" else f"/var/lib/libvirt/pools/{name}")
        pool = conn.storagePoolDefineXML(render.render_pool(name, target), 0)
        pool.build(0)
        pool.setAutostart(1)
    if not pool.isActive():
        pool.create(0)
    return pool


def delete_volume_if_exists(conn: libvirt.virConnect, pool_name: str, volume: str, *, resource: str) -> bool:
    pool = lookup(conn.storagePoolLookupByName, pool_name, resource=resource, what="storage pool")
    if pool is None:
        return False
    vol = lookup(pool.storageVolLookupByName, volume, resource=resource, what="volume")
    if vol is None:
        return False
    vol.delete(0)
    return True


def upload_bytes(conn: libvirt.virConnect, vol: libvirt.virStorageVol, data: bytes) -> None:
    upload_chunks(conn, vol, iter([data]), len(data))


def upload_chunks(conn: libvirt.virConnect, vol: libvirt.virStorageVol, chunks: Iterator[bytes], length: int) -> None:
    stream = conn.newStream(0)
    vol.upload(stream, 0, length, 0)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                sent = stream.send(bytes(view))
                if sent < 0:
                    raise OperationFailed("the libvirt upload stream refused data")
                view = view[sent:]
        stream.finish()
    except BaseException:
        stream.abort()
        raise


def lookup_volume(conn: libvirt.virConnect, ref: VolumeRef, *, resource: str) -> libvirt.virStorageVol:
    pool = lookup(conn.storagePoolLookupByName, ref.pool, resource=resource, what="storage pool")
    vol = None if pool is None else lookup(pool.storageVolLookupByName, ref.volume, resource=resource, what="volume")
    if vol is None:
        raise NotFound(f"source volume {ref.pool}/{ref.volume} does not exist", resource=resource, field="source")
    return vol


class VolumeReconciler:
    """CRUD of Disk resources on libvirt."""

    def __init__(self, connections: Connections) -> None:
        self._conns = connections

    def create(self, args: DiskArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        deadline = Deadline(parse_duration(args.timeouts.create))
        vol_name = render.volume_name(args)
        wanted = render.size_bytes(args.size)
        with self._conns.call(uri, resource=name, doing="creating the volume") as conn:
            pool = ensure_pool(conn, args.pool, args.pool_path, resource=name)
            if lookup(pool.storageVolLookupByName, vol_name, resource=name, what="volume") is not None:
                raise Conflict(
                    f"volume {args.pool}/{vol_name} already exists: pick another name or delete it",
                    resource=name,
                    field="name",
                )
            src = args.source
            vol: libvirt.virStorageVol | None = None
            try:
                if isinstance(src, CloneSource):
                    assert src.volume is not None
                    origin = lookup_volume(conn, src.volume, resource=name)
                    capacity = max(origin.info()[1], wanted or 0)
                    progress(f"cloning {src.volume.pool}/{src.volume.volume}")
                    vol = pool.createXMLFrom(render.render_volume(args, capacity=capacity), origin, 0)
                    if wanted and wanted > vol.info()[1]:
                        vol.resize(wanted, 0)
                elif isinstance(src, BackingSource):
                    origin = lookup_volume(conn, src.volume, resource=name)
                    fmt = _volume_format(origin)
                    capacity = max(origin.info()[1], wanted or 0)
                    vol = pool.createXML(render.render_volume(args, capacity=capacity, backing=(origin.path(), fmt)), 0)
                elif isinstance(src, (ImageSource, UrlSource)):
                    vol = self._import(conn, pool, args, src, wanted, deadline, progress)
                else:
                    assert wanted is not None  # the model requires a size for blank disks
                    vol = pool.createXML(render.render_volume(args, capacity=wanted), 0)
                return _outputs(args, vol)
            except BaseException:
                if vol is not None:
                    try:
                        vol.delete(0)
                    except libvirt.libvirtError as err:
                        raise OperationFailed(
                            f"creation failed and removing the partial volume {vol_name} failed too: "
                            f"{err.get_error_message()}",
                            resource=name,
                        ) from err
                raise

    def _import(
        self,
        conn: libvirt.virConnect,
        pool: libvirt.virStoragePool,
        args: DiskArgs,
        src: ImageSource | UrlSource,
        wanted: int | None,
        deadline: Deadline,
        progress: Progress,
    ) -> libvirt.virStorageVol:
        with _open_source(src, deadline, resource=args.name) as (length, head, rest):
            info = image_info(head, length)
            if info.format != args.format:
                raise InvalidSpec(
                    f"the image is {info.format} but format is {args.format!r}: set format={info.format!r}",
                    resource=args.name,
                    field="format",
                )
            capacity = max(info.virtual_size, wanted or 0)
            vol = pool.createXML(render.render_volume(args, capacity=capacity), 0)
            progress(f"uploading {length} bytes")
            upload_chunks(conn, vol, _chain(head, rest), length)
            if capacity > info.virtual_size:
                vol.resize(capacity, 0)
            return vol

    def read(
        self, args: DiskArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="reading the volume") as conn:
            pool = lookup(conn.storagePoolLookupByName, args.pool, resource=name, what="storage pool")
            if pool is None:
                return None
            vol = lookup(pool.storageVolLookupByName, render.volume_name(args), resource=name, what="volume")
            if vol is None:
                return None
            outputs = _outputs(args, vol)
        observed = args.model_dump(mode="json", exclude_none=True)
        if args.size is not None and render.size_bytes(args.size) != outputs["capacity"]:
            observed["size"] = str(outputs["capacity"])
        return observed, outputs

    def update(
        self, old: DiskArgs, new: DiskArgs, plan: Plan, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> dict[str, Any]:
        uri, name = new.target.uri, new.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="resizing the volume") as conn:
            vol = lookup_volume(conn, VolumeRef(pool=new.pool, volume=render.volume_name(new)), resource=name)
            wanted = render.size_bytes(new.size)
            if wanted is not None and wanted > vol.info()[1]:
                progress(f"growing to {new.size}")
                vol.resize(wanted, 0)
            return _outputs(new, vol)

    def delete(self, args: DiskArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        if args.retain_on_delete:
            progress("retain_on_delete: keeping the volume")
            return
        uri, name = args.target.uri, args.name  # type: ignore[union-attr]
        with self._conns.call(uri, resource=name, doing="deleting the volume") as conn:
            delete_volume_if_exists(conn, args.pool, render.volume_name(args), resource=name)


def _volume_format(vol: libvirt.virStorageVol) -> str:
    fmt = etree.fromstring(vol.XMLDesc(0).encode()).find("target/format")
    return fmt.get("type", "raw") if fmt is not None else "raw"


def _outputs(args: DiskArgs, vol: libvirt.virStorageVol) -> dict[str, Any]:
    _type, capacity, allocation = vol.info()
    return {
        "ref": {"pool": args.pool, "volume": render.volume_name(args), "format": args.format},
        "path": vol.path(),
        "capacity": capacity,
        "allocation": allocation,
    }


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from rest


def _open_handle(src: ImageSource | UrlSource, deadline: Deadline, *, resource: str) -> tuple[Any, int]:
    if isinstance(src, ImageSource):
        try:
            handle = open(src.path, "rb")
        except OSError as err:
            raise InvalidSpec(
                f"cannot read image {src.path}: {err.strerror}", resource=resource, field="source.path"
            ) from err
        return handle, os.fstat(handle.fileno()).st_size
    try:
        response = urllib.request.urlopen(src.url, timeout=min(60.0, deadline.left()))
    except urllib.error.HTTPError as err:
        raise InvalidSpec(
            f"downloading {src.url} failed: HTTP {err.code} {err.reason}", resource=resource, field="source.url"
        ) from err
    except (urllib.error.URLError, OSError) as err:
        raise BackendUnavailable(f"cannot download {src.url}: {err}", resource=resource) from err
    length = int(response.headers.get("Content-Length") or 0)
    if length <= 0:
        response.close()
        raise InvalidSpec(
            f"{src.url} sends no Content-Length; host the image where its size is known",
            resource=resource,
            field="source.url",
        )
    return response, length


@contextmanager
def _open_source(
    src: ImageSource | UrlSource, deadline: Deadline, *, resource: str
) -> Iterator[tuple[int, bytes, Iterator[bytes]]]:
    """(length, first bytes, iterator over the rest) of a local file or an HTTP(S) URL."""
    handle, length = _open_handle(src, deadline, resource=resource)
    with handle:
        head = handle.read(min(length, 1 << 16))

        def rest() -> Iterator[bytes]:
            while chunk := handle.read(_CHUNK):
                yield chunk

        yield length, head, rest()
