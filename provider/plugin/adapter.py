"""The plugin's translation between the engine's requests and core.ResourceKind. No I/O.

Plain data in (see values.py), plain data out; server.py wraps these in the
protocol types and runs the reconcilers. What differs from the dynamic adapter
(resources/_dynamic.py), and why:

- the owner marker comes from the request's URN (`project/stack::logical-name`,
  the same marker the dynamic resources write), never from an input;
- `name` defaults to the logical name, and `target` to the provider config's;
- Diff answers a detailed diff: one entry per changed property path of the
  core's Plan (`disks[1].bus`, `labels.app`), UPDATE/ADD/DELETE, `_REPLACE` when
  the change is replace-class; `planned_change` (live / restart / replace) is
  listed too, so `pulumi preview --diff` shows the classification;
- the engine's customTimeouts arrive with each Create/Update/Delete and bound
  that call (`with_timeout`), instead of being copied into the inputs;
- a Read with only an ID (`pulumi import`, `Resource.get`) reads the object as this
  resource's own, then with adopt=True, which also sees an object made outside Pulumi
  (never one another stack manages: ownership.readable); the imported inputs then say
  adopt=True, so the generated code declares the adoption and the first real update
  marks the object ours. Reads only: an import leaves the object byte-for-byte as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core import PLANNED_CHANGE, Failure, ResourceKind, contains_unknown
from ..errors import InvalidSpec
from ..models.common import DURATION_MAX_S, dump
from ..models.secrets import secret_fields
from ..ownership import Owner
from ..plan import Change, Item, Plan
from .config import ProviderConfig
from .values import is_unknown

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REPLACE_ON_UNKNOWN = ("name", "target")
"""Fields whose unknown value in preview means a replacement (they name the object)."""


@dataclass(frozen=True)
class Urn:
    """The parts of `urn:pulumi:<stack>::<project>::<type>::<name>` the plugin needs."""

    stack: str
    project: str
    type: str
    name: str

    @classmethod
    def parse(cls, urn: str) -> Urn:
        body = urn.removeprefix("urn:pulumi:")
        parts = body.split("::", 3)
        if body == urn or len(parts) != 4:
            raise InvalidSpec(f"malformed resource URN {urn!r}")
        stack, project, qualified, name = parts
        return cls(stack, project, qualified.rsplit("$", 1)[-1], name)

    @property
    def owner(self) -> Owner:
        return Owner(f"{self.project}/{self.stack}", self.name)


def kind_label(kind: ResourceKind[Any]) -> str:
    return kind.type_name.rsplit(":", 1)[-1]


# -- check ------------------------------------------------------------------------
def check(
    kind: ResourceKind[Any],
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    *,
    config: ProviderConfig,
    urn: Urn,
) -> tuple[dict[str, Any], list[Failure]]:
    """The checked inputs (defaults filled, plan summary added) or the failures, on exact paths."""
    given = dict(news)
    if given.get("name") is None:
        given["name"] = urn.name
    if "target" in kind.model.model_fields and given.get("target") is None:
        given["target"] = config.default_target()
    inputs, failures = kind.check(olds or None, given, unknown=is_unknown)
    name = given.get("name") if isinstance(given.get("name"), str) else urn.name
    return inputs, [Failure(f.property, f"{kind_label(kind)} {name!r}: {f.reason}") for f in failures]


def secret_inputs(kind: ResourceKind[Any], user_secrets: set[str]) -> set[str]:
    """Top-level properties to return as secrets: the model's secret fields and whatever the user made secret."""
    return set(secret_fields(kind.model)) | user_secrets


# -- diff -------------------------------------------------------------------------
@dataclass(frozen=True)
class PropertyChange:
    """One entry of the detailed diff: `kind` is add / delete / update; `replace` marks replace-class."""

    kind: str
    replace: bool


@dataclass(frozen=True)
class Diff:
    changes: bool
    replaces: list[str] = field(default_factory=list)
    stables: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    detailed: dict[str, PropertyChange] = field(default_factory=dict)
    summary: str = ""


def diff(kind: ResourceKind[Any], olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
    """Old state vs new checked inputs: the core's Plan as a detailed diff."""
    fields = kind.model.model_fields
    if contains_unknown(news, is_unknown):
        # Preview with values not known yet: every property that is or holds an unknown may change.
        detailed = {
            key: PropertyChange("update", key in REPLACE_ON_UNKNOWN)
            for key, value in news.items()
            if key in fields and (contains_unknown(value, is_unknown) or value != olds.get(key))
        }
        replaces = sorted(k for k, c in detailed.items() if c.replace)
        return Diff(True, replaces, [], delete_before_replace=True, detailed=detailed)
    new = dump(kind.parse(news, resource=str(news.get("name"))))
    plan = kind.plan(olds, new)
    if not plan:
        return Diff(False, stables=stables(kind))
    detailed = detailed_diff(plan, olds, new)
    if PLANNED_CHANGE in news and not plan.replaces:
        # A replacement is re-checked as a create; its summary only says "create".
        detailed[PLANNED_CHANGE] = PropertyChange("update", False)
    return Diff(
        True,
        plan.replaces,
        stables(kind),
        delete_before_replace=olds.get("name") == new.get("name"),
        detailed=detailed,
        summary=plan.summary(),
    )


def stables(kind: ResourceKind[Any]) -> list[str]:
    return sorted(
        k for k in kind.output_keys if k not in ("state", "pending_restart", "pending_changes", "hot_plugged_disks")
    )


def detailed_diff(plan: Plan, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, PropertyChange]:
    """Each change of `plan` under the engine's property-path syntax, resolved against the documents."""
    out: dict[str, PropertyChange] = {}
    for change in plan.changes:
        path = property_path(change, old, new)
        if change.old is None:
            what = "add"
        elif change.new is None:
            what = "delete"
        else:
            what = "update"
        out[path] = PropertyChange(what, change.kind == "replace")
    return out


def property_path(change: Change, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The core's path (named list items by name: `disks[root].bus`) in the engine's property-path
    syntax, items by their index in the document that holds the change: `disks[1].bus`;
    keys that are not identifiers quoted: `labels["app.kubernetes.io/name"]`."""
    node: Any = new if change.new is not None else old
    text = ""
    for part in change.path:
        if isinstance(part, Item):
            index = _index_of(node, part)
            text += f"[{index}]" if index is not None else f'["{_escaped(part)}"]'
            node = node[index] if index is not None else None
            continue
        text += (f".{part}" if text else part) if _IDENT.match(part) else f'["{_escaped(part)}"]'
        node = node.get(part) if isinstance(node, Mapping) else None
    return text


def _escaped(key: str) -> str:
    return key.replace("\\", "\\\\").replace('"', '\\"')


def _index_of(items: Any, name: str) -> int | None:
    if not isinstance(items, Sequence) or isinstance(items, str):
        return None
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == name:
            return i
    return None


# -- create / update / delete -----------------------------------------------------
def with_timeout(doc: Mapping[str, Any], operation: str, seconds: float) -> dict[str, Any]:
    """`doc` with the engine's customTimeouts for `operation` (create/update/delete) as its bound."""
    if seconds <= 0:
        return dict(doc)
    bounded = min(max(1, math.ceil(seconds)), int(DURATION_MAX_S))
    timeouts = dict(doc.get("timeouts") or {})
    timeouts[operation] = f"{bounded}s"
    return {**doc, "timeouts": timeouts}


def state(args_doc: Mapping[str, Any], outputs: Mapping[str, Any], planned_change: Any) -> dict[str, Any]:
    """What a create/update/read records: the checked inputs, the computed outputs, the plan summary."""
    return {**args_doc, **outputs, PLANNED_CHANGE: planned_change}


def resource_id(target: Mapping[str, Any], name: str) -> str:
    """Stable ID, as the dynamic resources make it: `qemu:///system/vm1`, `kubevirt:ns/vm1`."""
    if target.get("kind") == "kubevirt":
        return f"kubevirt:{target.get('namespace', 'default')}/{name}"
    return f"{target.get('uri', 'qemu:///system')}/{name}"


def imported_inputs(observed: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """What `pulumi import` writes as the program's inputs: the observed values that differ from the
    model's defaults (the code it generates stays short), plus the name and the target the ID named."""
    inputs = {k: v for k, v in observed.items() if k not in defaults or defaults[k] != v}
    inputs["name"] = observed.get("name", defaults.get("name"))
    if "target" in defaults:
        inputs["target"] = defaults["target"]
    return inputs


def import_attempts(declared: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The inputs an import reads the object with, in order: as this resource's own object, then
    with adopt=True, which also sees an unmarked object, one made outside Pulumi (never one
    another stack manages). The read that finds it is what the imported inputs record."""
    return [dict(declared), {**declared, "adopt": True}]


def parse_id(resource_id: str, *, config: ProviderConfig) -> tuple[dict[str, Any], str]:
    """(target, name) of an ID made by `resource_id`, for `pulumi import` (which sends only the ID).

    A bare name (`vm1`) is looked up on the provider config's default target.
    """
    if resource_id.startswith("kubevirt:"):
        namespace, sep, name = resource_id.removeprefix("kubevirt:").rpartition("/")
        if not sep or not namespace or not name:
            raise InvalidSpec(f"import ID {resource_id!r}: a KubeVirt ID looks like kubevirt:<namespace>/<name>")
        base = config.default_target() if config.target_kind == "kubevirt" else {"kind": "kubevirt"}
        target = {**base, "namespace": namespace}
        return target, name
    if "://" in resource_id:
        uri, sep, name = resource_id.rpartition("/")
        if not sep or not name or "/" not in uri.partition("://")[2]:
            raise InvalidSpec(f"import ID {resource_id!r}: a libvirt ID looks like qemu:///system/<name>")
        return {"kind": "libvirt", "uri": uri}, name
    if not resource_id or "/" in resource_id:
        raise InvalidSpec(
            f"import ID {resource_id!r}: use <libvirt URI>/<name>, kubevirt:<namespace>/<name>, or a bare name"
        )
    return config.default_target(), resource_id
