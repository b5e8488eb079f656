"""The golden-file fixture: only --update-golden writes; a missing golden file fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Golden


def test_missing_golden_file_fails_and_is_not_written(tmp_path: Path) -> None:
    golden = Golden(tmp_path / "golden", update=False)
    (tmp_path / "golden").mkdir()
    missing = r"golden/new\.xml is missing: run `pytest -m unit --update-golden`"
    with pytest.raises(pytest.fail.Exception, match=missing):
        golden.check("new.xml", "<domain/>")
    assert list((tmp_path / "golden").iterdir()) == []


def test_differing_golden_file_fails_and_is_kept(tmp_path: Path) -> None:
    (tmp_path / "old.xml").write_text("<old/>")
    with pytest.raises(AssertionError, match=r"old\.xml differs from the golden file"):
        Golden(tmp_path, update=False).check("old.xml", "<new/>")
    assert (tmp_path / "old.xml").read_text() == "<old/>"


def test_update_writes_new_and_changed_golden_files(tmp_path: Path) -> None:
    (tmp_path / "old.xml").write_text("<old/>")
    golden = Golden(tmp_path, update=True)
    golden.check("old.xml", "<new/>")
    golden.check("added.xml", "<added/>")
    assert (tmp_path / "old.xml").read_text() == "<new/>"
    assert (tmp_path / "added.xml").read_text() == "<added/>"
