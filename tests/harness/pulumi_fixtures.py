"""E2E tier fixtures: the real Pulumi CLI, offline, with a file backend.

Role: run ``pulumi`` (built by ``scripts/build-go-tools.sh pulumi``) and its
Python language host (``pulumi-language-python``: the real Go plugin or, when the
Go proxy refuses that module, ``scripts/pulumi-language-python-standin``; plus
the upstream scripts ``pulumi-language-python-exec`` and
``pulumi-resource-pulumi-python``) against throw-away projects.

Fixtures:
- ``pulumi_cli`` (session): a ``PulumiCLI`` after checking the binary's version
  equals ``PULUMI_VERSION`` of scripts/versions.env and that the language host
  and the dynamic-provider host are present. Its environment: the cache bin and
  the project venv first on PATH, a temp ``file://`` backend, a temp
  ``PULUMI_HOME``, empty passphrase, no update checks, no plugin downloads.
- ``pulumi_stacks`` (function): a ``StackFactory``; every stack it created is
  destroyed (bounded) and removed at teardown, so a failing test leaves nothing.

Helpers: ``write_python_project`` writes a Pulumi.yaml (runtime python, the
project venv as ``virtualenv``) plus program files (``StackFactory.python``: one
program and a fresh stack of it); ``PulumiCLI.stack_run`` runs a command against a
stack, ``config`` sets plain config, ``printed`` keeps what every command printed
and ``backend_files_holding`` searches the state backend (the secrets tests);
``preview_changes`` / ``up_changes`` return the engine's change counts from
``--json`` output.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness import tools

TIER = "e2e"
VENV = Path(os.environ.get("PKV_VENV", tools.REPO / ".venv"))
DEFAULT_TIMEOUT = 600.0
VERSION_TIMEOUT = 30.0
TEARDOWN_TIMEOUT = 300.0
# The language host and what it runs: all must sit in the cache bin (or on PATH).
LANGUAGE_HOST_FILES = ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python")


class PulumiError(AssertionError):
    """A pulumi command failed or timed out; the message carries its full stdout/stderr."""


def _describe(args: Sequence[str], cwd: Path, what: str, stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    """A readable report of one pulumi invocation."""

    def text(s: str | bytes | None) -> str:
        return s.decode(errors="replace") if isinstance(s, bytes) else (s or "")

    return (
        f"`pulumi {' '.join(args)}` (cwd {cwd}) {what}\n--- stdout ---\n{text(stdout)}\n--- stderr ---\n{text(stderr)}"
    )


def parse_json_stream(text: str) -> list[Any]:
    """Every JSON value in ``text`` (``up --json`` writes one event object after another)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


@dataclass
class PulumiCLI:
    """The pulumi binary plus the isolated, offline environment every command runs in."""

    binary: Path
    env: dict[str, str]
    backend_dir: Path
    home: Path
    printed: list[str] = field(default_factory=list)
    """What every command printed (stdout, then stderr), in order: a test can check that a value
    was never shown."""

    def run(
        self,
        args: Sequence[str],
        cwd: Path,
        env_extra: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS`` in ``cwd``; raise ``PulumiError`` (with all output) on timeout or, if
        ``check``, on a non-zero exit."""
        env = {**self.env, **(env_extra or {})}
        try:
            proc = subprocess.run(
                [str(self.binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as err:
            raise PulumiError(_describe(args, cwd, f"timed out after {timeout:.0f}s", err.stdout, err.stderr)) from err
        self.printed.append(proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            raise PulumiError(_describe(args, cwd, f"exited {proc.returncode}", proc.stdout, proc.stderr))
        return proc

    def stack_run(
        self,
        cwd: Path,
        stack: str,
        *args: str,
        env_extra: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``pulumi ARGS --stack STACK`` in ``cwd`` (as ``run``)."""
        return self.run([*args, "--stack", stack], cwd=cwd, env_extra=env_extra, timeout=timeout, check=check)

    def config(self, cwd: Path, stack: str, values: Mapping[str, str]) -> None:
        """``pulumi config set KEY VALUE`` of each item (plain config, not --secret)."""
        for key, value in values.items():
            self.stack_run(cwd, stack, "config", "set", key, value)

    def backend_files_holding(self, needle: str) -> list[str]:
        """Files under the state backend (state, history, backups) whose bytes contain ``needle``."""
        raw = needle.encode()
        return [str(p) for p in self.backend_dir.rglob("*") if p.is_file() and raw in p.read_bytes()]

    def version(self) -> str:
        """``pulumi version``, e.g. ``v3.259.0``."""
        return self.run(["version"], cwd=self.home, timeout=VERSION_TIMEOUT).stdout.strip()

    def stack_init(self, cwd: Path, prefix: str = "test") -> str:
        """Create (and select) a fresh stack ``<prefix>-<random>`` of the project in ``cwd``; return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.run(["stack", "init", name], cwd=cwd)
        return name

    def preview_changes(self, cwd: Path, stack: str, *extra: str) -> dict[str, int]:
        """``pulumi preview --json``: the change summary (op -> count, e.g. ``{"create": 1}``)."""
        out = self.stack_run(cwd, stack, "preview", "--json", *extra).stdout
        digest = json.loads(out)
        return {op: int(n) for op, n in digest.get("changeSummary", {}).items()}

    def up_changes(self, cwd: Path, stack: str, *extra: str) -> dict[str, int]:
        """``pulumi up --yes --skip-preview --json``: the update's resource changes (op -> count)."""
        out = self.stack_run(cwd, stack, "up", "--yes", "--skip-preview", "--json", *extra).stdout
        summaries = [e["summaryEvent"] for e in parse_json_stream(out) if isinstance(e, dict) and "summaryEvent" in e]
        if not summaries:
            raise PulumiError(f"`pulumi up --json` printed no summaryEvent:\n{out}")
        return {op: int(n) for op, n in summaries[-1].get("resourceChanges", {}).items()}

    def outputs(self, cwd: Path, stack: str) -> dict[str, Any]:
        """``pulumi stack output --json`` (secrets shown)."""
        out = self.stack_run(cwd, stack, "stack", "output", "--json", "--show-secrets").stdout
        result: dict[str, Any] = json.loads(out)
        return result

    def resources(self, cwd: Path, stack: str) -> list[dict[str, Any]]:
        """The resources of the stack's checkpoint (``pulumi stack export``), the stack resource included."""
        out = self.stack_run(cwd, stack, "stack", "export").stdout
        resources: list[dict[str, Any]] = json.loads(out).get("deployment", {}).get("resources") or []
        return resources


def write_python_project(directory: Path, name: str, files: Mapping[str, str]) -> Path:
    """Write ``Pulumi.yaml`` (runtime python, the project venv as virtualenv) and ``files`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    virtualenv: {VENV}\n"
        "description: pulumi-kubevirt e2e test project\n"
    )
    for rel, text in files.items():
        (directory / rel).write_text(text)
    return directory


@dataclass
class StackFactory:
    """Creates stacks and, at teardown, destroys and removes each one it created."""

    cli: PulumiCLI
    created: list[tuple[Path, str]] = field(default_factory=list)

    def __call__(self, cwd: Path, prefix: str = "test") -> str:
        """A fresh stack of the project in ``cwd``."""
        name = self.cli.stack_init(cwd, prefix)
        self.created.append((cwd, name))
        return name

    def python(self, directory: Path, name: str, program: str, *, prefix: str = "test") -> tuple[Path, str]:
        """A Python project ``name`` in ``directory`` whose ``__main__.py`` is ``program``, and a fresh stack of it."""
        project = write_python_project(directory, name, {"__main__.py": program})
        return project, self(project, prefix)

    def teardown(self) -> list[str]:
        """Destroy + remove every created stack; return the failures (does not raise, so all are tried)."""
        failures: list[str] = []
        for cwd, name in reversed(self.created):
            for args in (("destroy", "--yes"), ("stack", "rm", "--yes", "--force")):
                try:
                    self.cli.stack_run(cwd, name, *args, timeout=TEARDOWN_TIMEOUT)
                except PulumiError as err:
                    failures.append(str(err))
        return failures


def _environment(backend: Path, home: Path) -> dict[str, str]:
    """The offline environment of every pulumi command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        PATH=os.pathsep.join([str(tools.BIN), str(VENV / "bin"), os.environ.get("PATH", "/usr/bin:/bin")]),
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_CONFIG_PASSPHRASE="",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="1",
        PULUMI_HOME=str(home),
    )
    return env


@pytest.fixture(scope="session")
def pulumi_cli(tmp_path_factory: pytest.TempPathFactory) -> PulumiCLI:
    """The real Pulumi CLI at the pinned version, with its Python language host, in an offline sandbox."""
    binary = tools.tool(TIER, "pulumi")
    for name in LANGUAGE_HOST_FILES:
        tools.tool(TIER, name)
    backend = tmp_path_factory.mktemp("pulumi-state")
    home = tmp_path_factory.mktemp("pulumi-home")
    cli = PulumiCLI(binary=binary, env=_environment(backend, home), backend_dir=backend, home=home)
    want = "v" + tools.versions()["PULUMI_VERSION"]
    got = cli.version()
    if got != want:
        tools.missing(TIER, f"pulumi {want} (found {got} at {binary}; rebuild with scripts/build-go-tools.sh pulumi)")
    return cli


@pytest.fixture
def pulumi_stacks(pulumi_cli: PulumiCLI) -> Iterator[StackFactory]:
    """Stack factory; everything it created is destroyed and removed after the test."""
    factory = StackFactory(pulumi_cli)
    yield factory
    failures = factory.teardown()
    if failures:
        pytest.fail("stack teardown failed:\n" + "\n\n".join(failures), pytrace=False)
