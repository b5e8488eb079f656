"""Run a Pulumi program in-process, its dynamic resources made for real by their providers.

Role: the libvirt and kube tiers test components (ComponentResources) end to end
without the Pulumi CLI. Pulumi's mock monitor runs the program — the SDK resolves
every Output and depends_on before it registers a resource, as under the real
engine — and `ProviderEngine.new_resource` hands each dynamic resource to its own
provider (unpickled from the `__provider` input, as the dynamic-provider host does):
check, then create, or on a later run of the same engine diff + update against
the previous outputs. Other resource types (pulumi-kubernetes objects) go to the
handlers the test gives. `destroy()` deletes everything newest first.

Each run records `Event`s (operation, resource, start, end) so a test can assert
ordering, e.g. a rolling update's one-at-a-time.

Not an engine: no preview, no replacement, no state file; a resource dropped from
the program is deleted only by `destroy()` or `delete_missing()`.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi

from pulumi_kubevirt.provider.errors import ProviderError
from tests.support.pulumi_mocks import plain, use

Handler = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]
"""(name, inputs) -> (id, outputs) for a non-dynamic resource type."""
Deleter = Callable[[str, str, dict[str, Any]], None]
"""(name, id, outputs) -> None."""


@dataclass
class Made:
    """A resource the engine made: enough to update or delete it."""

    typ: str
    name: str
    id: str
    outs: dict[str, Any]
    provider: Any = None


@dataclass
class Event:
    op: str  # create | update | same
    name: str
    start: float
    end: float


@dataclass
class ProviderEngine(pulumi.runtime.Mocks):
    """Mocks that create/update through the real providers (see the module docstring)."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    deleters: dict[str, Deleter] = field(default_factory=dict)
    project: str = "pkv-tests"
    stack: str = "components"
    made: dict[tuple[str, str], Made] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, program: Callable[[], Any]) -> Any:
        """Run `program` (which declares resources and may return Outputs); return what it
        returned, resolved. Raises whatever a provider raised."""
        use(self, project=self.project, stack=self.stack, preview=False)
        self.seen = set()
        result: dict[str, Any] = {}

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def go() -> Any:
            return pulumi.Output.from_input(program()).apply(lambda value: result.setdefault("value", value))

        go()
        return result.get("value")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:  # a ComponentResource: nothing to make
            return None, {}
        key = (args.typ, args.name)
        inputs = plain(dict(args.inputs))
        start = time.monotonic()
        with self._lock:
            old = self.made.get(key)
            self.seen.add(key)
        serialized = inputs.get("__provider")
        if serialized:
            provider = dill.loads(base64.b64decode(serialized))
            made, op = self._dynamic(args, provider, inputs, old)
        elif args.typ in self.handlers:
            if old is not None:
                made, op = old, "same"
            else:
                id_, outs = self.handlers[args.typ](args.name, inputs)
                made, op = Made(args.typ, args.name, id_, outs), "create"
        elif args.typ.startswith("pulumi:providers:"):
            made, op = Made(args.typ, args.name, f"{args.name}-id", inputs), "same" if old else "create"
        else:
            raise AssertionError(f"no handler for {args.typ} ({args.name})")
        with self._lock:
            if old is None:
                self.order.append(key)
            self.made[key] = made
            self.events.append(Event(op, args.name, start, time.monotonic()))
        return made.id, made.outs

    def _dynamic(
        self, args: pulumi.runtime.MockResourceArgs, provider: Any, inputs: dict[str, Any], old: Made | None
    ) -> tuple[Made, str]:
        checked = provider.check(old.outs if old else {}, inputs)
        failures = [(f.property, f.reason) for f in checked.failures]
        assert failures == [], f"{args.name}: check failed: {failures}"
        news = dict(checked.inputs)
        if old is None:
            created = provider.create(news)
            return Made(args.typ, args.name, created.id, dict(created.outs), provider), "create"
        diff = provider.diff(old.id, old.outs, news)
        if not diff.changes:
            return old, "same"
        assert not diff.replaces, f"{args.name}: the engine here does no replacement ({diff.replaces})"
        updated = provider.update(old.id, old.outs, news)
        return Made(args.typ, args.name, old.id, dict(updated.outs), provider), "update"

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"no invoke expected here: {args.token}")

    def find(self, name: str, typ: str | None = None) -> Made:
        found = [m for (t, n), m in self.made.items() if n == name and (typ is None or t == typ)]
        assert len(found) == 1, f"{name}: {sorted(self.made)}"
        return found[0]

    def ops(self, op: str) -> dict[str, Event]:
        return {e.name: e for e in self.events if e.op == op}

    def _delete(self, key: tuple[str, str]) -> str | None:
        made = self.made.pop(key)
        try:
            if made.provider is not None:
                made.provider.delete(made.id, made.outs)
            elif made.typ in self.deleters:
                self.deleters[made.typ](made.name, made.id, made.outs)
        except ProviderError as err:  # the other resources are still deleted; the test fails on the list
            return f"{made.typ} {made.name}: {err}"
        return None

    def delete_missing(self) -> list[str]:
        """Delete what the last run no longer declared (newest first); return the failures."""
        gone = [k for k in reversed(self.order) if k not in self.seen]
        self.order = [k for k in self.order if k in self.seen]
        return [e for k in gone if (e := self._delete(k))]

    def destroy(self) -> list[str]:
        """Delete everything, newest first; return the failures (all are tried)."""
        keys, self.order = list(reversed(self.order)), []
        return [e for k in keys if (e := self._delete(k))]
