"""Shared model pieces: the base model, quantities, names, Pulumi durations.

Pure: imports neither pulumi nor a backend client.

Quantities follow Kubernetes' resource.Quantity grammar (`128Mi`, `1G`, `1.5Gi`,
`1e9`) because KubeVirt users write memory that way; `MiB`/`GiB` are accepted
as aliases of `Mi`/`Gi` for libvirt users. Parsed here rather than with
`kubernetes.utils.parse_quantity` because this layer must not import the
Kubernetes client; tests/unit checks both agree.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

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
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei)B?|([numkMGTPE]?))$")


class Model(BaseModel):
    """Base of every input model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_quantity(text: str | int) -> Decimal:
    """The value of a Kubernetes-style quantity; ValueError with a hint when malformed."""
    if isinstance(text, int):
        return Decimal(text)
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a quantity: use a number with an optional unit such as 512Mi, 1Gi, 1024M or 2G"
        )
    number, exponent, binary, decimal = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as err:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"{text!r} is not a quantity") from err
    if exponent:
        return value * (Decimal(10) ** int(exponent[1:]))
    if binary:
        return value * _BINARY[binary]
    return value * _DECIMAL[decimal or ""]


def quantity_bytes(text: str | int) -> int:
    """A quantity as a whole, positive number of bytes."""
    value = parse_quantity(text)
    if value <= 0:
        raise ValueError(f"{text!r} must be greater than zero")
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return int(value)


def _check_quantity(value: str | int) -> str:
    quantity_bytes(value)
    return str(value)


Quantity = Annotated[str, AfterValidator(_check_quantity)]
"""A positive byte quantity, kept as the user wrote it (no perpetual diffs from reformatting)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_name(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


Name = Annotated[str, AfterValidator(_check_name)]
"""A DNS-1123 label: valid as a libvirt name, a Kubernetes object name and a NIC name."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in a Pulumi/Go duration such as `10m`, `1h30m` or `45s`."""
    stripped = text.strip()
    parts = _DURATION.findall(stripped)
    if not parts or "".join(n + u for n, u in parts) != stripped:
        raise ValueError(f"{text!r} is not a duration: use e.g. 90s, 10m or 1h30m")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * scale[u] for n, u in parts)


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as plain JSON data, leaving out what the user did not set (preserves intent)."""
    return model.model_dump(mode="json", exclude_none=True, by_alias=False)


class Timeouts(Model):
    """Bounds of the waits (filled from the resource's customTimeouts)."""

    create: str = Field("10m", description="Bound of create (and of the waits it includes)")
    update: str = Field("10m", description="Bound of update")
    delete: str = Field("5m", description="Bound of delete (graceful shutdown included)")

    @field_validator("create", "update", "delete")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value
