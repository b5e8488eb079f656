"""Tier markers by folder, and each tier's fixtures loaded only for that tier.

tests/unit -> unit, tests/libvirt -> libvirt, tests/kube -> kube, tests/e2e -> e2e.
Select a tier with `pytest -m libvirt`; `make test` runs them all.

The harness plugins (tests/harness/*_fixtures.py) import the service clients
(libvirt, kubernetes) and start services, so none is loaded for the unit tier:
a tier's plugins are registered when pytest starts collecting that tier's
folder (their fixtures are then global, as `pytest_plugins` would make them).
And a `-m` expression made only of tier names (`-m unit`, `-m "kube or e2e"`)
does not collect the other tiers' folders at all, since their test modules
import the clients too: `pytest -m unit` needs no service and no client.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression  # the parser of `-m` itself

ROOT = Path(__file__).parent

# The fixture plugins each tier's tests use; e2e stacks run on libvirt and on the kube apiserver.
TIER_PLUGINS: dict[str, tuple[str, ...]] = {
    "unit": (),
    "libvirt": ("tests.harness.libvirt_fixtures",),
    "kube": ("tests.harness.kube_fixtures",),
    "e2e": ("tests.harness.libvirt_fixtures", "tests.harness.kube_fixtures", "tests.harness.pulumi_fixtures"),
}
_TIERS = tuple(TIER_PLUGINS)

# A tier's conftest and test modules import its plugins too (for KubeCluster and the like), and a
# folder's conftest is imported before pytest_collectstart registers the plugins: marked here, the
# plugins' asserts are rewritten whoever imports them first (marking imports nothing).
pytest.register_assert_rewrite(*sorted({plugin for plugins in TIER_PLUGINS.values() for plugin in plugins}))


def tier_of(path: Path) -> str | None:
    """The tier whose folder holds `path` (or is `path`), if any."""
    try:
        parts = path.relative_to(ROOT).parts
    except ValueError:
        return None
    return parts[0] if parts and parts[0] in _TIERS else None


def tier_selected(tier: str, markexpr: str) -> bool:
    """Whether `-m markexpr` may select tests of `tier`.

    Exact when the expression names only tiers (every test of a tier folder
    carries exactly that tier's marker); True, i.e. collect and let pytest
    decide per test, when it names anything else.
    """
    words = set(re.split(r"[\s()]+", markexpr)) - {"", "and", "or", "not"}
    if not words or not words <= set(_TIERS):
        return True
    return Expression.compile(markexpr).evaluate(lambda name, /, **_: name == tier)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    tier = tier_of(collection_path)
    if tier is not None and collection_path == ROOT / tier and not tier_selected(tier, config.option.markexpr):
        return True
    return None


def pytest_collectstart(collector: pytest.Collector) -> None:
    tier = tier_of(collector.path)
    for plugin in TIER_PLUGINS.get(tier or "", ()):
        collector.config.pluginmanager.import_plugin(plugin)  # a no-op once registered


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item.path)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/unit/golden/* from the renderers")


# -- the end of a run ---------------------------------------------------------------------------
# A tier leaves daemon threads blocked in native code (TLS reads of the provider's shared watches
# and of the node-side doubles, whose services the session has just stopped). CPython's
# finalization then tears those threads down, and on glibc that can abort the process (SIGABRT, exit
# 134) after every test passed, with no output: the kube tier did once on CI. The verdict is known
# by then, so the run ends with it, naming the threads, without finalizing the interpreter.
_EXIT: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    running = [t.name for t in threading.enumerate() if t.daemon and t.is_alive()]
    if "status" not in _EXIT or not running:
        return
    print(f"[tests] ending with exit status {_EXIT['status']}; daemon threads left: {', '.join(sorted(running))}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT["status"])
