"""Watch: the KubeVirt source of observations for `waiting.wait`. I/O.

A Watch starts from a known version of the object: `after`, the object a write
just returned (no read), else a fresh GET. Then the changes since that version
come from the kind's shared informer in the namespace (informer.py: one list +
watch per kind and namespace for every wait of the provider process, no
request per object), newer versions only, so nothing is missed between a write
and the wait and nothing older than the write is judged. Each change is an
observation (None once the object is deleted), and so is the object as it
stands after every quiet window and at the deadline (a state that persists is
judged again: `vm_ready` fails a retried failure status that lasts).

Without an informer (a kind none serves; an object absent at the start; an
apiserver whose resourceVersions are not integers) the object itself is
watched from the version it started at, in short windows with a fresh read in
between, so a dropped watch (apiserver restart) costs one window, not the
whole deadline. The judges are in judges.py (re-exported here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ProviderError
from ..waiting import Deadline, Progress, Wait
from .client import Api, Gvr
from .informer import comparable
from .judges import (
    changed_since,
    data_volume_done,
    gone,
    nncp_available,
    nncp_policy,
    status_note,
    vm_ready,
    vm_stopped,
)

__all__ = [
    "Watch",
    "changed_since",
    "data_volume_done",
    "gone",
    "nncp_available",
    "nncp_policy",
    "vm_ready",
    "vm_stopped",
]

T = TypeVar("T")

_WINDOW = 10.0
"""Seconds of one watch before the object is read afresh (or, on an informer, judged again as it stands)."""


@dataclass(frozen=True)
class Watch:
    """One object, observed by read + watch until the deadline."""

    api: Api
    gvr: Gvr
    name: str
    namespace: str | None

    after: dict[str, Any] | None = None
    """The object as a write just returned it: the first observation, with no read before the watch."""

    def observations(self, deadline: Deadline) -> Iterator[dict[str, Any] | None]:
        first = self.after if self.after is not None else self.api.get(self.gvr, self.name, self.namespace)
        yield first
        if deadline.passed():
            return
        informer = self.api.informer(self.gvr, self.namespace) if comparable(first) else None
        if informer is None:
            yield from self._watched(first, deadline)
            return
        end = time.monotonic() + deadline.left(floor=0)
        last = first
        try:
            while True:
                window = informer.observe(self.name, after=last, deadline=min(end, time.monotonic() + _WINDOW))
                for seen in window:
                    last = seen
                    yield seen
                # The state as it stands, once more after each quiet window and at the deadline: a
                # judge that times a persisting state (vm_ready) decides on it though nothing changed.
                yield last
                if time.monotonic() >= end:
                    return
        except ProviderError as err:
            raise type(err)(err.message, resource=self.api.resource, field=err.field) from err

    def _watched(self, current: dict[str, Any] | None, deadline: Deadline) -> Iterator[dict[str, Any] | None]:
        """The object's own watch from `current`'s version, window by window, read afresh in between."""
        while True:
            version = ((current or {}).get("metadata") or {}).get("resourceVersion")
            window = min(_WINDOW, deadline.left())
            for event, obj in self.api.watch(
                self.gvr, self.name, self.namespace, timeout=window, resource_version=version
            ):
                yield None if event == "DELETED" else obj
            if deadline.passed():
                return
            current = self.api.get(self.gvr, self.name, self.namespace)
            yield current
            if deadline.passed():
                return

    def until(
        self,
        judge: Callable[[dict[str, Any] | None], T | None],
        what: str,
        deadline: Deadline,
        progress: Progress,
    ) -> Wait[dict[str, Any] | None, T]:
        """The wait for `judge` to decide on this object, reporting its status as progress."""
        return Wait(
            what,
            self,
            judge,
            deadline,
            resource=self.api.resource,
            progress=progress,
            note=status_note,
            slow="the cluster is slow",
        )
