"""libvirt connections: opened lazily, cached per URI, shared by threads.

A `Connections` object lives in the provider process only: resource providers
create it on first use and drop it when pickled, so no connection is ever
serialized into Pulumi state. libvirt connections are thread-safe; a dead one
(a restarted libvirtd: one cheap RPC tells) is reopened, and one that meets a
transport error is dropped from the cache.

`translate` is this backend's one error translator: only VIR_ERR_NO_* codes
become NotFound; connection/RPC failures become BackendUnavailable.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import libvirt

from ..errors import BackendUnavailable, Conflict, InvalidSpec, NotFound, OperationFailed, ProviderError

_NOT_FOUND = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_NETWORK,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
    libvirt.VIR_ERR_NO_STORAGE_VOL,
    libvirt.VIR_ERR_NO_DOMAIN_METADATA,
    libvirt.VIR_ERR_NO_INTERFACE,
}
_UNAVAILABLE = {
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
}
# SYSTEM_ERROR is a lost connection only when the RPC/remote layer raised it; from a
# driver (a missing file, a failed mkdir) it is an operation that failed.
_TRANSPORT_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}
_INVALID = {
    libvirt.VIR_ERR_XML_ERROR,
    libvirt.VIR_ERR_XML_DETAIL,
    libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
    libvirt.VIR_ERR_INVALID_ARG,
}
_CONFLICT = {libvirt.VIR_ERR_DOM_EXIST, libvirt.VIR_ERR_NETWORK_EXIST, libvirt.VIR_ERR_STORAGE_VOL_EXIST}


def translate(err: libvirt.libvirtError, *, resource: str, doing: str) -> ProviderError:
    """The provider error for a libvirt error; callers `raise translate(...) from err`."""
    code = err.get_error_code()
    message = f"{doing}: {err.get_error_message() or err}"
    if code in _NOT_FOUND:
        return NotFound(message, resource=resource)
    transport = code == libvirt.VIR_ERR_SYSTEM_ERROR and err.get_error_domain() in _TRANSPORT_DOMAINS
    if code in _UNAVAILABLE or transport:
        return BackendUnavailable(message + " (is libvirtd reachable at this URI?)", resource=resource)
    if code in _INVALID:
        return InvalidSpec(message, resource=resource)
    if code in _CONFLICT:
        return Conflict(message, resource=resource)
    return OperationFailed(message, resource=resource)


def is_not_found(err: libvirt.libvirtError) -> bool:
    return err.get_error_code() in _NOT_FOUND


def _quiet(_ctx: object, _err: object) -> None:
    """libvirt's default handler prints every error to stderr, including the expected
    not-found of a lookup; errors reach us as exceptions anyway."""


class Connections:
    """Per-URI cache of open libvirt connections for one provider process."""

    def __init__(self) -> None:
        libvirt.registerErrorHandler(_quiet, None)
        self._lock = threading.Lock()
        self._conns: dict[str, libvirt.virConnect] = {}
        self._pool_locks: dict[tuple[str, str], threading.Lock] = {}
        # Close before interpreter teardown: a virConnect collected after the libvirt
        # module is torn down prints "Exception ignored in virConnect.__del__".
        atexit.register(self.close)

    def get(self, uri: str, *, resource: str) -> libvirt.virConnect:
        with self._lock:
            conn = self._conns.get(uri)
            if conn is not None:
                # One cheap round trip, not isAlive(): without an event loop a connection to a
                # daemon that was restarted still looks alive until its first I/O fails.
                try:
                    conn.getLibVersion()
                    return conn
                except libvirt.libvirtError:
                    pass  # a broken connection: fall through and reopen it
            try:
                conn = libvirt.open(uri)
            except libvirt.libvirtError as err:
                raise BackendUnavailable(
                    f"cannot connect to {uri}: {err.get_error_message()}", resource=resource
                ) from err
            self._conns[uri] = conn
            return conn

    def pool_lock(self, uri: str, pool: str) -> threading.Lock:
        """The lock of one storage pool in this process: held while ownership records of the
        pool are written or the pool is removed (see ledger.py), so a thread never removes a
        pool another thread is about to create a volume in."""
        with self._lock:
            return self._pool_locks.setdefault((uri, pool), threading.Lock())

    @contextmanager
    def call(self, uri: str, *, resource: str, doing: str) -> Iterator[libvirt.virConnect]:
        """A connection; libvirt errors raised inside become provider errors."""
        conn = self.get(uri, resource=resource)
        try:
            yield conn
        except libvirt.libvirtError as err:
            translated = translate(err, resource=resource, doing=doing)
            if isinstance(translated, BackendUnavailable):
                self._forget(uri, conn)
            raise translated from err
        except BackendUnavailable:
            self._forget(uri, conn)
            raise

    def _forget(self, uri: str, conn: libvirt.virConnect) -> None:
        """Drop a connection that met a transport error: without an event loop libvirt notices a
        restarted daemon only on I/O, so `isAlive()` may still say yes; the next call reopens."""
        with self._lock:
            if self._conns.get(uri) is conn:
                del self._conns[uri]  # not closed here: other threads may still hold it

    def close(self) -> None:
        with self._lock:
            for conn in self._conns.values():
                try:
                    conn.close()
                except libvirt.libvirtError:
                    pass  # closing a dead connection has nothing left to release
            self._conns.clear()


def lookup(fn: Any, name: str, *, resource: str, what: str) -> Any | None:
    """`fn(name)`, or None when libvirt says, authoritatively, it does not exist."""
    try:
        return fn(name)
    except libvirt.libvirtError as err:
        if is_not_found(err):
            return None
        raise translate(err, resource=resource, doing=f"looking up {what} {name!r}") from err
