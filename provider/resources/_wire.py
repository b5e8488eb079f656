"""What the resource classes may hand to Pulumi, so no wrong input breaks the program.

Pulumi's SDK raises inside the program (a traceback naming no field) for values it
cannot serialize: a set, bytes, an arbitrary object, an int beyond a float, a string
with lone surrogates; NaN and infinities would break the state later. Such a value is
replaced here by `{UNSUPPORTED_KEY: "<what>"}`, which every model refuses at its
path, so the user gets a check failure naming the field at preview instead.

Likewise customTimeouts: the engine parses them when the resource is registered and
fails the program on a bad one. The resource classes copy them into the `timeouts`
input (where the model names the bad value) and keep them from the engine unless
they are valid durations.
"""

from __future__ import annotations

import copy
import enum
import math
from collections.abc import Awaitable, Mapping
from typing import Any

import pulumi

from ..models.common import UNSUPPORTED_KEY, parse_duration

_TIMEOUT_KEYS = ("create", "update", "delete")


def _unsupported(what: str) -> dict[str, str]:
    return {UNSUPPORTED_KEY: what}


def wire_value(value: Any) -> Any:
    """`value` as Pulumi can send it, unsupported parts replaced by a marker the models refuse."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _unsupported("a string that is not valid Unicode (lone surrogate)")
        return value
    if isinstance(value, enum.Enum):
        return wire_value(value.value)
    if isinstance(value, int):
        return value if abs(value) < 2**1023 else _unsupported("an integer of more than 300 digits")
    if isinstance(value, float):
        return value if math.isfinite(value) else _unsupported(f"the number {value}")
    if isinstance(value, (list, tuple)):
        return [wire_value(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            return _unsupported("an object with non-string keys")
        return {k: wire_value(v) for k, v in value.items()}
    if isinstance(value, pulumi.Output):
        return value.apply(wire_value)
    if isinstance(value, (pulumi.Resource, pulumi.Asset, pulumi.Archive, Awaitable)):
        return value  # Pulumi sends these; the models refuse what they are not
    return _unsupported(f"a Python {type(value).__name__}")


def custom_timeouts(opts: Any) -> dict[str, Any]:
    """The customTimeouts of `opts` (a CustomTimeouts or a dict), as given, without the unset ones."""
    given = getattr(opts, "custom_timeouts", None)
    if given is None:
        return {}
    out: dict[str, Any] = {}
    for key in _TIMEOUT_KEYS:
        value = given.get(key) if isinstance(given, Mapping) else getattr(given, key, None)
        if value is not None and value != "":
            out[key] = wire_value(value)
    return out


def _valid_duration(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return parse_duration(value) >= 1.0
    except ValueError:
        return False


def engine_opts(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions | None:
    """`opts` without customTimeouts the engine would fail the program on (the `timeouts`
    input carries them to check, which names the bad one)."""
    if not isinstance(opts, pulumi.ResourceOptions) or opts.custom_timeouts is None:
        return opts
    given = opts.custom_timeouts
    if isinstance(given, pulumi.CustomTimeouts) and all(
        _valid_duration(getattr(given, key)) or getattr(given, key) is None for key in (*_TIMEOUT_KEYS, "read")
    ):
        return opts
    stripped = copy.copy(opts)
    stripped.custom_timeouts = None
    return stripped
