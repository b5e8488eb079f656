"""Tier markers by folder, and the fixtures of every tier.

tests/unit -> unit, tests/libvirt -> libvirt, tests/kube -> kube, tests/e2e -> e2e.
Select a tier with `pytest -m libvirt`; `make test` runs them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.harness.libvirt_fixtures",
    "tests.harness.kube_fixtures",
    "tests.harness.pulumi_fixtures",
]

_TIERS = ("unit", "libvirt", "kube", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        try:
            tier = Path(str(item.fspath)).relative_to(root).parts[0]
        except ValueError:
            continue
        if tier in _TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/unit/golden/* from the renderers")
