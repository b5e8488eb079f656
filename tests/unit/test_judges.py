"""The wait judges on recorded KubeVirt/CDI/nmstate objects (shapes as the apiserver returns them), and
the one wait loop (`waiting.wait`) on a recorded sequence of observations. No services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_kubevirt.provider.errors import OperationFailed, WaitTimeout
from pulumi_kubevirt.provider.kubevirt import judges
from pulumi_kubevirt.provider.waiting import Deadline, Poll, Wait, wait

RECORDED: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "recorded" / "judges.json").read_text())


def obj(name: str) -> dict[str, Any]:
    return json.loads(json.dumps(RECORDED[name]))


def test_vm_ready_waits_while_starting_and_ends_on_ready_or_a_failure_status() -> None:
    assert judges.vm_ready(obj("vm_starting")) is None
    assert judges.vm_ready(obj("vm_running")) is True
    with pytest.raises(OperationFailed, match=r"ErrorUnschedulable.*Insufficient memory"):
        judges.vm_ready(obj("vm_unschedulable"))
    with pytest.raises(OperationFailed, match="deleted while starting"):
        judges.vm_ready(None)


def test_vm_stopped_needs_stopped_and_not_ready() -> None:
    assert judges.vm_stopped(obj("vm_running")) is None
    assert judges.vm_stopped(obj("vm_stopping")) is None
    assert judges.vm_stopped(obj("vm_stopped")) is True
    assert judges.vm_stopped(None) is True


def test_gone() -> None:
    assert judges.gone(obj("vm_stopped")) is None
    assert judges.gone(None) is True


def test_claim_released_waits_while_the_data_volume_still_owns_its_claim() -> None:
    judge = judges.claim_released("web-root")
    ref = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "name": "web-root", "uid": "u1"}
    deleting = {"metadata": {"name": "web-root", "deletionTimestamp": "2026-01-01T00:00:00Z", "ownerReferences": [ref]}}
    assert judge(deleting) is None  # the garbage collector and the PVC protection have not finished
    assert judge(None) is True
    assert judge({"metadata": {"name": "web-root"}}) is True  # someone else's claim now: not ours to wait for
    assert judge({"metadata": {"name": "web-root", "ownerReferences": [{**ref, "name": "other"}]}}) is True


def test_data_volume_done_returns_the_status_and_fails_on_cdi_errors_only() -> None:
    assert judges.data_volume_done(obj("dv_importing")) is None
    assert judges.data_volume_done(obj("dv_pending")) is None  # Running=False, reason Pending: not a failure
    done = judges.data_volume_done(obj("dv_succeeded"))
    assert done is not None and done["claimName"] == "root" and done["phase"] == "Succeeded"
    with pytest.raises(OperationFailed, match="got 404"):
        judges.data_volume_done(obj("dv_import_error"))
    failed = obj("dv_pending")
    failed["status"]["phase"] = "Failed"
    with pytest.raises(OperationFailed, match="import failed"):
        judges.data_volume_done(failed)
    with pytest.raises(OperationFailed, match="deleted while importing"):
        judges.data_volume_done(None)


def test_nncp_available() -> None:
    assert judges.nncp_available(obj("nncp_progressing")) is None
    assert judges.nncp_available(obj("nncp_available")) is True
    with pytest.raises(OperationFailed, match="1/1 nodes failed to configure"):
        judges.nncp_available(obj("nncp_degraded"))
    with pytest.raises(OperationFailed):
        judges.nncp_available(None)


def test_generation_observed() -> None:
    seen = judges.generation_observed(2)
    assert seen(obj("vm_starting")) is None  # desiredGeneration 1
    assert seen(obj("vm_running")) is True
    assert seen(None) is True
    assert judges.generation_observed(3)(obj("vm_running")) is None


def test_migration_judges() -> None:
    assert judges.migration_final(obj("vmim_running")) is None
    assert judges.migration_final(obj("vmim_succeeded")) == "Succeeded"
    assert judges.migration_final(obj("vmim_failed")) == "Failed"
    with pytest.raises(OperationFailed, match="deleted while running"):
        judges.migration_final(None)
    settled = judges.migration_settled("u-1")
    assert settled(obj("vmi_migrating")) is None
    assert settled(obj("vmi_aborted")) is True
    assert settled(obj("vmi_next_migration")) is True
    assert settled(None) is True
    assert judges.migration_settled(None)(obj("vmi_next_migration")) is None


def test_status_note() -> None:
    assert judges.status_note(obj("dv_importing")) == "ImportInProgress 42.50%"
    assert judges.status_note(obj("vm_running")) == "Running"
    assert judges.status_note(None) == ""


class Recorded:
    """A source that replays recorded observations (what a watch delivered), then ends."""

    def __init__(self, names: list[str | None]) -> None:
        self.names = names

    def observations(self, deadline: Deadline) -> Iterator[dict[str, Any] | None]:
        for name in self.names:
            yield None if name is None else obj(name)


def test_wait_feeds_the_judge_reports_progress_once_per_change_and_returns_its_verdict() -> None:
    lines: list[str] = []
    source = Recorded(["dv_pending", "dv_importing", "dv_importing", "dv_succeeded"])
    spec = Wait(
        "the DataVolume to succeed", source, judges.data_volume_done, Deadline(5), resource="d", progress=lines.append
    )
    spec = spec.noting(judges.status_note)
    assert wait(spec)["phase"] == "Succeeded"
    assert lines == ["Pending", "ImportInProgress 42.50%"]


def test_wait_gives_up_naming_what_and_the_last_state_and_a_judge_failure_names_the_resource() -> None:
    spec = Wait("the VM to stop", Recorded(["vm_running"]), judges.vm_stopped, Deadline(0), resource="web")
    with pytest.raises(WaitTimeout, match=r"^web: gave up after 0s waiting for the VM to stop \(last seen: Running\)"):
        wait(spec.noting(judges.status_note))
    deleted = Wait("the migration to finish", Recorded([None]), judges.migration_final, Deadline(5), resource="move")
    with pytest.raises(OperationFailed, match=r"^move: the migration object was deleted"):
        wait(deleted)


def test_poll_backs_off_within_the_deadline() -> None:
    pauses: list[float] = []
    values = iter([None, None, None, 7])
    spec = Wait(
        "a value",
        Poll(lambda: next(values), initial=0.1, maximum=0.3, pause=pauses.append),
        lambda v: v,
        Deadline(60),
        resource="r",
    )
    assert wait(spec) == 7
    assert pauses == [0.1, 0.2, 0.3]
