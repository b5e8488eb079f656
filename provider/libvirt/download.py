"""Image content for a Disk: a local file or an HTTP(S) download, bounded and verified. I/O.

Invariants of `open_source(...).chunks()`:
- every socket read waits at most `READ_TIMEOUT` seconds and never past the
  operation's deadline (the resource's create timeout), and the deadline is
  checked between reads, so a server that trickles one byte every few seconds
  fails at the deadline, not whenever it finishes;
- the bytes delivered are exactly the announced length (Content-Length, or the
  file's size): a connection closed early is an error, never a short image;
- with `checksum` (`sha256:<hex>`) the digest of the bytes is compared after the
  last byte and before the iterator ends, so the caller (which uploads while
  iterating) learns of a mismatch before it reports the Disk created.
Callers delete the volume they were writing whenever iteration raises.

http.client is used rather than urllib.request because its connection exposes
the socket, whose timeout is lowered before each read to what is left of the
deadline; redirects (at most `MAX_REDIRECTS`) are followed here.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol
from urllib.parse import urljoin, urlsplit

from ..errors import BackendUnavailable, InvalidSpec, OperationFailed, WaitTimeout
from ..models import ImageSource, UrlSource
from ..waiting import Deadline

READ_TIMEOUT = 30.0
"""Seconds one read may wait for data (a stalled server), capped by the deadline."""
MAX_REDIRECTS = 5
HEAD_BYTES = 1 << 16
_CHUNK = 1 << 20


class _Reader(Protocol):
    def read_some(self, limit: int, timeout: float) -> bytes: ...


@dataclass
class _FileReader:
    handle: BinaryIO

    def read_some(self, limit: int, timeout: float) -> bytes:
        return self.handle.read(limit)


@dataclass
class _HttpReader:
    conn: http.client.HTTPConnection
    response: http.client.HTTPResponse

    def read_some(self, limit: int, timeout: float) -> bytes:
        if self.conn.sock is not None:
            self.conn.sock.settimeout(timeout)
        return self.response.read1(limit)


@dataclass
class Source:
    """An opened image: its announced length and a verified chunk iterator."""

    what: str
    length: int
    head: bytes
    _reader: _Reader
    _deadline: Deadline
    _resource: str
    _field: str
    _checksum: str | None = None
    _started: float = field(default_factory=time.monotonic)

    def chunks(self) -> Iterator[bytes]:
        """`head`, then the rest, then nothing more once length and checksum are verified."""
        digest = hashlib.sha256()
        got = len(self.head)
        digest.update(self.head)
        yield self.head
        while got < self.length:
            chunk = self._read(min(_CHUNK, self.length - got))
            if not chunk:
                raise OperationFailed(
                    f"{self.what} ended after {got} of the {self.length} bytes announced "
                    "(connection closed early); nothing was kept",
                    resource=self._resource,
                    field=self._field,
                )
            got += len(chunk)
            digest.update(chunk)
            yield chunk
        if self._checksum is not None and "sha256:" + digest.hexdigest() != self._checksum:
            raise InvalidSpec(
                f"{self.what}: sha256 of the {got} bytes received is {digest.hexdigest()}, "
                f"not {self._checksum.removeprefix('sha256:')}; nothing was kept",
                resource=self._resource,
                field="source.checksum",
            )

    def _read(self, limit: int) -> bytes:
        left = self._deadline.left(0.0)
        if left <= 0:
            raise self._timeout()
        try:
            return self._reader.read_some(limit, min(READ_TIMEOUT, left))
        except TimeoutError as err:
            if self._deadline.left(0.0) <= 0:
                raise self._timeout() from err
            raise BackendUnavailable(
                f"{self.what}: no data for {READ_TIMEOUT:.0f}s (stalled server)", resource=self._resource
            ) from err
        except (OSError, http.client.HTTPException) as err:
            raise BackendUnavailable(f"{self.what}: {err}", resource=self._resource) from err

    def _timeout(self) -> WaitTimeout:
        return WaitTimeout(
            f"{self.what}: not complete after {time.monotonic() - self._started:.0f}s (the create timeout); "
            "raise the resource's customTimeouts create if the server is slow",
            resource=self._resource,
        )


@contextmanager
def open_source(src: ImageSource | UrlSource, deadline: Deadline, *, resource: str) -> Iterator[Source]:
    """The image of `src`, opened within `deadline`; closed on exit."""
    if isinstance(src, ImageSource):
        try:
            handle = open(src.path, "rb")
        except OSError as err:
            raise InvalidSpec(
                f"cannot read image {src.path}: {err.strerror}", resource=resource, field="source.path"
            ) from err
        with handle:
            length = os.fstat(handle.fileno()).st_size
            reader = _FileReader(handle)
            source = Source(f"image {src.path}", length, b"", reader, deadline, resource, "source.path")
            source.head = source._read(min(length, HEAD_BYTES))
            yield source
        return
    conn, response = _get(src.url, deadline, resource=resource)
    try:
        reader2 = _HttpReader(conn, response)
        source = Source(
            f"download of {src.url}", response.length or 0, b"", reader2, deadline, resource, "source.url",
            src.checksum,
        )  # fmt: skip
        head = b""
        while len(head) < min(source.length, HEAD_BYTES):
            chunk = source._read(min(source.length, HEAD_BYTES) - len(head))
            if not chunk:
                break
            head += chunk
        source.head = head
        yield source
    finally:
        conn.close()


def _get(url: str, deadline: Deadline, *, resource: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """A GET of `url` (redirects followed) whose response announces its length."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        timeout = min(READ_TIMEOUT, deadline.left(0.0))
        if timeout <= 0:
            raise WaitTimeout(f"downloading {url}: the create timeout ran out", resource=resource)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = conn.getresponse()
        except (TimeoutError, OSError, http.client.HTTPException) as err:
            conn.close()
            if deadline.left(0.0) <= 0:
                raise WaitTimeout(f"downloading {url}: the create timeout ran out", resource=resource) from err
            raise BackendUnavailable(f"cannot download {url}: {err}", resource=resource) from err
        if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
            url = urljoin(url, response.getheader("Location") or "")
            conn.close()
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidSpec(f"{url} (a redirect) is not an http(s) URL", resource=resource, field="source.url")
            continue
        if response.status != 200:
            conn.close()
            raise InvalidSpec(
                f"downloading {url} failed: HTTP {response.status} {response.reason}",
                resource=resource,
                field="source.url",
            )
        if not response.length or response.length <= 0:
            conn.close()
            raise InvalidSpec(
                f"{url} sends no Content-Length; host the image where its size is known",
                resource=resource,
                field="source.url",
            )
        return conn, response
    raise InvalidSpec(f"{url}: more than {MAX_REDIRECTS} redirects", resource=resource, field="source.url")
