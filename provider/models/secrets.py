"""Which input fields are secrets. Pure.

A field declared with `json_schema_extra=SECRET` is secret whatever the user
passed: the schema says `secret: true`, the resource classes make the value a
Pulumi secret before it reaches the engine (so state, exports, backups and
diffs hold only ciphertext or `[secret]`), and check failures never echo it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

SECRET: dict[str, Any] = {"secret": True}


def secret_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The top-level fields of `model` marked SECRET."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret") is True
    )
