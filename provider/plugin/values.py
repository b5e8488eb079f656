"""Property values of the plugin protocol <-> the plain JSON data the core works on. No I/O.

The core sees plain dicts (numbers as the engine sends them, secrets unwrapped,
unknowns as the `UNKNOWN` sentinel). On the way back, every value under a
secret path is wrapped again, so what the user (or the schema) made secret
stays secret in state, diffs and outputs, whatever the user passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue, ResourceReference
from pulumi.runtime import rpc

UNKNOWN: str = rpc.UNKNOWN
"""The wire sentinel of a value not known yet (preview); `PropertyValue.unmarshal` keeps it as a string."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, (str, Computed)) and (isinstance(value, Computed) or value == UNKNOWN)


def to_plain(value: PropertyValue) -> Any:
    """A property value as plain JSON data (secrets unwrapped, unknowns as UNKNOWN)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, ResourceReference):
        return to_plain(inner.resource_id) if inner.resource_id is not None else UNKNOWN
    if isinstance(inner, Mapping):
        return {k: to_plain(v) for k, v in inner.items()}
    if isinstance(inner, (list, tuple)):
        return [to_plain(v) for v in inner]
    if isinstance(inner, float) and inner.is_integer() and abs(inner) < 2**53:
        return int(inner)
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: to_plain(v) for k, v in values.items()}


def secret_paths(values: Mapping[str, PropertyValue]) -> set[str]:
    """Top-level properties that hold a secret anywhere inside (what the user made secret)."""
    return {k for k, v in values.items() if v.contains_secret()}


def from_plain(value: Any, *, secret: bool = False) -> PropertyValue:
    """Plain JSON data as a property value; `secret` wraps the whole value."""
    if isinstance(value, PropertyValue):
        return value.with_secret(True) if secret else value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return PropertyValue(value, is_secret=secret)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value), is_secret=secret)
    if isinstance(value, Mapping):
        return PropertyValue({str(k): from_plain(v) for k, v in value.items()}, is_secret=secret)
    if isinstance(value, (list, tuple)):
        return PropertyValue([from_plain(v) for v in value], is_secret=secret)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def property_map(values: Mapping[str, Any], *, secrets: Iterable[str] = ()) -> dict[str, PropertyValue]:
    """A plain map as property values; the top-level keys in `secrets` become secrets."""
    secret = set(secrets)
    return {k: from_plain(v, secret=k in secret and v is not None) for k, v in values.items()}
