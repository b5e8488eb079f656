"""schema.json is generated from the models and must not go stale."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_kubevirt.provider.schema import build_schema

REPO = Path(__file__).resolve().parents[2]


def test_schema_json_is_current() -> None:
    committed = json.loads((REPO / "schema.json").read_text())
    assert committed == build_schema(), "schema.json is stale: run `make schema` and commit it"


def test_every_model_field_is_described() -> None:
    schema = build_schema()
    missing = [
        f"{res}.{name}"
        for res, spec in schema["resources"].items()
        for name, prop in spec["inputProperties"].items()
        if not prop.get("description")
    ]
    missing += [
        f"{typ}.{name}"
        for typ, spec in schema["types"].items()
        for name, prop in spec["properties"].items()
        if not prop.get("description") and name != "kind"
    ]
    assert missing == []
