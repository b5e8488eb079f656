"""The host-independent core: check, plan and dispatch of every resource kind.

Neither Pulumi's dynamic host nor a future native provider plugin is known
here: both adapters call `Kind.check`, `Kind.plan` and a `Reconciler` chosen by
the target. Pure except `Backends`, which only builds (lazily, per process)
the I/O objects and holds no connection until one is needed.

State layout (what a create/update returns as outputs): the checked inputs plus
computed fields. Secret inputs (fields marked `models.secrets.SECRET`) are
Pulumi secrets from the resource classes on, so the engine keeps them as
ciphertext in state and as `[secret]` in diffs; no digest of a secret is ever
stored (an unsalted digest would let a guessed password be confirmed offline),
and plan summaries name a changed secret without its value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import InvalidSpec
from .models import KubevirtTarget, LibvirtTarget, MigrationArgs
from .models.common import CROSS_FIELD, PRINTABLE, Timeouts, dump, parse_duration
from .models.secrets import is_secret, secret_paths
from .models.syntax import echo
from .outputs import MigrationOutputs, carried
from .ownership import OWNER, Owner
from .plan import Kind, Plan, Rule, plan_changes
from .waiting import Deadline, Progress

M = TypeVar("M", bound=BaseModel)
A_co = TypeVar("A_co", covariant=True)
M_contra = TypeVar("M_contra", bound=BaseModel, contravariant=True)

PLANNED_CHANGE = "planned_change"
"""Input property that `check` fills with the plan summary, so `pulumi preview --diff`
shows live / restart / replace for every update (the dynamic host sends no detailed diff)."""

INTERNAL_KEYS = frozenset({"__provider", PLANNED_CHANGE, OWNER})

BOOKKEEPING_RULES: list[Rule] = [("adopt", "none")]
"""Fields of every kind that never touch the backend object when they change."""


@dataclass(frozen=True)
class Failure:
    """A check failure: the input property path and the reason."""

    property: str
    reason: str


class Targeted(Protocol):
    """What the reconcilers' base classes read of every kind's arguments."""

    @property
    def name(self) -> str: ...

    @property
    def target(self) -> LibvirtTarget | KubevirtTarget: ...


class Bounded(Protocol):
    """Arguments carrying the resource's customTimeouts."""

    @property
    def timeouts(self) -> Timeouts: ...


Operation = Literal["create", "read", "update", "delete"]


@dataclass(frozen=True)
class Call(Generic[A_co]):
    """One reconciler call: what every create/read/update/delete starts from.

    `args` are the resource's arguments (the new ones for an update), `state` its last
    outputs (empty for a create), `owner` the marker of everything it may touch,
    `progress` where it reports, and `deadline` its time budget: the resource's
    customTimeouts for the operation (a read is bounded like a create), counted from `begin`.
    """

    args: A_co
    state: Mapping[str, Any]
    owner: Owner
    progress: Progress
    deadline: Deadline


B = TypeVar("B", bound=Bounded)


def begin(
    operation: Operation, args: B, state: Mapping[str, Any] | None = None, *, owner: Owner, progress: Progress
) -> Call[B]:
    """The `Call` of `operation` on `args`, its deadline starting now."""
    t = args.timeouts
    bound = {"create": t.create, "read": t.create, "update": t.update, "delete": t.delete}[operation]
    return Call(args, state or {}, owner, progress, Deadline(parse_duration(bound)))


class Reconciler(Protocol[M_contra]):
    """One resource kind on one backend. `call.state` is the resource's last outputs; the outputs
    returned are the kind's TypedDict (outputs.py). An update also gets the old arguments and the plan."""

    def create(self, call: Call[M_contra]) -> Mapping[str, Any]: ...

    def read(self, call: Call[M_contra]) -> tuple[dict[str, Any], Mapping[str, Any]] | None: ...

    def update(self, call: Call[M_contra], old: M_contra, plan: Plan) -> Mapping[str, Any]: ...

    def delete(self, call: Call[M_contra]) -> None: ...


@dataclass(frozen=True)
class ResourceKind(Generic[M]):
    """What the adapters need to know about one kind of resource."""

    type_name: str
    model: type[M]
    rules: Mapping[str, list[Rule]]
    default: Mapping[str, Kind]
    output_keys: frozenset[str]
    transition: Callable[[M, M], list[Failure]] | None = None
    upgrade: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, compare=False)
    """State an older version wrote, in this version's terms (applied to every document read as the
    model except the new inputs check validates, where a value given is the user's)."""
    reconciler: Callable[[Backends, str], Reconciler[M]] | None = field(default=None, compare=False)

    @property
    def secret_paths(self) -> tuple[tuple[str, ...], ...]:
        """The paths of the model's fields marked SECRET (models.secrets: declared on the model only)."""
        return secret_paths(self.model)

    # -- check ------------------------------------------------------------
    def check(
        self, olds: Mapping[str, Any] | None, news: Mapping[str, Any], *, unknown: object
    ) -> tuple[dict[str, Any], list[Failure]]:
        """Validate `news`; ignore what is UNKNOWN in preview; annotate the plan summary."""
        given = _user_inputs(news, self.output_keys)
        is_unknown = _matcher(unknown)
        unknown_paths = list(_paths_of(given, is_unknown))
        try:
            model = self.model.model_validate(_without_unknowns(given, is_unknown))
        except ValidationError as err:
            # A failure at, above or below an unknown value is not the user's fault yet, nor is a
            # rule between fields while any value is unknown (defaults stand in for the unknowns).
            failures = [
                f
                for f, cross in _classified_failures(err, self.model)
                if not (cross and unknown_paths) and not any(_related(f.property, u) for u in unknown_paths)
            ]
            return dict(given), failures
        if unknown_paths:
            return dict(given), []
        checked = dump(model)
        summary = "create"
        if olds:
            old_given = self._upgraded(_user_inputs(olds, self.output_keys))
            try:
                old_model = self.model.model_validate(old_given)
            except ValidationError:
                old_model = None  # state written by an older, incompatible version: no transition checks
            if old_model is not None:
                if self.transition is not None:
                    failures = self.transition(old_model, model)
                    if failures:
                        return dict(given), failures
                # Old inputs only (the engine sends check no outputs): a rule that needs what the
                # backend recorded (plan.Recorded) judges it unknown here, conservatively.
                summary = self.plan(dump(old_model), checked).summary()
        checked[PLANNED_CHANGE] = summary
        return checked, []

    # -- plan ---------------------------------------------------------------
    def plan(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> Plan:
        """Classified changes between two input documents (old state or inputs, new inputs). The
        outputs recorded in an old state reach the rules that read them (plan.Recorded); old inputs
        (check's) carry none."""
        target = str((new.get("target") or {}).get("kind", "libvirt"))
        old_doc = {k: v for k, v in self._current_form(old).items() if k in self.model.model_fields}
        new_doc = {k: v for k, v in self._current_form(new).items() if k in self.model.model_fields}
        recorded = {k: v for k, v in old.items() if k in self.output_keys}
        rules = [*BOOKKEEPING_RULES, *self.rules[target]]
        return plan_changes(
            old_doc, new_doc, rules, default=self.default[target], secrets=self.secret_paths, recorded=recorded
        )

    def _current_form(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        """`doc` as this version's model dumps it, defaults filled. State written by an older version
        lacks the fields added since: their defaults are what that version rendered (no secure boot, no
        USB devices, no port forwards), so an unchanged program plans no change after an upgrade, as
        check's summary already says (it validates the old inputs too). A document this version cannot
        read is compared as it is."""
        try:
            return dump(self.model.model_validate(self._upgraded(_user_inputs(doc, self.output_keys))))
        except ValidationError:
            return doc

    def _upgraded(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.upgrade(data) if self.upgrade is not None else data

    def parse(self, data: Mapping[str, Any], *, resource: str) -> M:
        """Inputs (or the input part of state) as the model; InvalidSpec naming the field otherwise."""
        try:
            return self.model.model_validate(self._upgraded(_user_inputs(data, self.output_keys)))
        except ValidationError as err:
            first = _failures(err, self.model)[0]
            raise InvalidSpec(first.reason, resource=resource, field=first.property) from err


def _user_inputs(data: Mapping[str, Any], output_keys: Iterable[str]) -> dict[str, Any]:
    drop = INTERNAL_KEYS | set(output_keys)
    return {k: v for k, v in data.items() if k not in drop and v is not None}


def _failures(err: ValidationError, model: type[BaseModel]) -> list[Failure]:
    """Every validation error as a Failure naming the user's field path."""
    return [failure for failure, _cross in _classified_failures(err, model)]


def _classified_failures(err: ValidationError, model: type[BaseModel]) -> list[tuple[Failure, bool]]:
    """(failure, whether it is a rule between fields). Paths are the user's: union tags
    dropped only where pydantic inserted them; cross-field rules (`field_error`) land on
    the field they name. A failure on or under a secret field never echoes the value."""
    out: list[tuple[Failure, bool]] = []
    for item in err.errors():
        segments, secret = _user_path(item["loc"], model)
        ctx = item.get("ctx") or {}
        cross = item["type"] == CROSS_FIELD
        if item["type"] in (CROSS_FIELD, PRINTABLE):
            segments = [*segments, *ctx.get("field", ())]
        msg = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"].endswith("_type"):
            msg += f" (got {_json_type(item['input'])})"
        if secret:
            msg = _masked(msg, item["input"])
        path = _format_loc(segments) or "(resource)"
        if secret and len(segments) == 1:
            # The engine prints the value of a top-level property a failure names (a Pulumi
            # secret too): name the secret field so that the engine finds no value to print.
            path += " (secret)"
        out.append((Failure(path, msg), cross))
    return out


def _json_type(value: Any) -> str:
    """What the user passed, by JSON type (never the value: it may be a secret)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _masked(msg: str, value: Any) -> str:
    """`msg` without any rendering of a secret `value`."""
    if isinstance(value, str) and value:
        for form in sorted({repr(value), value, echo(value)}, key=len, reverse=True):
            msg = msg.replace(form, "<secret>")
    return msg


def _format_loc(loc: Iterable[Any], model: type[BaseModel] | None = None) -> str:
    """A pydantic `loc` as the user's path: `disks[0].source.url`, `labels.app`.

    With `model`, `loc` is read against it, so a segment is dropped only where
    pydantic inserted a union tag (`target.libvirt.uri` -> `target.uri`) and a
    field that happens to be named like a tag (`kubevirt`, `url`) stays.
    """
    segments = _user_path(loc, model)[0] if model is not None else list(loc)
    text = ""
    for part in segments:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _user_path(loc: Iterable[Any], model: type[BaseModel]) -> tuple[list[str | int], bool]:
    """`loc` without the segments pydantic adds (union tags and member labels, dict `[key]`
    markers), and whether the path runs through a field marked secret."""
    out: list[str | int] = []
    secret = False
    node: _Node | None = _node(model)
    for part in loc:
        if node is not None and node.kind == "tagged":
            member = node.members.get(part) if isinstance(part, str) else None
            if member is not None:
                node = _node(member)
                continue
            node = None
        elif node is not None and node.kind == "union":
            node = None  # a pydantic member label, e.g. 'str' or 'function-after[...]'
            continue
        if part == "[key]":
            continue
        out.append(part)
        if node is None:
            continue
        if node.kind == "model" and isinstance(part, str):
            info = node.model.model_fields.get(part) if node.model is not None else None
            if info is None:
                node = None
                continue
            secret = secret or is_secret(info)
            node = _node(info.annotation, info.discriminator)
        elif node.kind in ("list", "dict"):
            node = _node(node.item)
        else:
            node = None
    return out, secret


@dataclass(frozen=True)
class _Node:
    """What a position in a model is, as far as pydantic's `loc` is concerned."""

    kind: str  # model | tagged | union | list | dict | leaf
    model: type[BaseModel] | None = None
    members: Mapping[str, Any] = field(default_factory=dict)
    item: Any = None


def _node(annotation: Any, discriminator: Any = None) -> _Node:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        for meta in metadata:
            discriminator = discriminator or getattr(meta, "discriminator", None)
        return _node(inner, discriminator)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _Node("model", model=annotation)
    if origin in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _node(members[0], discriminator)  # Optional: pydantic adds no segment
        if isinstance(discriminator, str):
            tags: dict[str, Any] = {}
            for member in members:
                inner = _node(member)
                info = inner.model.model_fields.get(discriminator) if inner.model is not None else None
                for tag in get_args(info.annotation) if info is not None else ():
                    tags[str(tag)] = member
            return _Node("tagged", members=tags)
        return _Node("union")
    if origin in (list, tuple, set, frozenset):
        args = get_args(annotation)
        return _Node("list", item=args[0] if args else Any)
    if origin is dict:
        args = get_args(annotation)
        return _Node("dict", item=args[1] if len(args) == 2 else Any)
    return _Node("leaf")


def _matcher(unknown: object) -> Callable[[Any], bool]:
    """`unknown` is a predicate, or a sentinel value compared by equality."""
    if callable(unknown):
        return unknown
    return lambda value: value is unknown or (isinstance(unknown, str) and value == unknown)


def _paths_of(value: Any, is_unknown: Callable[[Any], bool], path: str = "") -> Iterable[str]:
    if is_unknown(value):
        yield path
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _paths_of(sub, is_unknown, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths_of(sub, is_unknown, f"{path}[{index}]")


def contains_unknown(value: Any, unknown: object) -> bool:
    return any(True for _ in _paths_of(value, _matcher(unknown)))


def _without_unknowns(value: Any, is_unknown: Callable[[Any], bool]) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_unknowns(v, is_unknown) for k, v in value.items() if not is_unknown(v)}
    if isinstance(value, list):
        return [_without_unknowns(v, is_unknown) for v in value if not is_unknown(v)]
    return value


def _related(failure_path: str, unknown_path: str) -> bool:
    """A failure at, above or below an unknown value is not the user's fault yet."""
    if failure_path == "(resource)":
        return True
    return failure_path.startswith(unknown_path) or unknown_path.startswith(failure_path)


class MigrationRecord:
    """The update of a Migration on any backend: the recorded outputs, carried.

    A migration is a record of something that happened; every input an update
    can change (MIGRATION_RULES: timeouts, vm_spec, allow_unsafe) is bookkeeping,
    so there is nothing to do on the backend.
    """

    def update(self, call: Call[MigrationArgs], old: MigrationArgs, plan: Plan) -> MigrationOutputs:
        return carried(call.state, MigrationOutputs)


class Backends:
    """Per-process I/O objects (connection caches), created on first use.

    Held by a provider object but never pickled with it: adapters drop it in
    `__getstate__`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, Any] = {}

    def get(self, key: str, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._objects:
                self._objects[key] = factory()
            return self._objects[key]
