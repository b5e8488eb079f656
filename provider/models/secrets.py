"""Which input fields are secrets: declared once, on the model. Pure.

A field declared with `json_schema_extra=SECRET` is secret whatever the user
passed: the schema says `secret: true`, the resource classes make the value a
Pulumi secret before it reaches the engine (so state, exports, backups and
diffs hold only ciphertext or `[secret]`), plan summaries never print it, and
check failures never echo it. Everything else is derived from the markers
(`secret_paths`, `secret_fields`): adding a secret field is a change to its model
alone.
"""

from __future__ import annotations

from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

SECRET: dict[str, Any] = {"secret": True}

ANY_KEY = "*"
"""The path segment of a list item or a dict value in `secret_paths` (any one segment matches)."""

Path = tuple[str, ...]


def is_secret(info: Any) -> bool:
    """Whether a pydantic FieldInfo is marked SECRET."""
    extra = getattr(info, "json_schema_extra", None)
    return isinstance(extra, dict) and extra.get("secret") is True


@cache
def secret_paths(model: type[BaseModel]) -> tuple[Path, ...]:
    """Every field marked SECRET, as its path from the root of `model`: through nested models,
    optionals and unions, with `ANY_KEY` for a list item or a dict value. A field marked under a
    secret one is listed too (CloudInit's user_data under VirtualMachineArgs' cloud_init), though
    the outer one already covers it."""
    return tuple(_paths(model, (), frozenset({model})))


def secret_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The top-level fields of `model` that are, or hold, a field marked SECRET: what the adapters
    make Pulumi secrets (a property is secret or not as a whole on the wire)."""
    return tuple(dict.fromkeys(path[0] for path in secret_paths(model)))


def _paths(model: type[BaseModel], prefix: Path, seen: frozenset[type[BaseModel]]) -> list[Path]:
    out: list[Path] = []
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if is_secret(info):
            out.append(path)
        for nested, steps in _models_in(info.annotation):
            if nested not in seen:  # a recursive model: its own paths are listed once
                out += _paths(nested, (*path, *steps), seen | {nested})
    return out


def _models_in(annotation: Any, steps: Path = ()) -> list[tuple[type[BaseModel], Path]]:
    """The models a field's annotation can hold, each with the path segments to reach it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, steps)]
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _models_in(args[0], steps)
    if origin in (Union, UnionType):
        return [found for member in args for found in _models_in(member, steps)]
    if origin in (list, tuple, set, frozenset) and args:
        return _models_in(args[0], (*steps, ANY_KEY))
    if origin is dict and len(args) == 2:
        return _models_in(args[1], (*steps, ANY_KEY))
    return []
