"""The wait judges on recorded KubeVirt/CDI/nmstate objects (shapes as the apiserver returns them), and
the one wait loop (`waiting.wait`) on a recorded sequence of observations. No services."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from pulumi_kubevirt.provider.errors import OperationFailed, WaitTimeout
from pulumi_kubevirt.provider.kubevirt import judges, watching
from pulumi_kubevirt.provider.kubevirt.client import VM
from pulumi_kubevirt.provider.kubevirt.informer import Informer
from pulumi_kubevirt.provider.kubevirt.watching import Watch
from pulumi_kubevirt.provider.waiting import Deadline, Poll, Wait, wait

from .test_informer import Scripted
from .test_informer import obj as scripted_obj

RECORDED: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "recorded" / "judges.json").read_text())


def obj(name: str) -> dict[str, Any]:
    return json.loads(json.dumps(RECORDED[name]))


class Clock:
    """A hand-moved monotonic clock for the judges that time a persisting state."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_vm_ready_waits_while_starting_and_ends_on_ready() -> None:
    judge = judges.vm_ready(Deadline(600))
    assert judge(obj("vm_starting")) is None
    assert judge(obj("vm_running")) is True
    with pytest.raises(OperationFailed, match="deleted while starting"):
        judge(None)


@pytest.mark.parametrize("recorded", ["vm_unschedulable", "vm_pvc_not_found", "vm_crash_loop"])
def test_vm_ready_rides_out_a_failure_status_kubevirt_retries(recorded: str) -> None:
    """virt-controller recomputes printableStatus on every sync and the controllers retry out of these
    (a recreated VM briefly reports them on a real cluster): not a failure while they come and go."""
    clock = Clock()
    judge = judges.vm_ready(Deadline(600), clock=clock)
    assert judge(obj(recorded)) is None
    clock.now += judges.VM_FAILURE_GRACE - 1
    assert judge(obj(recorded)) is None
    assert judge(obj("vm_starting")) is None  # a retry under way: the streak ends
    clock.now += 30
    assert judge(obj(recorded)) is None
    clock.now += judges.VM_FAILURE_GRACE - 1
    assert judge(obj("vm_running")) is True


def test_vm_ready_fails_on_a_failure_status_that_persists_for_the_grace_with_kubevirts_message() -> None:
    clock = Clock()
    judge = judges.vm_ready(Deadline(600), clock=clock)
    assert judge(obj("vm_unschedulable")) is None
    clock.now += 60
    assert judge(obj("vm_pvc_not_found")) is None  # another retried failure: the same streak
    clock.now += judges.VM_FAILURE_GRACE - 60
    with pytest.raises(OperationFailed, match=r"ErrorPvcNotFound for 120s.*PVC demo/web-data does not exist"):
        judge(obj("vm_pvc_not_found"))


def test_vm_ready_grace_is_at_most_half_the_timeout_and_a_failure_at_the_deadline_is_reported_as_such() -> None:
    clock = Clock()
    short = judges.vm_ready(Deadline(30), clock=clock)
    assert short(obj("vm_unschedulable")) is None
    clock.now += 15
    with pytest.raises(OperationFailed, match=r"ErrorUnschedulable for 15s.*Insufficient memory"):
        short(obj("vm_unschedulable"))
    at_deadline = judges.vm_ready(Deadline(0), clock=Clock())
    with pytest.raises(OperationFailed, match=r"ErrorUnschedulable for 0s.*customTimeouts"):
        at_deadline(obj("vm_unschedulable"))
    assert judges.vm_ready(Deadline(0))(obj("vm_starting")) is None  # not a failure: wait() times out


def test_vm_ready_fails_at_once_on_what_no_retry_mends() -> None:
    judge = judges.vm_ready(Deadline(600), clock=Clock())
    with pytest.raises(OperationFailed, match=r"failed to start 3 times in a row \(CrashLoopBackOff\)"):
        judge(obj("vm_crash_loop_third"))
    with pytest.raises(OperationFailed, match=r"refused the VM's instance: .*denied the request: spec.domain"):
        judge(obj("vm_instance_refused"))
    assert judge(obj("vm_instance_conflict")) is None  # virt-controller retries a conflict


def test_vm_ready_in_the_wait_loop_reports_kubevirts_failure_not_a_timeout() -> None:
    deadline = Deadline(0)  # the last observation a Watch makes is the read once the deadline passed
    spec = Wait(
        "the VM to be Ready", Recorded(["vm_unschedulable"]), judges.vm_ready(deadline), deadline, resource="web"
    )
    with pytest.raises(OperationFailed, match=r"^web: the VM did not start: ErrorUnschedulable"):
        wait(spec)


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


class _InformerApi:
    """What a Watch asks of its Api on the informer path: the informer, and the resource for messages."""

    resource = "web"

    def __init__(self, informer: Informer) -> None:
        self._informer = informer

    def informer(self, gvr: object, namespace: str | None) -> Informer:
        return self._informer


def test_a_watch_presents_a_state_that_persists_again_each_quiet_window_and_the_judge_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing changes on the object (an unschedulable VM stays so): the Watch still hands the state to
    the judge after every quiet window and at the deadline, so a judge timing it (vm_ready) can decide."""
    stuck = scripted_obj("web", 3, printableStatus="ErrorUnschedulable")
    script = Scripted(([stuck], "3"))
    monkeypatch.setattr(watching, "_WINDOW", 0.2)
    watch = Watch(cast(Any, _InformerApi(script.informer())), VM, "web", "ns", after=stuck)
    seen = list(watch.observations(Deadline(0.5)))
    assert 3 <= len(seen) <= 5 and all(s == stuck for s in seen)
    deadline = Deadline(5)
    began = time.monotonic()
    with pytest.raises(OperationFailed, match=r"^web: the VM did not start: ErrorUnschedulable for \d+s"):
        wait(watch.until(judges.vm_ready(deadline, grace=0.3), "the VM to be Ready", deadline, lambda _m: None))
    assert time.monotonic() - began < 2.0
