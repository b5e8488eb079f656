"""Judges of observed KubeVirt/CDI/nmstate objects, for `waiting.wait`. Pure.

A judge looks at one observation (the object as the apiserver returned it, or
None once it is gone) and returns None to keep waiting, a value when done, or
raises OperationFailed with the controller's message (a failure ends the wait
at once). tests/unit/test_judges.py runs them on recorded objects.

A VM's failure statuses are not final in KubeVirt: virt-controller computes
status.printableStatus afresh on every sync (pkg/virt-controller/watch/vm,
setPrintableStatus) from the instance's conditions, and the controllers keep
retrying out of each of them — the scheduler retries an Unschedulable pod, the
instance syncs once a missing claim appears, the kubelet retries image pulls, a
crash-looping VM is restarted after a backoff (status.startFailure), CDI retries
an import. So `vm_ready` counts them as failures only once they persist (a grace
interval within the resource's timeout, or still there when the deadline comes);
what no retry can mend fails at once: the VM deleted under the wait, virt-api
refusing the instance virt-controller creates for it, a start that failed
`CRASH_LOOP_LIMIT` times in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import OperationFailed
from ..waiting import Deadline
from .parse import condition, phase

Obj = dict[str, Any] | None

VM_RETRIED_FAILURES = frozenset(
    {
        "CrashLoopBackOff",
        "ErrorUnschedulable",
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrorPvcNotFound",
        "ErrorDataVolumeNotFound",
        "DataVolumeError",
    }
)
"""printableStatus values that mean "not starting, and KubeVirt is retrying"."""
VM_FAILURE_GRACE = 120.0
"""Seconds a retried failure may persist (at most half the timeout) before the start counts as failed:
long enough for a pod rescheduled after a node change or a claim created a moment late, short enough
that a VM asking for more than any node has is reported well before a 10-minute timeout."""
CRASH_LOOP_LIMIT = 3
"""Consecutive failed starts (status.startFailure.consecutiveFailCount) after which a crash loop is
final: KubeVirt's next retry would come only after 90 s or more (calculateStartBackoffTime)."""
MIGRATION_FINAL = ("Succeeded", "Failed")


def status_note(obj: Obj) -> str:
    """The progress line an observation is worth: printableStatus, phase, progress."""
    status = (obj or {}).get("status") or {}
    return " ".join(str(status[k]) for k in ("printableStatus", "phase", "progress") if status.get(k))


def _messages(obj: dict[str, Any]) -> str:
    found = [
        f"{c.get('type')}: {c.get('reason', '')} {c.get('message', '')}".strip()
        for c in (obj.get("status") or {}).get("conditions") or []
        if c.get("message")
    ]
    return "; ".join(found) or "no message"


def vm_ready(
    deadline: Deadline, *, grace: float = VM_FAILURE_GRACE, clock: Callable[[], float] = time.monotonic
) -> Callable[[Obj], bool | None]:
    """A judge for a VM whose runStrategy means running: Ready, or a failure that no retry mends, or a
    retried failure status (VM_RETRIED_FAILURES) that persisted for `grace` seconds (at most half of
    the deadline's budget) or is still there when the deadline passes. A streak of failure statuses
    ends with the first observation in any other status (a retry under way)."""
    limit = min(grace, deadline.seconds / 2)
    since: list[float] = []

    def judge(obj: Obj) -> bool | None:
        if obj is None:
            raise OperationFailed("the VirtualMachine was deleted while starting")
        status = obj.get("status") or {}
        if status.get("ready") is True:
            return True
        refused = _instance_refused(obj)
        if refused is not None:
            raise OperationFailed(f"KubeVirt refused the VM's instance: {refused}")
        printable = status.get("printableStatus")
        if printable not in VM_RETRIED_FAILURES:
            since.clear()
            return None
        failed_starts = (status.get("startFailure") or {}).get("consecutiveFailCount")
        if printable == "CrashLoopBackOff" and isinstance(failed_starts, int) and failed_starts >= CRASH_LOOP_LIMIT:
            raise OperationFailed(
                f"the VM failed to start {failed_starts} times in a row (CrashLoopBackOff): {_messages(obj)}"
            )
        now = clock()
        if not since:
            since.append(now)
        held = now - since[0]
        if held >= limit or deadline.passed():
            raise OperationFailed(
                f"the VM did not start: {printable} for {held:.0f}s while KubeVirt retried "
                f"({_messages(obj)}); fix the cause, or raise the resource's customTimeouts if it clears by itself"
            )
        return None

    return judge


def _instance_refused(obj: dict[str, Any]) -> str | None:
    """virt-controller's Failure condition when the apiserver refused the VMI it creates for the VM
    (reason FailedCreate, message "Failure while starting VMI: ..."; virt-api's denial, the schema's,
    or virt-controller's own "failed create validation"): the same template is refused on every retry.
    Other FailedCreate causes (a conflict, the apiserver away) are retried and pass."""
    failure = condition(obj, "Failure")
    if failure is None or failure.get("status") != "True" or failure.get("reason") != "FailedCreate":
        return None
    message = str(failure.get("message") or "")
    final = ("denied the request", "is invalid", "failed create validation")
    return message if any(mark in message for mark in final) else None


def volumes_applied(added: frozenset[str], removed: frozenset[str]) -> Callable[[Obj], dict[str, Any] | None]:
    """virt-controller has applied the addvolume/removevolume requests to the VM (status.volumeRequests
    drained, the template holds every added volume and none of the removed): the VM it judged."""

    def judge(obj: Obj) -> dict[str, Any] | None:
        if obj is None:
            raise OperationFailed("the VirtualMachine was deleted while its volumes were hot-plugged")
        status = obj.get("status") or {}
        names = {
            v.get("name") for v in ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("volumes") or []
        }
        done = not status.get("volumeRequests") and added <= names and not removed & names
        return obj if done else None

    return judge


def vm_stopped(obj: Obj) -> bool | None:
    if obj is None:
        return True
    status = obj.get("status") or {}
    return True if status.get("printableStatus") == "Stopped" and not status.get("ready") else None


def gone(obj: Obj) -> bool | None:
    return True if obj is None else None


def gone_by_uid(uid: str) -> Callable[[Obj], bool | None]:
    """The object with `uid` is gone: nothing under its name, or another object (made since) there."""

    def judge(obj: Obj) -> bool | None:
        return True if obj is None or (obj.get("metadata") or {}).get("uid") != uid else None

    return judge


def deleting(obj: Obj) -> bool:
    """Whether the object is being deleted: its deletionTimestamp is set, its finalizers not yet done."""
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def deletion_note(obj: Obj) -> str:
    """The progress line of an object being deleted: what still holds it (its finalizers)."""
    if not deleting(obj):
        return ""
    finalizers = ((obj or {}).get("metadata") or {}).get("finalizers") or []
    return "terminating, held by " + ", ".join(map(str, finalizers)) if finalizers else "terminating"


def claim_released(data_volume: str) -> Callable[[Obj], bool | None]:
    """The PVC of a deleted DataVolume: gone, or no longer the DataVolume's (the garbage collector
    removes it after the DataVolume, and the PVC protection only once no pod mounts it)."""

    def judge(obj: Obj) -> bool | None:
        refs = _owner_refs(obj)
        return None if any(r.get("kind") == "DataVolume" and r.get("name") == data_volume for r in refs) else True

    return judge


def _owner_refs(obj: Obj) -> list[dict[str, Any]]:
    return list(((obj or {}).get("metadata") or {}).get("ownerReferences") or [])


def data_volume_done(obj: Obj) -> dict[str, Any] | None:
    """Succeeded, or CDI's failure (phase Failed, or Running=False with an error reason)."""
    if obj is None:
        raise OperationFailed("the DataVolume was deleted while importing")
    status = obj.get("status") or {}
    if status.get("phase") == "Succeeded":
        return dict(status)
    running = condition(obj, "Running")
    failed = (
        running is not None
        and running.get("status") == "False"
        and running.get("reason") not in (None, "", "Completed", "Pending", "Scheduled")
    )
    if status.get("phase") == "Failed" or failed:
        raise OperationFailed(f"the DataVolume import failed: {_messages(obj)}")
    return None


def nncp_available(obj: Obj) -> bool | None:
    if obj is None:
        raise OperationFailed("the NodeNetworkConfigurationPolicy was deleted while being applied")
    degraded = condition(obj, "Degraded")
    if degraded is not None and degraded.get("status") == "True":
        raise OperationFailed(f"nmstate could not apply the policy: {_messages(obj)}")
    available = condition(obj, "Available")
    return True if available is not None and available.get("status") == "True" else None


def nncp_policy(obj: Obj) -> Obj:
    """`nncp_available`, handing back the policy it judged (its version and generation matter next)."""
    return obj if obj is not None and nncp_available(obj) else None


def changed_since(version: object) -> Callable[[Obj], bool | None]:
    """A judge: the object changed (or went) since it was at resourceVersion `version`."""

    def judge(obj: Obj) -> bool | None:
        return True if obj is None or (obj.get("metadata") or {}).get("resourceVersion") != version else None

    return judge


def generation_observed(generation: int) -> Callable[[Obj], bool | None]:
    """virt-controller has processed `generation` of the VM (status.desiredGeneration), or the VM is gone."""

    def judge(obj: Obj) -> bool | None:
        desired = ((obj or {}).get("status") or {}).get("desiredGeneration")
        return True if obj is None or (isinstance(desired, int) and desired >= generation) else None

    return judge


def migration_final(obj: Obj) -> str | None:
    """A VMIM's final phase (Succeeded or Failed); its deletion while running is a failure."""
    if obj is None:
        raise OperationFailed("the migration object was deleted while running")
    current = phase(obj)
    return current if current in MIGRATION_FINAL else None


def migration_settled(vmim_uid: str | None) -> Callable[[Obj], bool | None]:
    """The VMI reports the abort (or the end) of the migration `vmim_uid`, or a later one, or is gone."""

    def judge(vmi: Obj) -> bool | None:
        state = ((vmi or {}).get("status") or {}).get("migrationState") or {}
        if vmi is None or state.get("abortStatus") in ("Succeeded", "Failed") or state.get("completed"):
            return True
        return True if vmim_uid is not None and state.get("migrationUid") not in (None, vmim_uid) else None

    return judge


def _one_shot(
    done: str, deleted: str, failed: Callable[[dict[str, Any]], str | None]
) -> Callable[[Obj], dict[str, Any] | None]:
    """The judge of a one-shot KubeVirt record: the object once its status says `done: true`; its
    deletion (`deleted`) or what `failed` makes of it (a message) ends the wait."""

    def judge(obj: Obj) -> dict[str, Any] | None:
        if obj is None:
            raise OperationFailed(deleted)
        if (obj.get("status") or {}).get(done) is True:
            return obj
        message = failed(obj)
        if message is not None:
            raise OperationFailed(message)
        return None

    return judge


def _snapshot_failed(obj: dict[str, Any]) -> str | None:
    status = obj.get("status") or {}
    if status.get("phase") != "Failed":
        return None
    error = (status.get("error") or {}).get("message")
    return f"the snapshot failed: {error or _messages(obj)}"


def _restore_failed(obj: dict[str, Any]) -> str | None:
    failure = condition(obj, "Failure")
    if failure is None or failure.get("status") != "True":
        return None
    return f"the restore failed: {failure.get('reason', '')} {failure.get('message', '')}".strip()


snapshot_ready = _one_shot("readyToUse", "the VirtualMachineSnapshot was deleted while being taken", _snapshot_failed)
"""A VirtualMachineSnapshot that is readyToUse; its Failed phase (or deletion) ends the wait."""

restore_complete = _one_shot("complete", "the VirtualMachineRestore was deleted while restoring", _restore_failed)
"""A VirtualMachineRestore that completed; a Failure condition (or deletion) ends the wait."""
