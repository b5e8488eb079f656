"""House rule 2: pure modules import no kubernetes, libvirt or pulumi; packaging lists every package."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PURE = [
    "provider/models",
    "provider/plan.py",
    "provider/core.py",
    "provider/kinds.py",
    "provider/outputs.py",
    "provider/schema.py",
    "provider/errors.py",
    "provider/libvirt/render.py",
    "provider/libvirt/parse.py",
    "provider/libvirt/rules.py",
    "provider/libvirt/images.py",
]
FORBIDDEN = ("libvirt", "kubernetes", "pulumi", "pulumi_kubernetes", "pyroute2")


def _files() -> list[Path]:
    out: list[Path] = []
    for entry in PURE:
        path = REPO / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO)))
def test_pure_module_imports_no_backend_at_module_level(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = []
    for node in tree.body:  # module level only: kinds.py imports backends lazily inside factories
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        bad += [n for n in names if n.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_every_package_folder_is_packaged() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = {v: k for k, v in config["package-dir"].items()}
    found = set()
    for top, name in mapping.items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            found.add(".".join([name, *rel.parts]))
    assert found == set(config["packages"])
