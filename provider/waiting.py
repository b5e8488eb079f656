"""Bounded waits with backoff, and progress reporting.

Every wait in the provider goes through `wait_for`: it polls a probe with
exponential backoff (tenacity) until the probe returns a value or the deadline
passes, then raises WaitTimeout naming what was awaited. Kubernetes waits use
watches (kubevirt/watching.py); this is the libvirt side.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from .errors import WaitTimeout

T = TypeVar("T")


class Progress(Protocol):
    def __call__(self, message: str) -> None: ...


def stderr_progress(resource: str) -> Progress:
    """Progress lines on stderr, which the Pulumi engine keeps in its logs."""

    def report(message: str) -> None:
        print(f"[pulumi-kubevirt] {resource}: {message}", file=sys.stderr, flush=True)

    return report


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    resource: str,
    initial: float = 0.2,
    maximum: float = 2.0,
) -> T:
    """The first non-None result of `probe`, polled with backoff, within `timeout` seconds."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=initial, min=initial, max=maximum),
        retry=retry_if_result(lambda value: value is None),
    )
    try:
        result = retrying(probe)
    except RetryError as err:
        raise WaitTimeout(
            f"gave up after {timeout:.0f}s waiting for {what}; raise the resource's customTimeouts if it is slow",
            resource=resource,
        ) from err
    assert result is not None  # retry_if_result guarantees it
    return result


class Deadline:
    """One time budget shared by the steps of an operation."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self, floor: float = 1.0) -> float:
        return max(floor, self._end - time.monotonic())
