"""Pulumi's mocks for tests: no engine, and the one way tests install them.

`RecordingMocks` echoes each resource's inputs as its outputs (plus whatever `extra`
adds) and records every registration, so a test can assert what a program, a
resource class or a component handed the engine. `use` installs any mocks (these,
or support/provider_engine's, which make resources for real); `plain` and
`is_secret` read the inputs the mock monitor hands over (secrets still wrapped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

Extra = Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, extra: Extra | None = None) -> None:
        self.created: list[tuple[str, str, dict[str, Any]]] = []
        self._extra = extra

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Inputs by resource name (the last registration of a name wins)."""
        return {name: inputs for _typ, name, inputs in self.created}

    @property
    def tokens(self) -> dict[str, str]:
        """Type tokens by resource name."""
        return {name: typ for typ, name, _inputs in self.created}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.created.append((args.typ, args.name, dict(args.inputs)))
        outs = dict(args.inputs)
        if self._extra is not None:
            outs.update(self._extra(args))
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def use(
    mocks: pulumi.runtime.Mocks,
    *,
    preview: bool,
    monitor: MockMonitor | None = None,
    project: str = "project",
    stack: str = "stack",
) -> None:
    """Install `mocks` as the Pulumi runtime's engine (through `monitor`, when a test records more)."""
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)


def install(*, preview: bool, extra: Extra | None = None) -> RecordingMocks:
    """New RecordingMocks, installed as the Pulumi runtime's mocks."""
    mocks = RecordingMocks(extra)
    use(mocks, preview=preview)
    return mocks


def is_secret(value: Any) -> bool:
    """Whether an input the mock monitor handed over is a (wrapped) secret."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def plain(value: Any) -> Any:
    """Inputs without Pulumi's secret wrappers: what the dynamic provider host hands a provider."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
