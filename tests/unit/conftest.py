"""Unit tier helpers: XML validation with libvirt's own RelaxNG schemas."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.harness import tools


def validate_xml(xml: str, kind: str) -> None:
    """Fail unless `virt-xml-validate` (libvirt's schemas) accepts the document."""
    exe = shutil.which("virt-xml-validate")
    if exe is None:
        tools.missing("unit", "virt-xml-validate (Debian package libvirt-clients)")
        raise AssertionError("unreachable")
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
        handle.write(xml)
        handle.flush()
        result = subprocess.run([exe, handle.name, kind], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"{kind} XML rejected by libvirt's schema:\n{result.stderr}\n{xml}"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(Path(__file__).parent / "golden", request.config.getoption("--update-golden"))


class Golden:
    """Compares rendered text with tests/unit/golden/<name>; only --update-golden writes.

    A missing golden file fails like a differing one: a new golden is created
    on purpose (`pytest --update-golden`), reviewed, and committed.
    """

    def __init__(self, folder: Path, update: bool) -> None:
        self.folder, self.update = folder, update

    def check(self, name: str, text: str) -> None:
        path = self.folder / name
        if self.update:
            path.write_text(text)
        if not path.exists():
            pytest.fail(
                f"golden file {path.relative_to(self.folder.parent)} is missing: "
                "run `pytest -m unit --update-golden`, review it and commit it",
                pytrace=False,
            )
        assert text == path.read_text(), f"{name} differs from the golden file (pytest --update-golden to accept)"
