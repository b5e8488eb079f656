"""House rule 2 and the layers, as `make lint` enforces them (.importlinter), proven to bite.

- The real tree keeps every import-linter contract.
- Each contract breaks on a planted forbidden import: the tree is copied to a
  temporary folder laid out as the import name (pulumi_kubevirt/provider, ...),
  one import is planted, and lint-imports run there must name that contract.
- Importing the provider, either adapter or the components (what preview,
  check and diff need) loads no backend client library: provider.kinds imports
  its reconcilers lazily.
- A unit run collects no other tier: neither their test modules nor the
  libvirt/kube/pulumi harness plugins are imported.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import tools

REPO = Path(__file__).resolve().parents[2]
LINT_TIMEOUT = 120


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        tools.missing("unit", "lint-imports (PyPI import-linter, in the dev extras)")
        raise AssertionError("unreachable")
    # Wide columns: contract names must not be wrapped in the report.
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=LINT_TIMEOUT, check=False
    )


def contract_names() -> dict[str, str]:
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    prefix = "importlinter:contract:"
    return {s[len(prefix) :]: config[s]["name"] for s in config.sections() if s.startswith(prefix)}


def copy_tree(dest: Path) -> None:
    """The package as import-linter sees it installed, plus what `.importlinter` needs."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "provider", dest / "pulumi_kubevirt" / "provider", ignore=ignore)
    shutil.copytree(REPO / "components", dest / "pulumi_kubevirt" / "components", ignore=ignore)
    shutil.copy(REPO / ".importlinter", dest / ".importlinter")
    (dest / "tests" / "support").mkdir(parents=True)
    for name in ("tests/__init__.py", "tests/support/__init__.py", "tests/support/import_contracts.py"):
        shutil.copy(REPO / name, dest / name)


def test_real_tree_keeps_every_contract() -> None:
    # lint-imports reads the package where it is installed: it must be this tree (the editable install)
    spec = importlib.util.find_spec("pulumi_kubevirt.provider")
    assert spec is not None and spec.origin == str(REPO / "provider" / "__init__.py"), spec
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in contract_names().values():
        assert f"{name} KEPT" in result.stdout


def test_every_contract_is_exercised_by_a_plant() -> None:
    planted = {contract for plant in PLANTS for contract in plant[2]}
    assert planted == set(contract_names())


# (file under provider/, code appended to it, the contracts that must break)
PLANTS = [
    ("models/common.py", "import libvirt\n", {"pure-no-io"}),
    ("plan.py", "\n\ndef _planted() -> None:\n    import kubernetes.client\n", {"pure-no-io"}),
    ("kubevirt/render.py", "from urllib.request import urlopen\n", {"pure-no-urllib-request"}),
    ("libvirt/images.py", "from urllib import parse, request\n", {"pure-no-urllib-request"}),
    # a new I/O module of a backend, reached from a pure sibling: no backend and (through it) no I/O
    ("kubevirt/rules.py", "from . import planted_io\n", {"pure-no-backend", "pure-no-io"}),
    ("libvirt/__init__.py", "from ..kubevirt import client\n", {"backends-independent", "layers"}),
    ("resources/__init__.py", "from .. import libvirt\n", {"adapters-no-backend"}),
    ("plugin/__init__.py", "from ..kubevirt import client\n", {"adapters-no-backend"}),
    ("../components/__init__.py", "from pulumi_kubevirt.provider.libvirt import connection\n", {"adapters-no-backend"}),
    ("models/__init__.py", "from .. import plan\n", {"layers"}),
]


@pytest.mark.parametrize(("target", "code", "broken"), PLANTS, ids=[f"{p[0]}:{sorted(p[2])}" for p in PLANTS])
def test_planted_import_breaks_the_contract(tmp_path: Path, target: str, code: str, broken: set[str]) -> None:
    copy_tree(tmp_path)
    package = tmp_path / "pulumi_kubevirt" / "provider"
    (package / "kubevirt" / "planted_io.py").write_text("import kubernetes\n")
    with (package / target).open("a") as handle:
        handle.write("\n" + code)
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    names = contract_names()
    assert {key for key, name in names.items() if f"{name} BROKEN" in result.stdout} == broken, result.stdout
    # the copy, not the installed tree, was analysed: the report names the planted import
    assert "is not allowed to import" in result.stdout


def test_importing_the_provider_loads_no_backend_client() -> None:
    code = (
        "import json, sys\n"
        "import pulumi_kubevirt.provider, pulumi_kubevirt.provider.schema, pulumi_kubevirt.components\n"
        "import pulumi_kubevirt.provider.plugin.server\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "pulumi_kubevirt.provider.kinds" in loaded
    assert {m for m in loaded if m.split(".")[0] in {"libvirt", "kubernetes", "urllib3", "pyroute2"}} == set()


HARNESS_PLUGINS = {
    "tests.harness.libvirt_fixtures",
    "tests.harness.kube_fixtures",
    "tests.harness.pulumi_fixtures",
    "tests.harness.kubevirt_control_plane",
    "tests.harness.doubles",
}


def test_unit_tier_collects_no_other_tier() -> None:
    code = (
        "import json, sys, pytest\n"
        "rc = pytest.main(['-m', 'unit', '--collect-only', '-q', '-p', 'no:cacheprovider'])\n"
        "print('MODULES=' + json.dumps(sorted(sys.modules)))\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    report, _, modules = result.stdout.rpartition("MODULES=")
    assert result.returncode == 0, report[-3000:] + result.stderr[-3000:]  # every unit module collected
    loaded = set(json.loads(modules))
    assert "tests.unit.test_layers" in loaded
    assert loaded & HARNESS_PLUGINS == set()
    other_tiers = ("tests.libvirt", "tests.kube", "tests.e2e")
    assert {m for m in loaded if m.startswith(other_tiers)} == set()
    assert "deselected" not in result.stdout  # the other tiers' folders were not even collected
