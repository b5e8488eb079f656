"""Packaging is true: the wheel built from the tree holds every package, and works installed.

The wheel is built offline (`pip wheel --no-build-isolation --no-index`, with
the dev extras' setuptools) from a copy of what the sdist would hold, then
installed, not editable and without dependencies, into a fresh venv whose
dependencies come from the dev venv through a .pth line; the package must
import from that venv's site-packages, never from this tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from pulumi_kubevirt.provider.schema import build_schema

REPO = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = CONFIG["tool"]["setuptools"]
TIMEOUT = 120
# offline: the build backend is the dev venv's setuptools, nothing is downloaded
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index"]


def package_folders() -> dict[str, Path]:
    """Every package of the tree (a folder with __init__.py), by its import name."""
    found: dict[str, Path] = {}
    for name, top in SETUPTOOLS["package-dir"].items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            found[".".join([name, *rel.parts])] = init.parent
    return found


def test_every_package_folder_is_packaged() -> None:
    assert set(package_folders()) == set(SETUPTOOLS["packages"])


def test_package_data_names_only_files_that_exist() -> None:
    for package, patterns in SETUPTOOLS["package-data"].items():
        folder = package_folders()[package]
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: package-data {pattern!r} matches nothing in {folder}"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and the build log."""
    work = tmp_path_factory.mktemp("packaging")
    src, out = work / "src", work / "dist"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for top in SETUPTOOLS["package-dir"].values():
        shutil.copytree(REPO / top, src / top, ignore=ignore)
    for name in ("pyproject.toml", CONFIG["project"]["readme"]):
        shutil.copy(REPO / name, src / name)
    result = subprocess.run(
        [*PIP_WHEEL, "--wheel-dir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    (wheel,) = out.glob("pulumi_kubevirt-*.whl")
    return wheel, log


def test_wheel_holds_every_module_and_marker_and_nothing_else(build: tuple[Path, str]) -> None:
    wheel, _ = build
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for package, folder in package_folders().items():
        prefix = package.replace(".", "/")
        expected |= {f"{prefix}/{py.name}" for py in folder.glob("*.py")}
        expected |= {f"{prefix}/{p}" for p in SETUPTOOLS["package-data"].get(package, [])}
    assert "pulumi_kubevirt/provider/py.typed" in expected
    assert "pulumi_kubevirt/components/py.typed" in expected
    assert "pulumi_kubevirt/sdk/pulumi-plugin.json" in expected  # the generated SDK ships (make sdk)
    shipped = {n for n in names if ".dist-info/" not in n}
    assert shipped == expected


def test_build_has_no_setuptools_deprecation(build: tuple[Path, str]) -> None:
    wheel, log = build
    assert "SetuptoolsDeprecationWarning" not in log
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: Apache-2.0" in archive.read(metadata).decode()


def run_isolated(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -I` (no cwd, PYTHONPATH or user site on sys.path) outside the tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(python), "-I", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def test_installed_wheel_imports_and_prints_the_schema(build: tuple[Path, str], tmp_path: Path) -> None:
    wheel, _ = build
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=TIMEOUT,
    )
    for script in CONFIG["project"].get("scripts", {}):  # the plugin's executable, found on PATH by pulumi
        assert (venv / "bin" / script).is_file(), f"console script {script} not installed"
    site = Path(
        run_isolated(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).stdout.strip()
    )
    assert (site / "pulumi_kubevirt" / "provider" / "__init__.py").is_file()
    (site / "dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )  # pydantic, pulumi, ... of the dev venv

    code = (
        "import json, pulumi_kubevirt.provider as p, pulumi_kubevirt.components as c, pulumi_kubevirt.sdk as s\n"
        "print(json.dumps([p.__file__, c.__file__, sorted(p.__all__), s.__file__, s._utilities.get_version()]))\n"
    )
    result = run_isolated(python, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    provider, components, exported, sdk, sdk_version = json.loads(result.stdout)
    assert Path(provider).is_relative_to(site)  # the installed copy, not this tree
    assert Path(components).is_relative_to(site)
    assert {"VirtualMachine", "Disk", "Bridge", "Migration"} <= set(exported)
    assert Path(sdk).is_relative_to(site)
    assert sdk_version == CONFIG["project"]["version"]  # the plugin version the SDK asks the engine for

    result = run_isolated(python, "-m", "pulumi_kubevirt.provider.schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == json.loads(json.dumps(build_schema()))
