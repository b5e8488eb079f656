"""Field-level diffs and their classification: none / live / restart / replace.

Pure. `diff_data` reduces two JSON documents (model dumps, or a model dump and
an observed object parsed into the same shape) to a list of changed paths;
lists of named items (disks, interfaces) are matched by `name`, so reordering
is not a change and one added disk is one change. A backend supplies the
classification rules; the most severe class decides what happens:

- none: bookkeeping only (timeouts, restart policy), nothing touches the VM;
- live: applied to the running VM without reboot;
- restart: persistent config changed in place, effective on next boot (or now,
  with restart_policy auto);
- replace: the resource must be recreated (Pulumi `replaces`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from .models import quantity_bytes
from .models.secrets import ANY_KEY

Kind = Literal["none", "live", "restart", "replace"]
_SEVERITY: dict[Kind, int] = {"none": 0, "live": 1, "restart": 2, "replace": 3}


class Item(str):
    """A path segment that names an item of a named list (`root` in `disks[root].bus`).

    Equal to the plain name, so a path reads as `("disks", "root", "bus")`; only the
    text form (`path_text`) and the rule form (`rule_text`) tell it from a key.
    """

    __slots__ = ()


Path = tuple[str, ...]
"""A changed field: its keys and named-list item names from the document's root."""


def path_text(path: Path) -> str:
    """The human form: `disks[root].bus`, `labels.app`."""
    text = ""
    for part in path:
        if isinstance(part, Item):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def rule_text(path: Path) -> str:
    """The form classification rules match: `disks[].bus` (any item of the list)."""
    return path_text(tuple(Item("") if isinstance(part, Item) else part for part in path))


@dataclass(frozen=True)
class Change:
    path: Path
    old: Any
    new: Any
    kind: Kind

    @property
    def text(self) -> str:
        """The path as a person (and the plan summary) writes it: `disks[root].bus`."""
        return path_text(self.path)

    @property
    def field(self) -> str:
        """The top-level input property (what Pulumi `replaces` names)."""
        return self.path[0] if self.path else ""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    secrets: tuple[Path, ...] = ()
    """Paths whose values never appear in the summary (models.secrets.secret_paths of the kind)."""

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def kind(self) -> Kind:
        worst: Kind = "none"
        for change in self.changes:
            if _SEVERITY[change.kind] > _SEVERITY[worst]:
                worst = change.kind
        return worst

    @property
    def replaces(self) -> list[str]:
        return sorted({c.field for c in self.changes if c.kind == "replace"})

    def of_kind(self, kind: Kind) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def is_secret(self, path: Path) -> bool:
        """Whether `path` is, or is under, one of the secret paths (`ANY_KEY` matches any one segment)."""
        return any(
            len(path) >= len(secret) and all(s in (ANY_KEY, p) for s, p in zip(secret, path, strict=False))
            for secret in self.secrets
        )

    def paths(self, kind: Kind | None = None) -> list[str]:
        """The changed paths in text form (what `pending_changes` reports)."""
        return [c.text for c in self.changes if kind is None or c.kind == kind]

    def summary(self) -> str:
        """One line a person reads in `pulumi preview --diff`: worst class first, secrets masked."""
        if not self.changes:
            return "no change"
        parts = []
        for kind in ("replace", "restart", "live", "none"):
            items = [_describe(c, secret=self.is_secret(c.path)) for c in self.changes if c.kind == kind]
            if items:
                parts.append(f"{kind}: " + ", ".join(items))
        return "; ".join(parts)


def _describe(change: Change, *, secret: bool) -> str:
    """A change for the summary: its path, and its values unless they are (or are under) a secret.
    A whole object or list is named without its values either way."""
    text = change.text
    if isinstance(change.old, (dict, list)) or isinstance(change.new, (dict, list)):
        if change.old is None:
            return f"+{text}"
        if change.new is None:
            return f"-{text}"
        return text
    if secret:
        return f"{text} (secret changed)"
    return f"{text} {_short(change.old)}->{_short(change.new)}"


def _short(value: Any) -> str:
    text = "unset" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _named(items: Sequence[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def diff_data(old: Any, new: Any, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """Changed leaves between two JSON documents, as (path, old, new)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[Path, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            out += diff_data(old.get(key), new.get(key), (*path, str(key)))
        return out
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and (_named(old) or _named(new))
        and (not old or _named(old))
        and (not new or _named(new))
    ):
        olds = {i["name"]: i for i in old}
        news = {i["name"]: i for i in new}
        out = []
        for name in list(olds) + [n for n in news if n not in olds]:
            sub = (*path, Item(name))
            if name not in news:
                out.append((sub, olds[name], None))
            elif name not in olds:
                out.append((sub, None, news[name]))
            else:
                out += diff_data(olds[name], news[name], sub)
        return out
    if old == new:
        return []
    return [(path, old, new)]


Verdict = Callable[[Any, Any, dict[str, Any], dict[str, Any]], "Kind | None"]
"""A class for one changed path, or None: the two values mean the same to the backend (an input
whose unset value keeps what the object has), so the difference is no change at all."""


@dataclass(frozen=True)
class Recorded:
    """A verdict that reads the resource's recorded outputs too (what only the backend knew when it
    last wrote them): `judge(old, new, recorded)`. `recorded` is empty where no outputs are at hand
    (check compares old inputs with new ones: the engine sends it no outputs) and lacks the keys that
    state written by an older version did not record: the judge decides what an unknown means."""

    judge: Callable[[Any, Any, Mapping[str, Any]], Kind]


Rule = tuple[str, "Kind | Verdict | Recorded"]
"""(fnmatch pattern over normalized paths, a class, a function(old, new, old_doc, new_doc) -> class
or None (no change), or a `Recorded` verdict)."""


def plan_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    rules: Sequence[Rule],
    default: Kind = "restart",
    *,
    secrets: tuple[Path, ...] = (),
    recorded: Mapping[str, Any] | None = None,
) -> Plan:
    """Classify every changed path by the first matching rule; values at or under `secrets` stay
    out of the summary. `recorded`: the resource's last outputs, for `Recorded` verdicts (none known
    when omitted)."""
    changes = []
    for path, before, after in diff_data(old, new):
        norm = rule_text(path)
        kind: Kind | None = default
        for pattern, verdict in rules:
            if fnmatchcase(norm, pattern):
                if isinstance(verdict, Recorded):
                    kind = verdict.judge(before, after, recorded or {})
                elif callable(verdict):
                    kind = verdict(before, after, old, new)
                else:
                    kind = verdict
                break
        if kind is not None:
            changes.append(Change(path, before, after, kind))
    return Plan(tuple(changes), secrets)


# Verdicts shared by the backends: a change is live while it stays under the
# ceiling the running VM was started with (balloon / hot-plug maximum).


def memory_within_ceiling(before: Any, after: Any, old: dict[str, Any], new: dict[str, Any]) -> Kind:
    """Memory changes are live up to the old max_memory (or the old memory when unset)."""
    ceiling = old.get("max_memory") or old.get("memory")
    if before is None or after is None or ceiling is None:
        return "restart"
    return "live" if quantity_bytes(after) <= quantity_bytes(ceiling) else "restart"


def sockets_within_ceiling(before: Any, after: Any, old: dict[str, Any], new: dict[str, Any]) -> Kind:
    """vCPU changes are live up to the old max_sockets (or the old sockets when unset)."""
    cpu = old.get("cpu", {})
    ceiling = cpu.get("max_sockets") or cpu.get("sockets", 1)
    return "live" if isinstance(after, int) and after <= ceiling else "restart"
