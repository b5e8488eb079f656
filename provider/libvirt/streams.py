"""Volume content through libvirt streams: upload and download. I/O.

Streams go through the libvirt connection, so they work the same on a remote
hypervisor (qemu+ssh://, qemu+tcp://) as on the local one: nothing here reads or
writes the hypervisor's files directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import libvirt

from ..errors import OperationFailed

_RECV = 1 << 16


def upload_bytes(conn: libvirt.virConnect, vol: libvirt.virStorageVol, data: bytes) -> None:
    upload_chunks(conn, vol, [data], len(data))


def upload_chunks(conn: libvirt.virConnect, vol: libvirt.virStorageVol, chunks: Iterable[bytes], length: int) -> None:
    """Write `length` bytes from `chunks` at offset 0 of `vol`; the stream is aborted on any error."""
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
        _abort(stream)
        raise


def download_bytes(conn: libvirt.virConnect, vol: libvirt.virStorageVol, limit: int) -> bytes:
    """The first `limit` bytes (at most) of `vol`."""
    length = min(int(vol.info()[1]), limit)
    stream = conn.newStream(0)
    vol.download(stream, 0, length, 0)
    parts: list[bytes] = []
    try:
        while True:
            data = stream.recv(_RECV)
            if not isinstance(data, bytes):
                raise OperationFailed("the libvirt download stream failed")
            if not data:
                break
            parts.append(data)
        stream.finish()
    except BaseException:
        _abort(stream)
        raise
    return b"".join(parts)


def _abort(stream: libvirt.virStream) -> None:
    try:
        stream.abort()
    except libvirt.libvirtError:
        pass  # the connection is gone already: the error being raised says why
