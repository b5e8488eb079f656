"""Shared model pieces: the base model, strict scalars, quantities, durations.

Pure: imports neither pulumi nor a backend client.

Quantities follow Kubernetes' resource.Quantity grammar (`128Mi`, `1G`, `1.5Gi`,
`1e9`) because KubeVirt users write memory that way; `MiB`/`GiB` are accepted
as aliases of `Mi`/`Gi` for libvirt users. Parsed here rather than with
`kubernetes.utils.parse_quantity` because this layer must not import the
Kubernetes client; tests/unit checks both agree.

Strict scalars: Pulumi sends every number as a float (2 arrives as 2.0), so
`Int` takes ints and integral floats and refuses bools, fractions and strings;
`Bool` takes only true/false (never 0/1/"yes"). Upper bounds a hypervisor could
ever accept, and why:
- memory <= 16 TiB: past the largest guests KVM distributions support, and QEMU's
  default guest physical address space (40 bits = 1 TiB) already needs
  host-phys-bits beyond 1 TiB; 1 EiB or a 5000-digit number is a typo;
- vCPUs <= 1024: the kernel's KVM_MAX_VCPUS on x86-64 (and QEMU q35's limit);
- disks 1 MiB .. 1 PiB: below 1 MiB no partition table fits; qcow2 with its
  default 64 KiB clusters addresses at most 2 PiB;
- durations <= 7 days, wait bounds >= 1s: a bound, not a calendar.
Cross-field rules raise `field_error(...)` so the failure lands on the field it
is about (`disks`, `max_memory`), not on the whole resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from .syntax import Name, bad_character, echo

__all__ = ["Name"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d{1,3})|(Ki|Mi|Gi|Ti|Pi|Ei)B?|([numkMGTPE]?))$")
_QUANTITY_MAX_CHARS = 64

MIB = 2**20
MEMORY_MIN = 16 * MIB
MEMORY_MAX = 16 * 2**40
DISK_MIN = MIB
DISK_MAX = 2**50
VCPUS_MAX = 1024
INT32_MAX = 2**31 - 1
"""Kubernetes' int32 fields (probe periods, thresholds; seconds also bounded so: 68 years)."""
DURATION_MAX_S = 7 * 24 * 3600.0

CROSS_FIELD = "cross_field"
"""Error type of `field_error`: a rule between fields, reported on `ctx["field"]`."""

PRINTABLE = "printable"
"""Error type of the control-character guard; `ctx["field"]` is the element below the field."""

UNSUPPORTED_KEY = "__unsupported_python_value__"
"""The resource classes replace a Python value Pulumi cannot send (a set, bytes, an
object, a too large int) by `{UNSUPPORTED_KEY: "<what>"}`; models refuse it at its path."""


def field_error(field: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """A cross-field failure reported on `field` (relative to the model raising it)."""
    return PydanticCustomError(CROSS_FIELD, "{message}", {"message": message, "field": field})


def _unsupported(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, dict):
        if set(value) == {UNSUPPORTED_KEY}:
            yield path, str(value[UNSUPPORTED_KEY])
            return
        for key, sub in value.items():
            yield from _unsupported(sub, (*path, str(key)))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _unsupported(sub, (*path, index))


def _bad_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(where, why) for every string under `value` holding a control character; a bad
    key is reported at the key itself."""
    if isinstance(value, str):
        problem = bad_character(value, multiline=True)
        if problem:
            yield path, problem
    elif isinstance(value, (list, tuple)):
        for index, sub in enumerate(value):
            yield from _bad_strings(sub, (*path, index))
    elif isinstance(value, dict):
        for key, sub in value.items():
            here = (*path, str(key))
            for _where, problem in _bad_strings(key):
                yield here, f"the key {problem}"
            yield from _bad_strings(sub, here)


class Model(BaseModel):
    """Base of every input model: unknown fields are errors, values are immutable.

    Two guards cover every field, present and future: a value Pulumi could not
    carry is refused at its path, and no string anywhere may hold a control
    character (the message never echoes the value: it may be a secret).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @_model_validator(mode="before")
    @classmethod
    def _carried(cls, data: Any) -> Any:
        for path, what in _unsupported(data):
            raise field_error(
                path, f"{what} cannot be passed to a resource: use a str, number, bool, list or dict of those"
            )
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        for path, problem in _bad_strings(value):
            # the exact element, so no failure is reported on a whole container (the engine
            # prints the value of a top-level property it names, secrets included)
            raise PydanticCustomError(PRINTABLE, "{message}", {"message": problem, "field": path})
        return value


def _whole_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # Pulumi's wire has only floats: 2 arrives as 2.0
    return value


Int = Annotated[int, Strict(), BeforeValidator(_whole_number)]
"""An integer: int or integral float; never a bool, a fraction or a string."""

Bool = Annotated[bool, Strict()]
"""true or false; never 0/1 or "yes"."""


def parse_quantity(text: str | int) -> Decimal:
    """The value of a Kubernetes-style quantity; ValueError with a hint when malformed."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a quantity")
    if isinstance(text, int):
        return Decimal(text)
    stripped = text.strip()
    if len(stripped) > _QUANTITY_MAX_CHARS:
        raise ValueError(
            f"a quantity of {len(stripped)} characters is not a size: use a number with a unit, e.g. 512Mi or 2Gi"
        )
    match = _QUANTITY.match(stripped)
    if not match:
        raise ValueError(
            f"{echo(text)} is not a quantity: use a number with an optional unit such as 512Mi, 1Gi, 1024M or 2G"
        )
    number, exponent, binary, decimal = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as err:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"{echo(text)} is not a quantity") from err
    if exponent:
        return value.scaleb(int(exponent[1:]))
    if binary:
        return value * _BINARY[binary]
    return value * _DECIMAL[decimal or ""]


def quantity_bytes(text: str | int) -> int:
    """A quantity as a whole, positive number of bytes."""
    value = parse_quantity(text)
    if value <= 0:
        raise ValueError(f"{echo(text)} must be greater than zero")
    if value > 2**64:
        raise ValueError(f"{echo(text)} is larger than any machine can address")
    if value != value.to_integral_value():
        raise ValueError(f"{echo(text)} is not a whole number of bytes")
    return int(value)


def _size(amount: int) -> str:
    for unit, scale in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if amount % scale == 0:
            return f"{amount // scale}{unit}"
    return str(amount)


def _unit_required(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError(
            "quantity_unit", "a bare number is ambiguous: give a quantity with its unit, e.g. '512Mi' or '2Gi'"
        )
    return value


_UNIT_REQUIRED = BeforeValidator(_unit_required)


def _bounded(minimum: int, maximum: int, what: str) -> AfterValidator:
    def check(value: str) -> str:
        amount = quantity_bytes(value)
        if amount < minimum:
            raise ValueError(f"{echo(value)} is below the {_size(minimum)} {what} needs")
        if amount > maximum:
            raise ValueError(f"{echo(value)} is more than {_size(maximum)}, the largest {what} this provider accepts")
        return value

    return AfterValidator(check)


Quantity = Annotated[str, _bounded(1, 2**64, "a quantity"), _UNIT_REQUIRED]
"""A positive byte quantity, kept as the user wrote it (no perpetual diffs from reformatting);
the bounded kinds below are what fields use."""

MemoryQuantity = Annotated[str, _bounded(MEMORY_MIN, MEMORY_MAX, "guest memory"), _UNIT_REQUIRED]
"""Guest memory: 16 MiB .. 16 TiB."""

DiskQuantity = Annotated[str, _bounded(DISK_MIN, DISK_MAX, "disk"), _UNIT_REQUIRED]
"""A disk size: 1 MiB .. 1 PiB."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in a Pulumi/Go duration such as `10m`, `1h30m` or `45s` (at most 7 days)."""
    stripped = text.strip()
    parts = _DURATION.findall(stripped) if len(stripped) <= 32 else []
    if not parts or "".join(n + u for n, u in parts) != stripped:
        raise ValueError(f"{echo(text)} is not a duration: use e.g. 90s, 10m or 1h30m")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    seconds = sum(float(n) * scale[u] for n, u in parts)
    if seconds > DURATION_MAX_S:
        raise ValueError(f"{echo(text)} is out of range: a duration is at most 168h (7 days)")
    return seconds


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as plain JSON data, leaving out what the user did not set (preserves intent)."""
    return model.model_dump(mode="json", exclude_none=True, by_alias=False)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_timeout(value: str) -> str:
    if parse_duration(value) < 1.0:
        raise ValueError(f"{echo(value)} is too short: a wait bound is at least 1s")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A Pulumi/Go duration such as 90s, 10m or 1h30m (at most 7 days)."""

Adopt = Annotated[
    bool,
    Strict(),
    Field(
        description="Take over an existing object of this name that this stack did not create (it is marked as "
        "owned from then on, and deleted with the resource). Default: refuse with a Conflict",
    ),
]
"""The `adopt` input every kind that creates a backend object has (default False)."""


Timeout = Annotated[str, AfterValidator(_check_timeout)]
"""A wait bound: a duration of 1s .. 7 days."""


class Timeouts(Model):
    """Bounds of the waits (filled from the resource's customTimeouts)."""

    create: Timeout = Field("10m", description="Bound of create (and of the waits it includes)")
    update: Timeout = Field("10m", description="Bound of update")
    delete: Timeout = Field("5m", description="Bound of delete (graceful shutdown included)")
