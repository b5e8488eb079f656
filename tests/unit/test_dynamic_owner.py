"""The dynamic adapter hands every reconciler call the owner marker, and keeps the creating owner
in state across updates (objects stay marked with it; a renamed stack must still delete them)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pulumi_kubevirt.provider.core import Call
from pulumi_kubevirt.provider.errors import InvalidSpec
from pulumi_kubevirt.provider.kinds import DISK
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.resources._dynamic import DynamicAdapter


class Recorder:
    """A reconciler that records the owner of each call and returns fixed outputs."""

    def __init__(self) -> None:
        self.owners: list[tuple[str, Owner]] = []

    def create(self, call: Call[Any]) -> dict[str, Any]:
        self.owners.append(("create", call.owner))
        return {"capacity": 1 << 20}

    def update(self, call: Call[Any], old: Any, plan: Any) -> Any:
        self.owners.append(("update", call.owner))
        return {"capacity": 2 << 20}

    def delete(self, call: Call[Any]) -> None:
        self.owners.append(("delete", call.owner))


@pytest.fixture
def adapter() -> tuple[DynamicAdapter, Recorder]:
    recorder = Recorder()

    class Adapter(DynamicAdapter):
        kind = dataclasses.replace(DISK, reconciler=lambda _backends, _target: recorder)

    return Adapter(), recorder


def test_owner_reaches_every_call_and_survives_a_stack_rename(adapter: tuple[DynamicAdapter, Recorder]) -> None:
    provider, recorder = adapter
    first = "proj/prod::data"
    checked = provider.check({}, {"name": "d1", "size": "1Mi", OWNER: first}).inputs
    assert checked[OWNER] == first
    state = dict(provider.create(checked).outs)
    assert state[OWNER] == first

    renamed = provider.check(state, {"name": "d1", "size": "2Mi", OWNER: "proj/production::data"}).inputs
    state = dict(provider.update("id", state, renamed).outs)
    assert state[OWNER] == first  # what the objects carry
    provider.delete("id", state)
    assert [(op, str(owner)) for op, owner in recorder.owners] == [
        ("create", first),
        ("update", first),
        ("delete", first),
    ]


def test_a_call_without_owner_is_refused(adapter: tuple[DynamicAdapter, Recorder]) -> None:
    provider, recorder = adapter
    with pytest.raises(InvalidSpec, match="no owner marker"):
        provider.create({"name": "d1", "size": "1Mi"})
    assert recorder.owners == []
