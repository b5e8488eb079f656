"""Smoke test of the e2e tool chain: pulumi CLI -> Python language host -> program -> dynamic provider.

One Python program with one ``pulumi.dynamic`` resource that writes a file on
create and removes it on delete. The provider class lives in ``fileprov.py`` next
to ``__main__.py`` so the dynamic-provider host (``pulumi-resource-pulumi-python``)
can import it when it unpickles the provider. Proves: ``up`` creates (file on
disk, output in ``stack output``), a second ``up`` changes nothing, ``destroy``
deletes (file gone, no resources left), ``preview --diff`` renders.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory, write_python_project

PROVIDER = '''\
"""A dynamic provider managing one text file."""

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class FileProvider(ResourceProvider):
    """Writes ``content`` to ``path`` on create, removes it on delete."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        Path(props["path"]).write_text(props["content"])
        return CreateResult(id_=props["path"], outs=dict(props))

    def delete(self, id: str, props: dict[str, Any]) -> None:
        Path(id).unlink(missing_ok=True)


class File(Resource):
    """A file on the local disk."""

    path: pulumi.Output[str]
    content: pulumi.Output[str]

    def __init__(self, name: str, path: str, content: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FileProvider(), name, {"path": path, "content": content}, opts)
'''

PROGRAM = '''\
"""One file resource; exports its path and content."""

import pulumi

from fileprov import File

config = pulumi.Config()
f = File("smoke", path=config.require("path"), content="hello from pulumi-kubevirt e2e\\n")
pulumi.export("path", f.path)
pulumi.export("content", f.content)
'''


def _project(tmp_path: Path, cli: PulumiCLI, stacks: StackFactory) -> tuple[Path, str, Path]:
    """The smoke project, a fresh stack with ``path`` configured, and the file it manages."""
    project = write_python_project(tmp_path / "project", "pkv-smoke", {"__main__.py": PROGRAM, "fileprov.py": PROVIDER})
    stack = stacks(project, "smoke")
    target = tmp_path / "managed.txt"
    cli.config(project, stack, {"path": str(target)})
    return project, stack, target


def test_up_noop_destroy(tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory) -> None:
    """Create, re-apply without changes, destroy: the file follows the stack."""
    project, stack, target = _project(tmp_path, pulumi_cli, pulumi_stacks)

    created = pulumi_cli.up_changes(project, stack)
    assert created.get("create") == 2, created  # the stack resource + the file
    assert target.read_text() == "hello from pulumi-kubevirt e2e\n"
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs == {"path": str(target), "content": "hello from pulumi-kubevirt e2e\n"}

    again = pulumi_cli.up_changes(project, stack)
    assert set(again) == {"same"} and again["same"] == 2, again
    pulumi_cli.stack_run(project, stack, "up", "--yes", "--expect-no-changes")

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    assert not target.exists()
    assert pulumi_cli.resources(project, stack) == []


def test_preview_diff(tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory) -> None:
    """``preview --diff`` shows the planned create with its inputs; ``preview --json`` counts it; nothing is written."""
    project, stack, target = _project(tmp_path, pulumi_cli, pulumi_stacks)

    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert "+ pulumi-python:dynamic:Resource" in diff or "pulumi-python:dynamic:Resource" in diff, diff
    assert str(target) in diff, diff
    assert "hello from pulumi-kubevirt e2e" in diff, diff

    assert pulumi_cli.preview_changes(project, stack) == {"create": 2}
    assert not target.exists()


def test_program_error_is_reported(tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory) -> None:
    """A failing program fails ``up`` with its own traceback (exit 32 = already reported: no second error)."""
    project = write_python_project(
        tmp_path / "broken", "pkv-broken", {"__main__.py": "import pulumi\n\nraise ValueError('boom-from-program')\n"}
    )
    stack = pulumi_stacks(project, "broken")
    proc = pulumi_cli.stack_run(project, stack, "up", "--yes", check=False)
    assert proc.returncode != 0
    assert "ValueError: boom-from-program" in proc.stdout, proc.stdout
    assert "non-zero exit code" not in proc.stdout, proc.stdout
