"""The shared list+watch cache (provider/kubevirt/informer.py) driven by scripted lists and watch events, no cluster.

What a wait may rely on: it sees only versions newer than the object it starts
from, None only once the cache is past that version without the object, every
wait ends by its deadline, a 410 makes the informer list again, a transient
error is retried while a permanent one reaches the waiter, and the thread ends
once nobody uses it (and starts again for the next user).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pulumi_kubevirt.provider.errors import BackendUnavailable, NotAuthorized, WaitTimeout
from pulumi_kubevirt.provider.kubevirt.client import SECRET, VMI, Api, Cluster, Gvr
from pulumi_kubevirt.provider.kubevirt.informer import Expired, Informer, Informers, comparable, version_of

Obj = dict[str, Any]


def obj(name: str, version: int, **status: Any) -> Obj:
    return {"metadata": {"name": name, "resourceVersion": str(version)}, "status": status}


class Scripted:
    """A lister returning the next scripted listing, and a watcher yielding queued events.

    A queued exception is raised by the watcher (Expired, BackendUnavailable...);
    a queued "end" ends the current window.
    """

    def __init__(self, *listings: tuple[list[Obj], str] | BaseException) -> None:
        self.listings = list(listings)
        self.events: queue.Queue[tuple[str, Obj] | BaseException | str] = queue.Queue()
        self.watched_from: list[str] = []
        self.list_calls = 0

    def lister(self) -> tuple[list[Obj], str]:
        self.list_calls += 1
        item = self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        if isinstance(item, BaseException):
            raise item
        return item

    def watcher(self, version: str, window: float) -> Iterator[tuple[str, Obj]]:
        self.watched_from.append(version)
        end = time.monotonic() + window
        while (left := end - time.monotonic()) > 0:
            try:
                item = self.events.get(timeout=left)
            except queue.Empty:
                return
            if isinstance(item, BaseException):
                raise item
            if item == "end":
                return
            assert not isinstance(item, str)
            yield item

    def informer(self, **kwargs: Any) -> Informer:
        defaults: dict[str, Any] = {"window": 5.0, "linger": 0.2, "backoff": 0.05}
        return Informer(
            self.lister,
            self.watcher,
            transient=lambda err: isinstance(err, BackendUnavailable),
            name="vms in test",
            **{**defaults, **kwargs},
        )


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    assert condition()


def collect(observations: Iterator[Obj | None], into: list[Obj | None], count: int) -> threading.Thread:
    """Consume `count` observations in a thread (what a waiter does)."""

    def run() -> None:
        for seen in observations:
            into.append(seen)
            if len(into) == count:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_versions_are_integers_or_not_comparable() -> None:
    assert version_of(obj("a", 12)) == 12 and comparable(obj("a", 12))
    assert version_of({"metadata": {"resourceVersion": "x7"}}) is None
    assert not comparable(None) and not comparable({"metadata": {}})


def test_a_wait_after_a_write_sees_only_newer_versions_then_the_deletion() -> None:
    written = obj("vm", 10, ready=False)
    stale = obj("vm", 8, ready=True)  # an older version the cache still holds: never judged
    script = Scripted(([stale, obj("other", 9)], "9"))
    informer = script.informer()
    seen: list[Obj | None] = []
    collect(informer.observe("vm", after=written, deadline=soon()), seen, 3)
    time.sleep(0.1)
    assert seen == []
    script.events.put(("MODIFIED", obj("other", 11)))
    for event, count in (
        (("MODIFIED", obj("vm", 12, ready=True)), 1),
        (("MODIFIED", obj("vm", 13, ready=True, note="x")), 2),
        (("DELETED", obj("vm", 14)), 3),
    ):
        script.events.put(event)
        until(lambda: len(seen) == count)  # noqa: B023 - called before the loop moves on
    assert seen == [obj("vm", 12, ready=True), obj("vm", 13, ready=True, note="x"), None]
    assert script.list_calls == 1 and script.watched_from == ["9"]


def test_absent_only_once_the_cache_is_past_the_write() -> None:
    written = obj("dv", 20)
    script = Scripted(([], "15"))  # listed before the write reached the cache: absent means nothing yet
    informer = script.informer()
    seen: list[Obj | None] = []
    waiter = collect(informer.observe("dv", after=written, deadline=soon()), seen, 1)
    time.sleep(0.1)
    assert seen == []
    script.events.put(("ADDED", obj("other", 25)))  # the namespace moved past the write, no "dv": gone
    waiter.join(5)
    assert seen == [None]


def test_without_a_start_the_cached_object_comes_first() -> None:
    script = Scripted(([obj("vm", 3)], "5"))
    informer = script.informer()
    observations = informer.observe("vm", after=None, deadline=soon())
    assert next(observations) == obj("vm", 3)
    assert informer.peek("vm", deadline=soon()) == obj("vm", 3)
    assert informer.peek("nothing", deadline=soon()) is None
    observations.close()


def test_every_wait_ends_by_its_deadline() -> None:
    script = Scripted(([obj("vm", 3)], "5"))
    informer = script.informer()
    began = time.monotonic()
    assert list(informer.observe("vm", after=obj("vm", 3), deadline=soon(0.3))) == []
    assert 0.25 <= time.monotonic() - began < 2.0
    # Never listed (the apiserver is away): the wait still ends by its deadline, and a peek says why.
    down = Scripted(BackendUnavailable("listing virtualmachines: the apiserver is unreachable"))
    informer = down.informer()
    began = time.monotonic()
    assert list(informer.observe("vm", after=None, deadline=soon(0.3))) == []
    assert time.monotonic() - began < 2.0
    with pytest.raises(WaitTimeout, match="not listed in time"):
        informer.peek("vm", deadline=soon(0.2))
    assert down.list_calls >= 2  # retried with backoff meanwhile


def test_gone_410_lists_again_and_the_waiter_goes_on() -> None:
    script = Scripted(([obj("vm", 10)], "10"), ([obj("vm", 30, ready=True)], "31"))
    informer = script.informer()
    seen: list[Obj | None] = []
    waiter = collect(informer.observe("vm", after=obj("vm", 10), deadline=soon()), seen, 1)
    time.sleep(0.1)
    script.events.put(Expired())
    waiter.join(5)
    assert seen == [obj("vm", 30, ready=True)]
    assert script.list_calls == 2 and script.watched_from[:2] == ["10", "31"]


def test_a_dropped_watch_is_retried_and_a_permanent_error_reaches_the_waiter() -> None:
    script = Scripted(([obj("vm", 10)], "10"))
    informer = script.informer()
    seen: list[Obj | None] = []
    waiter = collect(informer.observe("vm", after=obj("vm", 10), deadline=soon()), seen, 1)
    time.sleep(0.1)
    script.events.put(BackendUnavailable("watching virtualmachines: the apiserver is unreachable"))
    time.sleep(0.2)
    script.events.put(("MODIFIED", obj("vm", 12)))
    waiter.join(5)
    assert seen == [obj("vm", 12)] and script.list_calls == 2  # listed again after the drop

    forbidden = Scripted(NotAuthorized("listing virtualmachines: forbidden"))
    informer = forbidden.informer()
    with pytest.raises(NotAuthorized, match="forbidden"):
        next(informer.observe("vm", after=None, deadline=soon()))
    assert forbidden.list_calls == 1  # not retried
    fresh = Informers(lambda _g, _p, _n: forbidden.informer())
    first = fresh.get("kubevirt.io", "virtualmachines", "ns")
    with pytest.raises(NotAuthorized):
        first.peek("vm", deadline=soon())
    assert fresh.get("kubevirt.io", "virtualmachines", "ns") is not first  # a failed informer is made anew


def test_the_thread_ends_without_users_and_starts_again() -> None:
    script = Scripted(([obj("vm", 3)], "5"))
    informer = script.informer(window=0.2, linger=0.1)
    assert informer.peek("vm", deadline=soon()) == obj("vm", 3)
    assert informer.running
    deadline = soon(3)
    while informer.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not informer.running  # stopped after linger + at most one window
    assert informer.peek("vm", deadline=soon()) == obj("vm", 3)
    assert script.list_calls == 2  # a new thread listed again: a stopped cache is never trusted


def test_many_waiters_share_one_list_and_one_watch() -> None:
    script = Scripted(([], "1"))
    informer = script.informer()
    seen: dict[str, list[Obj | None]] = {f"vm{i}": [] for i in range(20)}
    waiters = [
        collect(informer.observe(name, after=obj(name, 2), deadline=soon()), into, 1) for name, into in seen.items()
    ]
    time.sleep(0.2)
    for i, name in enumerate(seen):
        script.events.put(("MODIFIED", obj(name, 10 + i, ready=True)))
    for waiter in waiters:
        waiter.join(5)
    assert all(into == [obj(name, 10 + i, ready=True)] for i, (name, into) in enumerate(seen.items()))
    assert script.list_calls == 1 and len(script.watched_from) == 1


def test_a_peek_the_cache_cannot_serve_is_a_get() -> None:
    """A user who may read an object but not list its kind (RBAC), or a cache not listed in time: a GET."""
    forbidden = Scripted(NotAuthorized("listing virtualmachineinstances: forbidden"))
    cluster = SimpleNamespace(api_client=None, informers=Informers(lambda _g, _p, _n: forbidden.informer()))
    api = Api(cast("Cluster", cluster), resource="web")
    reads: list[str] = []

    def get(gvr: Gvr, name: str, namespace: str | None) -> Obj | None:
        reads.append(name)
        return obj(name, 7)

    api.get = get  # type: ignore[method-assign]
    assert api.peek(VMI, "web", "ns") == obj("web", 7)
    assert api.peek(SECRET, "web-cloudinit", "ns") == obj("web-cloudinit", 7)  # no informer for Secrets
    assert reads == ["web", "web-cloudinit"] and forbidden.list_calls == 1
