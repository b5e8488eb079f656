"""A blocking libvirt call (a migration, a snapshot with the guest's memory, a revert) bounded by a deadline.

I/O. libvirt's call blocks until the job ends and takes no timeout, so it runs on
a worker thread while the caller's thread waits for it (`waiting.wait`: progress,
the resource's deadline); past the deadline the domain's job is aborted
(`abortJob`: libvirt answers the blocked call then) and WaitTimeout says what ran out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from ..errors import WaitTimeout
from ..waiting import Deadline, Poll, Progress, Wait, wait
from .connection import translate

T = TypeVar("T")

POLL = 0.5
"""Seconds between two looks at a running job (the wait ends at once when the call returns)."""

ABORT_GRACE = 30.0
"""Seconds an aborted call gets to return (libvirt answers it once the abort lands)."""


def bounded_job(
    dom: Any,
    work: Callable[[], T],
    *,
    deadline: Deadline,
    resource: str,
    what: str,
    timed_out: str,
    progress: Progress | None = None,
    observe: Callable[[], str] | None = None,
) -> T:
    """`work()` (a blocking libvirt call on `dom`) on a worker thread, waited for until `deadline`, what
    `observe` says of the running job reported as progress (when it changes). Past the deadline the
    domain's job is aborted (one that is not running any more is fine), the call gets `ABORT_GRACE` to
    return, and WaitTimeout(`timed_out`) is raised; an abort libvirt refuses otherwise is an error about
    aborting `what`. The call's own libvirt error is raised as it is (the caller translates it)."""
    done = threading.Event()
    result: list[T] = []
    failure: list[libvirt.libvirtError] = []

    def run() -> None:
        try:
            result.append(work())
        except libvirt.libvirtError as err:
            failure.append(err)
        finally:
            done.set()

    def look() -> tuple[bool, str]:
        finished = done.is_set()
        return finished, "" if finished or observe is None else observe()

    worker = threading.Thread(target=run, name=f"job-{resource}", daemon=True)
    worker.start()
    job = Wait(
        f"{what} to finish",
        # `done.wait` as the pause: the wait ends as soon as the worker does.
        Poll(look, initial=POLL, maximum=POLL, pause=done.wait),
        lambda seen: True if seen[0] else None,
        deadline,
        resource=resource,
        progress=progress,
        note=lambda seen: seen[1],
    )
    try:
        wait(job)
    except WaitTimeout as err:
        try:
            dom.abortJob()
        except libvirt.libvirtError as abort_err:
            if abort_err.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise translate(abort_err, resource=resource, doing=f"aborting {what}") from abort_err
        done.wait(ABORT_GRACE)
        raise WaitTimeout(timed_out, resource=resource) from err
    worker.join(ABORT_GRACE)  # it has returned (`done` is set): only its thread is ending
    if failure:
        raise failure[0]
    return result[0]
