"""Watch: the KubeVirt source of observations for `waiting.wait`. I/O.

A Watch reads the object, then watches it from the resourceVersion it read, so
nothing is missed between a write and the wait; watches are cut into short
windows with a fresh read in between, so a dropped watch (apiserver restart)
costs one window, not the whole deadline. Each event is an observation (None
once the object is deleted). The judges are in judges.py (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..waiting import Deadline, Progress, Wait
from .client import Api, Gvr
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
"""Seconds of one watch before the object is read afresh."""


@dataclass(frozen=True)
class Watch:
    """One object, observed by read + watch until the deadline."""

    api: Api
    gvr: Gvr
    name: str
    namespace: str | None

    def observations(self, deadline: Deadline) -> Iterator[dict[str, Any] | None]:
        while True:
            current = self.api.get(self.gvr, self.name, self.namespace)
            yield current
            if deadline.passed():
                return
            version = ((current or {}).get("metadata") or {}).get("resourceVersion")
            window = min(_WINDOW, deadline.left())
            for event, obj in self.api.watch(
                self.gvr, self.name, self.namespace, timeout=window, resource_version=version
            ):
                yield None if event == "DELETED" else obj

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
