"""A failed create's roll back waits until what it deleted is gone, and a create waits out a terminating
object of ours (owned.py), on an in-memory apiserver whose finalizers hold deleted objects a while.

Objects with finalizers (a VirtualMachineSnapshot, a VM, a DataVolume) linger after a delete, with
deletionTimestamp set, until their controller lets them go: a retry of the same name that met one
would apply onto an object on its way out (or fail on it) instead of creating anew. No cluster.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from pulumi_kubevirt.provider.errors import Conflict, OperationFailed, WaitTimeout
from pulumi_kubevirt.provider.kubevirt import owned as owned_module
from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.kubevirt.client import SECRET, Api, Gvr
from pulumi_kubevirt.provider.kubevirt.judges import deleting, deletion_note, gone_by_uid
from pulumi_kubevirt.provider.kubevirt.owned import apply_owned, roll_back, wait_or_roll_back
from pulumi_kubevirt.provider.kubevirt.render import VM_SNAPSHOT
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.waiting import Deadline, Poll, Wait

OWNER = Owner("proj/stack", "snap")
OTHER = Owner("proj/other", "snap")
NS = "ns"
PROTECTION = "snapshot.kubevirt.io/vmsnapshot-protection"


def body(gvr: Gvr, name: str, owner: Owner = OWNER, finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    annotations = {render.OWNER_STACK: owner.stack, render.OWNER_RESOURCE: owner.resource}
    meta: dict[str, Any] = {"name": name, "namespace": NS, "annotations": annotations}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {**gvr.header(), "metadata": meta}


class Apiserver:
    """The verbs owned.py and Watch use, on objects in memory. A delete of an object with finalizers sets
    its deletionTimestamp; its controller lets it go `linger[name]` seconds later (never: math.inf)."""

    resource = "snap"
    budget = 5.0

    def __init__(self, linger: float = 0.0) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.released: dict[tuple[str, str], float] = {}
        self.linger = linger
        self.log: list[str] = []
        self._uids = (f"u-{i}" for i in itertools.count(1))
        self._versions = itertools.count(10)

    def put(self, gvr: Gvr, obj: dict[str, Any], *, terminating_for: float | None = None) -> dict[str, Any]:
        meta = obj["metadata"]
        stored = {**obj, "metadata": {**meta, "uid": next(self._uids), "resourceVersion": str(next(self._versions))}}
        key = (gvr.plural, meta["name"])
        self.objects[key] = stored
        if terminating_for is not None:
            stored["metadata"]["deletionTimestamp"] = "2026-11-29T23:00:00Z"
            self.released[key] = time.monotonic() + terminating_for
        return stored

    def _current(self, gvr: Gvr, name: str) -> dict[str, Any] | None:
        key = (gvr.plural, name)
        if key in self.released and time.monotonic() >= self.released[key]:
            del self.objects[key], self.released[key]  # the finalizer's controller is done
        return self.objects.get(key)

    def within(self, seconds: float) -> Apiserver:
        return self

    def informer(self, gvr: Gvr, namespace: str | None) -> None:
        return None

    def get(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        self.log.append(f"get {name}")
        return self._current(gvr, name)

    peek = get

    def create(self, gvr: Gvr, obj: dict[str, Any]) -> dict[str, Any]:
        self.log.append(f"create {obj['metadata']['name']}")
        if self._current(gvr, obj["metadata"]["name"]) is not None:
            raise Conflict("already exists", resource=self.resource)
        return self.put(gvr, obj)

    def apply(self, gvr: Gvr, obj: dict[str, Any], *, uid: str) -> dict[str, Any]:
        self.log.append(f"apply {uid}")
        current = self._current(gvr, obj["metadata"]["name"])
        if current is None or current["metadata"]["uid"] != uid:
            raise Conflict("uid mismatch", resource=self.resource)
        return current

    def own_fields(self, gvr: Gvr, obj: dict[str, Any]) -> bool:
        return False

    def delete(self, gvr: Gvr, name: str, namespace: str | None, *, uid: str) -> bool:
        self.log.append(f"delete {name}")
        current = self._current(gvr, name)
        if current is None:
            return False
        if current["metadata"]["uid"] != uid:
            raise Conflict("uid precondition", resource=self.resource)
        key = (gvr.plural, name)
        if current["metadata"].get("finalizers"):
            current["metadata"]["deletionTimestamp"] = "2026-11-29T23:00:00Z"
            self.released.setdefault(key, time.monotonic() + self.linger)
        else:
            del self.objects[key]
        return True

    def watch(
        self, gvr: Gvr, name: str, namespace: str | None, *, timeout: float, resource_version: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        end = time.monotonic() + timeout
        last = self.objects.get((gvr.plural, name))
        while (left := end - time.monotonic()) > 0:
            if self._current(gvr, name) is None:
                if last is not None:
                    yield "DELETED", last
                return
            time.sleep(min(0.02, left))


def made_by_a_create(server: Apiserver) -> list[tuple[Gvr, str, str | None]]:
    """What a snapshot-like create made: a Secret (no finalizer), then the snapshot (held by one)."""
    server.put(SECRET, body(SECRET, "snap-data"))
    server.put(VM_SNAPSHOT, body(VM_SNAPSHOT, "snap", finalizers=(PROTECTION,)))
    return [(SECRET, "snap-data", NS), (VM_SNAPSHOT, "snap", NS)]


def test_roll_back_deletes_newest_first_and_returns_once_each_object_is_gone() -> None:
    server = Apiserver(linger=0.4)
    made = made_by_a_create(server)
    lines: list[str] = []
    began = time.monotonic()
    roll_back(cast("Api", server), made, owner=OWNER, progress=lines.append, deadline=Deadline(5))
    assert time.monotonic() - began >= 0.4  # it waited for the finalizer
    assert server.objects == {}
    deletes = [entry for entry in server.log if entry.startswith("delete")]
    assert deletes == ["delete snap", "delete snap-data"]
    assert "deleted VirtualMachineSnapshot ns/snap" in lines and "deleted Secret ns/snap-data" in lines
    assert not [line for line in lines if "still terminating" in line]


def test_a_create_that_fails_its_wait_rolls_back_and_the_immediate_retry_creates_anew() -> None:
    server = Apiserver(linger=0.3)
    made = made_by_a_create(server)
    failed_uid = server.objects[("virtualmachinesnapshots", "snap")]["metadata"]["uid"]

    def judge(_obj: object) -> None:
        raise OperationFailed("the snapshot failed: source not found")

    failing: Wait[None, None] = Wait("the snapshot", Poll(lambda: None), judge, Deadline(5), resource="snap")
    with pytest.raises(OperationFailed, match="the snapshot failed"):
        wait_or_roll_back(cast("Api", server), failing, made, owner=OWNER, progress=lambda _m: None)
    assert server.objects == {}  # gone, not terminating, when the create's error goes on
    lines: list[str] = []
    written = apply_owned(
        cast("Api", server), VM_SNAPSHOT, body(VM_SNAPSHOT, "snap", finalizers=(PROTECTION,)), owner=OWNER,
        progress=lines.append,
    )  # fmt: skip
    assert written.verb == "created" and written.obj is not None
    assert written.obj["metadata"]["uid"] != failed_uid
    assert lines == ["created VirtualMachineSnapshot ns/snap"]  # nothing left to wait for


def test_when_the_bound_runs_out_the_original_error_goes_on_and_the_terminating_object_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(owned_module, "_ROLLBACK", 0.4)
    server = Apiserver(linger=math.inf)  # a finalizer nobody removes (virt-controller away)
    made = made_by_a_create(server)
    lines: list[str] = []
    timed_out: Wait[None, None] = Wait(
        "the snapshot to be ready to use", Poll(lambda: None), lambda _o: None, Deadline(0.05), resource="snap"
    )
    began = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"^snap: gave up after 0s waiting for the snapshot to be ready to use"):
        wait_or_roll_back(cast("Api", server), timed_out, made, owner=OWNER, progress=lines.append)
    assert time.monotonic() - began < 3.0  # bounded by _ROLLBACK (plus the original wait)
    (terminating,) = [line for line in lines if "still terminating" in line]
    assert terminating.startswith(
        f"VirtualMachineSnapshot ns/snap is still terminating (terminating, held by {PROTECTION}) "
        "after 0.4s of rolling back; the next `pulumi up` waits for it to be gone"
    )
    assert deleting(server.objects[("virtualmachinesnapshots", "snap")])
    assert ("secrets", "snap-data") not in server.objects


def test_a_create_meeting_our_terminating_object_waits_until_it_is_gone_then_creates() -> None:
    server = Apiserver()
    old = server.put(VM_SNAPSHOT, body(VM_SNAPSHOT, "snap", finalizers=(PROTECTION,)), terminating_for=0.3)
    lines: list[str] = []
    began = time.monotonic()
    written = apply_owned(
        cast("Api", server), VM_SNAPSHOT, body(VM_SNAPSHOT, "snap"), owner=OWNER, progress=lines.append,
        deadline=Deadline(5),
    )  # fmt: skip
    assert time.monotonic() - began >= 0.3
    assert written.verb == "created" and written.obj is not None
    assert written.obj["metadata"]["uid"] != old["metadata"]["uid"]
    assert f"apply {old['metadata']['uid']}" not in server.log  # never written onto the object going away
    assert lines == [
        "VirtualMachineSnapshot ns/snap of this resource is being deleted: waiting for it to be gone before "
        "creating it anew",
        f"terminating, held by {PROTECTION}",
        "created VirtualMachineSnapshot ns/snap",
    ]


def test_a_terminating_object_that_outlasts_the_deadline_is_a_timeout_naming_it_and_nothing_is_written() -> None:
    server = Apiserver()
    server.put(VM_SNAPSHOT, body(VM_SNAPSHOT, "snap", finalizers=(PROTECTION,)), terminating_for=math.inf)
    with pytest.raises(
        WaitTimeout,
        match=r"^snap: gave up after 0s waiting for the earlier VirtualMachineSnapshot ns/snap, being deleted, "
        rf"to be gone \(last seen: terminating, held by {PROTECTION}\)",
    ):
        apply_owned(
            cast("Api", server), VM_SNAPSHOT, body(VM_SNAPSHOT, "snap"), owner=OWNER, progress=lambda _m: None,
            deadline=Deadline(0.3),
        )  # fmt: skip
    assert [entry for entry in server.log if not entry.startswith("get")] == []


def test_someone_elses_terminating_object_is_still_a_conflict_and_an_edit_writes_as_before() -> None:
    server = Apiserver()
    server.put(VM_SNAPSHOT, body(VM_SNAPSHOT, "theirs", owner=OTHER), terminating_for=math.inf)
    with pytest.raises(Conflict, match="belongs to proj/other::snap"):
        apply_owned(cast("Api", server), VM_SNAPSHOT, body(VM_SNAPSHOT, "theirs"), owner=OWNER, progress=print)
    ours = server.put(VM_SNAPSHOT, body(VM_SNAPSHOT, "snap"), terminating_for=math.inf)
    edited = apply_owned(
        cast("Api", server), VM_SNAPSHOT, body(VM_SNAPSHOT, "snap"), owner=OWNER, progress=print, must_exist=True
    )
    assert edited.verb == "updated" and f"apply {ours['metadata']['uid']}" in server.log


def test_deletion_judges() -> None:
    live = body(VM_SNAPSHOT, "snap", finalizers=(PROTECTION,))
    live["metadata"]["uid"] = "u-1"
    going = {**live, "metadata": {**live["metadata"], "deletionTimestamp": "2026-11-29T23:00:00Z"}}
    assert not deleting(live) and not deleting(None) and deleting(going)
    assert deletion_note(live) == "" and deletion_note(going) == f"terminating, held by {PROTECTION}"
    assert deletion_note({"metadata": {"deletionTimestamp": "t"}}) == "terminating"
    judge = gone_by_uid("u-1")
    assert judge(going) is None
    assert judge(None) is True
    assert judge({**live, "metadata": {**live["metadata"], "uid": "u-2"}}) is True  # another one, made since
