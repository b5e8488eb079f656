"""`make lint` type-checks the example programs, against each adapter, proven to bite.

scripts/mypy.sh (the mypy step of `make lint`) checks every `examples/*/__main__.py`
beside `examples/_target.py`, and the root stack, under the project's mypy config
(--strict): once against the dynamic resource classes, once against the plugin's
SDK. Programs planted in a copy of examples/ (with the real `_target.py`) show it:
a misspelled keyword to `resources().VirtualMachine` is reported under both
adapters at the program's own file and line; a call only the dynamic classes
accept is reported under the plugin adapter alone; a correct program passes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 600  # two cold mypy runs over pulumi and the SDK on a busy machine

HEADER = """\
import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target, resources

"""

# folder -> (program body after HEADER, {line of the body: the adapters whose pass must report it})
PLANTS = {
    "test-good": (
        'vm = resources().VirtualMachine("good", target=kubevirt_target(), memory="1Gi")\n'
        'pulumi.export("status", vm.printable_status)\n',
        {},
    ),
    "test-typo": (
        'vm = resources().VirtualMachine("typo", target=kubevirt_target(), memroy="1Gi")\n',
        {1: {"dynamic", "plugin"}},
    ),
    # the dynamic Snapshot takes the VirtualMachine resource, the SDK's only its name
    "test-dynamic-only": (
        'vm = resources().VirtualMachine("vm", target=kubevirt_target(), memory="1Gi")\n'
        'resources().Snapshot("snap", vm=vm, target=kubevirt_target())\n',
        {2: {"plugin"}},
    ),
}


def errors_by_adapter(output: str) -> dict[str, set[tuple[str, int, str]]]:
    """(folder, line, message) of each error, under the adapter pass that reported it."""
    found: dict[str, set[tuple[str, int, str]]] = {}
    adapter = None
    for line in output.splitlines():
        header = re.match(r"mypy: programs against the (\w+) adapter", line)
        if header:
            adapter = header[1]
            found[adapter] = set()
            continue
        error = re.match(r".*/examples/([\w-]+)/__main__\.py:(\d+): error: (.*)", line)
        if error:
            assert adapter is not None, output
            found[adapter].add((error[1], int(error[2]), error[3]))
    return found


def test_make_lint_runs_the_program_checks() -> None:
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", "lint"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "scripts/mypy.sh" in recipe.split(), recipe  # no arguments: the package, the harness and the programs
    script = (REPO / "scripts" / "mypy.sh").read_text()
    assert 'check_programs "$EXAMPLES" "$EXAMPLES"/*/__main__.py "$ROOT/__main__.py"' in script


def test_planted_examples_are_type_checked_against_both_adapters(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(REPO / "examples" / "_target.py", examples / "_target.py")
    for folder, (body, _) in PLANTS.items():
        (examples / folder).mkdir()
        (examples / folder / "__main__.py").write_text(HEADER + body)
    result = subprocess.run(
        [str(REPO / "scripts" / "mypy.sh"), "--examples", str(examples)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    found = errors_by_adapter(result.stdout)
    assert set(found) == {"dynamic", "plugin"}, report
    offset = HEADER.count("\n")
    for adapter, errors in found.items():
        expected = {
            (folder, offset + line)
            for folder, (_, lines) in PLANTS.items()
            for line, adapters in lines.items()
            if adapter in adapters
        }
        assert {(folder, line) for folder, line, _ in errors} == expected, (adapter, report)
        typo = [message for folder, _, message in errors if folder == "test-typo"]
        assert any('Unexpected keyword argument "memroy"' in message for message in typo), (adapter, report)
