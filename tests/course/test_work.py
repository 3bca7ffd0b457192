"""export_work / import_work / reset_notebook on a temporary course folder: nothing is lost."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tinytorch.course.work import export_work, import_work, reset_notebook

BINARY = bytes(range(256)) * 4


def _notebook(answer: str, version: str = "v1") -> bytes:
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Attention"},
            {"cell_type": "markdown", "id": "answer", "metadata": {"nbgrader": {"solution": True, "grade_id": "q1"}}, "source": answer},
        ],
        "metadata": {"tinygpt": {"course_version": version, "notebook": "02_attention"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


@pytest.fixture()
def course(tmp_path: Path) -> Path:
    """A student's folder: notebooks, answers, nested files, plus things that are not work."""
    root = tmp_path / "course"
    (root / "data").mkdir(parents=True)
    (root / "runs" / "deep").mkdir(parents=True)
    (root / ".ipynb_checkpoints").mkdir()
    (root / "__pycache__").mkdir()
    (root / "02_attention.ipynb").write_bytes(_notebook("My answer: weighted average ✓"))
    (root / "notes.txt").write_bytes("naïve ünïcödé\r\nline 2\n".encode())
    (root / "runs" / "deep" / "weights.bin").write_bytes(BINARY)
    (root / "data" / "my_text.txt").write_text("my own corpus\n")
    (root / "data" / "tinyshakespeare.txt").write_text("First Citizen:\n")  # shipped: skipped
    (root / ".ipynb_checkpoints" / "02_attention-checkpoint.ipynb").write_bytes(b"{}")
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (root / "old_export.zip").write_bytes(b"PK")
    return root


WORK = {"02_attention.ipynb", "notes.txt", "runs/deep/weights.bin", "data/my_text.txt"}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_export_holds_every_work_file_and_nothing_else(course, capsys):
    dest = export_work(root=course)
    assert dest == course / "my_work.zip"
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        assert set(zf.namelist()) == WORK
        for name in WORK:
            assert zf.read(name) == (course / name).read_bytes(), name
    assert "4 file(s)" in capsys.readouterr().out


def test_export_import_round_trip_restores_every_byte(course, tmp_path):
    before = {k: v for k, v in _snapshot(course).items() if k in WORK}
    dest = export_work(tmp_path / "backup.zip", root=course)
    fresh = tmp_path / "fresh"  # a cleared browser: nothing there
    fresh.mkdir()
    result = import_work(dest, root=fresh)
    assert sorted(result["added"]) == sorted(WORK)
    assert result["replaced"] == {} and result["unchanged"] == []
    assert _snapshot(fresh) == before


def test_import_keeps_a_backup_of_what_it_replaces(course, tmp_path):
    dest = export_work(tmp_path / "backup.zip", root=course)
    newer = _notebook("A newer answer written after the export")
    (course / "02_attention.ipynb").write_bytes(newer)
    result = import_work(dest, root=course)
    backup = result["replaced"]["02_attention.ipynb"]
    assert backup.startswith("02_attention.backup-") and backup.endswith(".ipynb")
    assert (course / backup).read_bytes() == newer, "the replaced answer was not kept"
    assert b"My answer: weighted average" in (course / "02_attention.ipynb").read_bytes()
    assert set(result["unchanged"]) == WORK - {"02_attention.ipynb"}
    # Importing again changes nothing and makes no new backup.
    again = import_work(dest, root=course)
    assert again["replaced"] == {} and again["added"] == []
    assert len(list(course.glob("02_attention.backup-*"))) == 1


def test_import_refuses_unsafe_paths_and_changes_nothing(course, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../outside.txt", "escape")
    before = _snapshot(course)
    with pytest.raises(ValueError, match=r"unsafe path '\.\./outside\.txt'"):
        import_work(evil, root=course)
    assert not (tmp_path / "outside.txt").exists()
    assert _snapshot(course) == before


def test_import_reads_a_browser_export(course, tmp_path):
    """The page's zips carry a manifest and folder entries; the kernel restores the files only."""
    browser_zip = tmp_path / "tinygpt-work-20261125-0930.zip"
    with zipfile.ZipFile(browser_zip, "w") as zf:  # stored, like the page's writer
        zf.writestr("empty folder/", b"")
        zf.writestr("project/ideas.md", "# Ideas\n")
        zf.writestr(".tinygpt-work.json", json.dumps({"tinygpt_work": 1, "files": {}}))
    result = import_work(browser_zip, root=course)
    assert result["added"] == ["project/ideas.md"]
    assert (course / "empty folder").is_dir()
    assert not (course / ".tinygpt-work.json").exists()


def test_import_rejects_a_file_that_is_not_a_zip(course):
    (course / "not_a.zip").write_text("hello")
    with pytest.raises(ValueError, match="not_a.zip is not a zip file"):
        import_work(course / "not_a.zip", root=course)
    with pytest.raises(FileNotFoundError, match="upload the zip"):
        import_work(course / "missing.zip", root=course)


def test_reset_notebook_keeps_the_students_copy(course, tmp_path):
    shipped = tmp_path / "shipped.ipynb"
    shipped.write_bytes(_notebook("YOUR ANSWER HERE", version="v2"))
    mine = (course / "02_attention.ipynb").read_bytes()
    backup = reset_notebook("02_attention", root=course, shipped=shipped)
    assert backup.parent == course and backup.name.startswith("02_attention.backup-")
    assert backup.read_bytes() == mine
    assert (course / "02_attention.ipynb").read_bytes() == shipped.read_bytes()
    # A second reset in the same minute must not overwrite the first backup.
    second = reset_notebook("02_attention.ipynb", root=course, shipped=shipped.read_bytes())
    assert second != backup and backup.read_bytes() == mine


def test_reset_notebook_explains_what_it_needs(course):
    with pytest.raises(ValueError, match="pass shipped="):
        reset_notebook("02_attention", root=course)
    with pytest.raises(FileNotFoundError, match="99_missing.ipynb not found"):
        reset_notebook("99_missing", root=course, shipped=b"{}")
    mine = (course / "02_attention.ipynb").read_bytes()
    with pytest.raises(ValueError, match="not valid notebook JSON"):
        reset_notebook("02_attention", root=course, shipped=b"<html>404</html>")
    assert (course / "02_attention.ipynb").read_bytes() == mine
    assert not list(course.glob("*.backup-*"))
