"""Pulumi's mocks for unit tests: no engine, no backend.

`RecordingMocks` echoes each resource's inputs as its outputs (plus whatever `extra`
adds) and records every registration, so a test can assert what a program, a
resource class or a component handed the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

Extra = Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, extra: Extra | None = None) -> None:
        self.created: list[tuple[str, str, dict[str, Any]]] = []
        self._extra = extra

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Inputs by resource name (the last registration of a name wins)."""
        return {name: inputs for _typ, name, inputs in self.created}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.created.append((args.typ, args.name, dict(args.inputs)))
        outs = dict(args.inputs)
        if self._extra is not None:
            outs.update(self._extra(args))
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def install(*, preview: bool, extra: Extra | None = None) -> RecordingMocks:
    """New RecordingMocks, installed as the Pulumi runtime's mocks."""
    mocks = RecordingMocks(extra)
    pulumi.runtime.set_mocks(mocks, preview=preview)
    return mocks
