"""owned.py on a cached first look (`Api.peek`, possibly stale), with a scripted Api, no cluster.

A stale look may cost one more round, never a wrong write or a wrong refusal:
a create refuses to overwrite and an apply is bound to the UID, and a Conflict
or NotFound is only ever raised on a fresh read. A fresh create costs one write
and no GET.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from pulumi_kubevirt.provider.errors import Conflict, NotFound
from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.kubevirt.client import VM, Api, Gvr
from pulumi_kubevirt.provider.kubevirt.owned import apply_owned, refuse_foreign
from pulumi_kubevirt.provider.ownership import Owner

OWNER = Owner("proj/stack", "web")
OTHER = Owner("proj/other", "web")


def vm(owner: Owner | None, uid: str = "u-1") -> dict[str, Any]:
    annotations = {render.OWNER_STACK: owner.stack, render.OWNER_RESOURCE: owner.resource} if owner else {}
    return {"metadata": {"name": "web", "namespace": "ns", "uid": uid, "annotations": annotations}}


BODY = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "web", "namespace": "ns"}}


class ScriptedApi:
    """`peek` answers from the (stale) cache, `get` from the live cluster; every call is recorded."""

    resource = "web"

    def __init__(self, cached: dict[str, Any] | None, live: dict[str, Any] | None) -> None:
        self.cached = cached
        self.live = live
        self.calls: list[str] = []

    def peek(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        self.calls.append("peek")
        return self.cached

    def get(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        self.calls.append("get")
        return self.live

    def create(self, gvr: Gvr, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create")
        if self.live is not None:
            raise Conflict("exists", resource=self.resource)
        self.live = {**body, "metadata": {**body["metadata"], "uid": "new"}}
        return self.live

    def apply(self, gvr: Gvr, body: dict[str, Any], *, uid: str) -> dict[str, Any]:
        self.calls.append(f"apply {uid}")
        assert self.live is not None and self.live["metadata"]["uid"] == uid
        return self.live

    def own_fields(self, gvr: Gvr, obj: dict[str, Any]) -> bool:
        return False


def run(api: ScriptedApi, **kwargs: Any) -> str:
    written = apply_owned(cast("Api", api), VM, BODY, owner=OWNER, progress=lambda _m: None, **kwargs)
    return written.verb


def test_a_fresh_create_is_one_write_and_no_get() -> None:
    api = ScriptedApi(cached=None, live=None)
    assert run(api) == "created"
    assert api.calls == ["peek", "create"]


def test_a_stale_absent_look_is_corrected_by_the_create_refusing_to_overwrite() -> None:
    api = ScriptedApi(cached=None, live=vm(OWNER))
    assert run(api) == "updated"
    assert api.calls == ["peek", "create", "get", "apply u-1"]


def test_a_stale_foreign_look_never_refuses() -> None:
    api = ScriptedApi(cached=vm(OTHER), live=vm(OWNER, uid="u-2"))  # since taken back by us, say
    assert run(api) == "updated"
    assert api.calls == ["peek", "get", "apply u-2"]
    api = ScriptedApi(cached=vm(OTHER), live=vm(OWNER))
    refuse_foreign(cast("Api", api), [(VM, BODY)], owner=OWNER)
    assert api.calls == ["peek", "get"]


def test_a_refusal_is_made_on_a_fresh_read_and_writes_nothing() -> None:
    api = ScriptedApi(cached=vm(OTHER), live=vm(OTHER))
    with pytest.raises(Conflict, match="already exists and it belongs to proj/other::web"):
        run(api)
    assert api.calls == ["peek", "get"]
    with pytest.raises(Conflict):
        refuse_foreign(cast("Api", api), [(VM, BODY)], owner=OWNER)


def test_must_exist_is_judged_on_a_fresh_read() -> None:
    api = ScriptedApi(cached=None, live=vm(OWNER))  # the cache has not seen it yet
    assert run(api, must_exist=True) == "updated"
    assert api.calls == ["peek", "get", "apply u-1"]
    api = ScriptedApi(cached=None, live=None)
    with pytest.raises(NotFound, match="is gone"):
        run(api, must_exist=True)
    assert api.calls == ["peek", "get"]
