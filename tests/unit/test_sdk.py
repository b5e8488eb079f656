"""The typed SDK (sdk/, import name pulumi_kubevirt.sdk) is generated from schema.json and must not go stale.

scripts/gen-sdk.sh regenerates it into a temporary folder (the real `pulumi package
gen-sdk`, else the same pkg/v3/codegen/python generator it would run: see the script);
the committed folder must hold exactly the same files, byte for byte.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pulumi_kubevirt.provider.schema import PACKAGE, build_schema

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_committed_sdk_is_what_the_schema_generates(tmp_path: Path) -> None:
    out = tmp_path / "sdk"
    result = subprocess.run(
        [str(REPO / "scripts" / "gen-sdk.sh"), str(out)], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    generated, committed = tree(out), tree(SDK)
    assert "virtual_machine.py" in generated and "_inputs.py" in generated
    stale = sorted(n for n in generated.keys() | committed.keys() if generated.get(n) != committed.get(n))
    assert stale == [], f"sdk/ is stale ({stale}): run `make sdk` and commit it"


def test_sdk_is_the_plugin_package_with_every_resource() -> None:
    import pulumi

    import pulumi_kubevirt.sdk as sdk

    assert json.loads((SDK / "pulumi-plugin.json").read_text()) == {"resource": True, "name": PACKAGE}
    schema = build_schema()
    for token in schema["resources"]:
        name = token.rsplit(":", 1)[-1]
        assert issubclass(getattr(sdk, name), pulumi.CustomResource)
        doc = getattr(sdk, f"{name}Args").__init__.__doc__  # the typed input class, documented per field
        for field, spec in schema["resources"][token]["inputProperties"].items():
            assert f":param {field}" in doc or f" {field}: " in doc, f"{name}Args: {field} undocumented"
            assert spec["description"].split()[0] in doc
    assert issubclass(sdk.Provider, pulumi.ProviderResource)
