"""The provider's one way to wait, and progress reporting.

A wait is a spec (`Wait`): where observations come from (a `Source`: `Poll`
calls a probe with backoff; kubevirt/watching.py's `Watch` reads an object and
then watches it), the judge that decides on each observation (None: keep
waiting; a value: done; an exception: failed at once), the deadline (the
resource's customTimeouts), and what to report as progress. `wait` is the
only loop: it feeds observations to the judge until a verdict or the deadline,
then raises WaitTimeout naming what was awaited and the last state seen.
Sources never sleep past the deadline, so no wait outlives its resource's
timeouts. Judges are pure (kubevirt/judges.py; unit-tested on recorded objects).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from .errors import ProviderError, WaitTimeout

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)
T = TypeVar("T")


class Progress(Protocol):
    def __call__(self, message: str) -> None: ...


def stderr_progress(resource: str) -> Progress:
    """Progress lines on stderr, which the Pulumi engine keeps in its logs."""

    def report(message: str) -> None:
        print(f"[pulumi-kubevirt] {resource}: {message}", file=sys.stderr, flush=True)

    return report


class Deadline:
    """One time budget shared by the steps of an operation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self, floor: float = 1.0) -> float:
        return max(floor, self._end - time.monotonic())

    def passed(self) -> bool:
        return self._end - time.monotonic() <= 0


class Source(Protocol[S_co]):
    """Where a wait's observations come from; it ends (or blocks no longer) once `deadline` passes."""

    def observations(self, deadline: Deadline) -> Iterator[S_co]: ...


@dataclass(frozen=True)
class Poll(Generic[S]):
    """Observations by calling `probe`, with exponential backoff (`initial` doubling up to `maximum`
    seconds) between calls; `pause` sleeps (or waits on an event that ends the pause early)."""

    probe: Callable[[], S]
    initial: float = 0.2
    maximum: float = 2.0
    pause: Callable[[float], object] = time.sleep

    def observations(self, deadline: Deadline) -> Iterator[S]:
        delay = self.initial
        while True:
            yield self.probe()
            left = deadline.left(floor=0)
            if left <= 0:
                return
            self.pause(min(delay, left))
            delay = min(delay * 2, self.maximum)


def _no_note(_observation: object) -> str:
    return ""


@dataclass(frozen=True)
class Wait(Generic[S, T]):
    """What to wait for: `what` (for messages), the source, the judge, the deadline, progress."""

    what: str
    source: Source[S]
    judge: Callable[[S], T | None]
    deadline: Deadline
    resource: str
    progress: Progress | None = None
    note: Callable[[S], str] = _no_note
    """The progress line an observation is worth ("" for none); reported when it changes."""
    slow: str = "it is slow"
    """Completes the timeout's advice: "raise the resource's customTimeouts if <slow>"."""

    def noting(self, note: Callable[[S], str]) -> Wait[S, T]:
        return replace(self, note=note)


def wait(spec: Wait[S, T]) -> T:
    """The judge's first verdict on the spec's observations, within its deadline."""
    last = ""
    observations = spec.source.observations(spec.deadline)
    try:
        for observation in observations:
            try:
                verdict = spec.judge(observation)
            except ProviderError as err:
                if err.resource is not None:
                    raise
                raise type(err)(err.message, resource=spec.resource, field=err.field) from err
            if verdict is not None:
                return verdict
            note = spec.note(observation)
            if note and note != last:
                if spec.progress is not None:
                    spec.progress(note)
                last = note
            if spec.deadline.passed():
                break
    finally:
        close = getattr(observations, "close", None)
        if close is not None:
            close()
    seen = f" (last seen: {last})" if last else ""
    raise WaitTimeout(
        f"gave up after {spec.deadline.seconds:.0f}s waiting for {spec.what}{seen}; "
        f"raise the resource's customTimeouts if {spec.slow}",
        resource=spec.resource,
    )
