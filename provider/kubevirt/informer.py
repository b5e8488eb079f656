"""Shared list+watch caches (the informer pattern) that serve the provider's waits and peeks.

One `Informer` per (target, kind, namespace) in a provider process keeps every
object of that kind in that namespace with one LIST and one WATCH, instead of a
GET and a WATCH per object and wait. The list and watch calls are injected
(client.py binds them to the cluster), so this module does no I/O of its own
and tests/unit/test_informer.py drives it with recorded events.

- One daemon thread per informer, running only while someone uses it
  (`observe`, `peek`, `using`). It lists, then watches from the list's
  resourceVersion in bounded windows (`window` seconds, server-side timeout),
  re-watching from the last version it saw; a 410 Gone (`Expired`) makes it
  list again. When no user is left it lingers `linger` seconds (the next create
  in the namespace finds it warm), then ends. `Informers.get` starts a new
  thread for the next user.
- Waiters block on the cache's condition variable, each for at most the time
  left of its own deadline: no wait outlives its resource's timeouts.
- Transient errors (`transient(err)`: the apiserver away, 5xx) are retried by
  the thread with backoff (capped at `backoff` seconds) while waiters wait,
  and the cache counts as unsynced until a LIST succeeds again; any other error
  (401/403, a kind the cluster does not serve) is handed to every waiter and
  ends the informer.
- resourceVersions are compared as integers (etcd revisions, one sequence for
  every object). Kubernetes calls them opaque; an apiserver whose versions are
  not integers makes `comparable` False and callers keep their per-object reads.

Freshness (why a cache never decides alone): `observe(name, after=obj)` yields
only versions newer than `obj` (the object a write or a GET just returned), and
None only once the informer has seen the namespace past that version without
the object. `peek` may be stale; owned.py uses it only where a conditional write
re-checks (a create that refuses to overwrite; an apply bound to a UID).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import WaitTimeout

Obj = dict[str, Any]
Lister = Callable[[], tuple[list[Obj], str]]
"""Every object of the kind in the namespace, and the list's resourceVersion."""
Watcher = Callable[[str, float], Iterator[tuple[str, Obj]]]
"""(event type, object) from a resourceVersion for at most that many seconds; ends early when the
connection drops; raises `Expired` when the version is too old."""


class Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


def version_of(obj: Obj | None) -> int | None:
    """An object's resourceVersion as an integer; None when absent or not an integer."""
    raw = ((obj or {}).get("metadata") or {}).get("resourceVersion")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def comparable(obj: Obj | None) -> bool:
    """Whether an object's version can be ordered against the cache's (see the module docstring)."""
    return version_of(obj) is not None


class Informer:
    """The cache of one kind in one namespace, kept by one list+watch thread while in use."""

    def __init__(
        self,
        lister: Lister,
        watcher: Watcher,
        *,
        transient: Callable[[BaseException], bool],
        name: str = "informer",
        window: float = 30.0,
        linger: float = 5.0,
        backoff: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lister = lister
        self._watcher = watcher
        self._transient = transient
        self._name = name
        self.window = window
        self.linger = linger
        self.backoff = backoff
        self._clock = clock
        self._cond = threading.Condition()
        self._objects: dict[str, Obj] = {}
        self._version = 0
        """The newest resourceVersion the cache reflects (a list's, or the last event's)."""
        self._synced = False
        self._users = 0
        self._idle_since = clock()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.lists = 0
        self.watches = 0

    # -- users -----------------------------------------------------------------

    @contextmanager
    def using(self) -> Iterator[None]:
        """Keep the informer running (start it if needed) for the duration."""
        with self._cond:
            if self._failure is not None:
                raise self._failure
            self._users += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"informer-{self._name}", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._idle_since = self._clock()
                self._cond.notify_all()

    @property
    def running(self) -> bool:
        with self._cond:
            return self._thread is not None

    @property
    def failed(self) -> bool:
        with self._cond:
            return self._failure is not None

    def _wait_synced(self, deadline: float) -> bool:
        """Block (holding the condition) until the cache is listed: False when `deadline` came first."""
        while not self._synced:
            if self._failure is not None:
                raise self._failure
            left = deadline - self._clock()
            if left <= 0:
                return False
            self._cond.wait(left)
        if self._failure is not None:
            raise self._failure
        return True

    def peek(self, name: str, *, deadline: float) -> Obj | None:
        """The cached object (possibly stale: see the module docstring), once the cache is listed;
        WaitTimeout when it is not listed by `deadline`."""
        with self.using(), self._cond:
            if not self._wait_synced(deadline):
                raise WaitTimeout(f"the cache of {self._name} was not listed in time")
            found = self._objects.get(name)
            return None if found is None else dict(found)

    def observe(self, name: str, *, after: Obj | None, deadline: float) -> Iterator[Obj | None]:
        """Each newer version of `name` than `after` as the cache gets it; None once the cache is past
        `after` without the object. With `after` None, the cached object (or None) comes first.

        Ends at `deadline` (clock time). Holds the informer in use while iterated.
        """
        seen = version_of(after) if after is not None else None
        absent_told = False
        with self.using():
            while True:
                with self._cond:
                    found: Obj | None = None
                    tell = False
                    while not tell:
                        if not self._wait_synced(deadline):
                            return
                        found = self._objects.get(name)
                        if found is not None:
                            version = version_of(found) or 0
                            tell = seen is None or version > seen
                        else:
                            tell = not absent_told and (seen is None or self._version > seen)
                        if not tell:
                            left = deadline - self._clock()
                            if left <= 0:
                                return
                            self._cond.wait(left)
                    if found is not None:
                        seen = version_of(found) or 0
                        absent_told = False
                    else:
                        seen = self._version if seen is None else max(seen, self._version)
                        absent_told = True
                yield None if found is None else dict(found)
                if self._clock() >= deadline:
                    return

    # -- the thread ------------------------------------------------------------

    def _done(self) -> bool:
        """No user for `linger` seconds (then the thread ends, under the lock)."""
        with self._cond:
            if self._users == 0 and self._clock() - self._idle_since >= self.linger:
                self._thread = None
                self._synced = False
                self._objects.clear()
                return True
            return False

    def _run(self) -> None:
        delay = 0.1
        version: str | None = None
        while not self._done():
            try:
                if version is None:
                    items, version = self._lister()
                    self.lists += 1
                    self._replace(items, version)
                self.watches += 1
                for event, obj in self._watcher(version, self.window):
                    version = self._apply(event, obj) or version
                    if self._done():
                        return
                delay = 0.1
            except Expired:
                version = None
            except Exception as err:  # noqa: BLE001 - every failure of the thread is handed to the waiters
                version = None
                with self._cond:
                    self._synced = False
                    if not self._transient(err):
                        self._failure = err
                        self._thread = None
                        self._cond.notify_all()
                        return
                    self._cond.notify_all()
                time.sleep(delay)
                delay = min(delay * 2, self.backoff)

    def _replace(self, items: list[Obj], version: str) -> None:
        with self._cond:
            self._objects = {str((i.get("metadata") or {}).get("name")): i for i in items}
            self._version = max(self._version, _int(version))
            self._synced = True
            self._cond.notify_all()

    def _apply(self, event: str, obj: Obj) -> str | None:
        """One watch event into the cache; the version to resume from (None: keep the current one)."""
        meta = obj.get("metadata") or {}
        raw = meta.get("resourceVersion")
        with self._cond:
            if event in ("ADDED", "MODIFIED"):
                self._objects[str(meta.get("name"))] = obj
            elif event == "DELETED":
                self._objects.pop(str(meta.get("name")), None)
            elif event != "BOOKMARK":
                return None
            self._version = max(self._version, _int(raw))
            self._cond.notify_all()
        return str(raw) if raw is not None else None


def _int(raw: object) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return 0


class Informers:
    """The informers of one cluster, by (group, plural, namespace), made on first use."""

    def __init__(self, make: Callable[[str, str, str | None], Informer]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._informers: dict[tuple[str, str, str | None], Informer] = {}

    def get(self, group: str, plural: str, namespace: str | None) -> Informer:
        key = (group, plural, namespace)
        with self._lock:
            informer = self._informers.get(key)
            if informer is None or informer.failed:
                informer = self._informers[key] = self._make(group, plural, namespace)
            return informer
