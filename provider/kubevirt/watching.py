"""Bounded waits on KubeVirt/CDI/nmstate objects, by watch.

`wait_until` re-opens the watch until the deadline (a watch may end early on
the server's timeout); the first event of each watch is the current state, so
nothing is missed between a write and the wait. The judges are pure
functions: each returns None to keep waiting, a value when done, or raises
OperationFailed with the controller's message (a failure ends the wait at once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import OperationFailed, WaitTimeout
from ..waiting import Deadline, Progress
from .client import Api, Gvr
from .parse import condition

T = TypeVar("T")

_WINDOW = 10.0
"""Seconds of one watch before the object is read afresh."""

VM_FAILURES = frozenset(
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


def wait_until(
    api: Api,
    gvr: Gvr,
    name: str,
    namespace: str | None,
    judge: Callable[[dict[str, Any] | None], T | None],
    *,
    deadline: Deadline,
    what: str,
    progress: Progress,
) -> T:
    """Watch one object until `judge` returns a value; `judge(None)` once it is gone.

    Each watch resumes from the resourceVersion last seen, so a change between
    the read and the watch is not missed; watches are cut into short windows
    with a fresh read in between, so a dropped watch (apiserver restart) costs
    one window, not the whole deadline.
    """
    last = ""
    while True:
        current = api.get(gvr, name, namespace)
        verdict = judge(current)
        if verdict is not None:
            return verdict
        if deadline.left(floor=0) <= 0:
            break
        version = ((current or {}).get("metadata") or {}).get("resourceVersion")
        window = min(_WINDOW, deadline.left())
        for event, obj in api.watch(gvr, name, namespace, timeout=window, resource_version=version):
            verdict = judge(None if event == "DELETED" else obj)
            if verdict is not None:
                return verdict
            note = _progress_note(obj)
            if note and note != last:
                progress(note)
                last = note
    raise WaitTimeout(
        f"gave up waiting for {what} (last seen: {last or 'no status'}); raise the resource's customTimeouts "
        "if the cluster is slow",
        resource=api.resource,
    )


def _progress_note(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    parts = [str(status[k]) for k in ("printableStatus", "phase", "progress") if status.get(k)]
    return " ".join(parts)


def _messages(obj: dict[str, Any]) -> str:
    found = [
        f"{c.get('type')}: {c.get('reason', '')} {c.get('message', '')}".strip()
        for c in (obj.get("status") or {}).get("conditions") or []
        if c.get("message")
    ]
    return "; ".join(found) or "no message"


def vm_ready(obj: dict[str, Any] | None) -> bool | None:
    """A VM whose runStrategy means running: Ready, or a failure status."""
    if obj is None:
        raise OperationFailed("the VirtualMachine was deleted while starting")
    status = obj.get("status") or {}
    printable = status.get("printableStatus")
    if printable in VM_FAILURES:
        raise OperationFailed(f"the VM failed to start ({printable}): {_messages(obj)}")
    if status.get("ready") is True:
        return True
    return None


def vm_stopped(obj: dict[str, Any] | None) -> bool | None:
    if obj is None:
        return True
    status = obj.get("status") or {}
    return True if status.get("printableStatus") == "Stopped" and not status.get("ready") else None


def gone(obj: dict[str, Any] | None) -> bool | None:
    return True if obj is None else None


def data_volume_done(obj: dict[str, Any] | None) -> dict[str, Any] | None:
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
        and running.get("reason")
        not in (
            None,
            "",
            "Completed",
            "Pending",
            "Scheduled",
        )
    )
    if status.get("phase") == "Failed" or failed:
        raise OperationFailed(f"the DataVolume import failed: {_messages(obj)}")
    return None


def nncp_available(obj: dict[str, Any] | None) -> bool | None:
    if obj is None:
        raise OperationFailed("the NodeNetworkConfigurationPolicy was deleted while being applied")
    degraded = condition(obj, "Degraded")
    if degraded is not None and degraded.get("status") == "True":
        raise OperationFailed(f"nmstate could not apply the policy: {_messages(obj)}")
    available = condition(obj, "Available")
    return True if available is not None and available.get("status") == "True" else None


def nncp_policy(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """`nncp_available`, handing back the policy it judged (its version and generation matter next)."""
    return obj if obj is not None and nncp_available(obj) else None


def changed_since(version: object) -> Callable[[dict[str, Any] | None], bool | None]:
    """A judge: the object changed (or went) since it was at resourceVersion `version`."""

    def judge(obj: dict[str, Any] | None) -> bool | None:
        return True if obj is None or (obj.get("metadata") or {}).get("resourceVersion") != version else None

    return judge
