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


def test_reconciler_outputs_are_declared() -> None:
    """Every key a reconciler returns must be a declared output (else Pulumi programs cannot read it)."""
    import ast

    from pulumi_kubevirt.provider import outputs as kinds

    declared = {
        "domains.py": kinds.VM_OUTPUTS,
        "kubevirt/vms.py": kinds.VM_OUTPUTS,
        "volumes.py": kinds.DISK_OUTPUTS,
        "kubevirt/disks.py": kinds.DISK_OUTPUTS,
        "networks.py": kinds.BRIDGE_OUTPUTS,
        "kubevirt/bridges.py": kinds.BRIDGE_OUTPUTS,
        "libvirt/migrations.py": kinds.MIGRATION_OUTPUTS,
    }
    for rel, keys in declared.items():
        path = next((REPO / "provider").rglob(rel.split("/")[-1])) if "/" not in rel else REPO / "provider" / rel
        if "/" not in rel:
            path = REPO / "provider" / "libvirt" / rel
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("_outputs", "create") and node.name != "__init__":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                        returned = {k.value for k in ret.value.keys if isinstance(k, ast.Constant)}
                        assert returned <= keys, f"{rel}: {sorted(returned - keys)} not declared"
