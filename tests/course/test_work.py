"""export_work / import_work / reset_notebook on a temporary course folder: nothing is lost."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from tinytorch.course import work
from tinytorch.course.work import MANIFEST, export_work, import_work, reset_notebook

BINARY = bytes(range(256)) * 4


def _notebook(answer: str, version: str = "v1") -> bytes:
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Attention"},
            {
                "cell_type": "markdown",
                "id": "answer",
                "metadata": {"nbgrader": {"solution": True, "grade_id": "q1"}},
                "source": answer,
            },
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
        # The manifest (what the export holds, with checksums) is the only addition.
        assert set(zf.namelist()) == WORK | {MANIFEST}
        for name in WORK:
            assert zf.read(name) == (course / name).read_bytes(), name
        listed = json.loads(zf.read(MANIFEST))["files"]
    assert set(listed) == WORK
    assert listed["runs/deep/weights.bin"]["sha256"] == hashlib.sha256(BINARY).hexdigest()
    assert listed["runs/deep/weights.bin"]["size"] == len(BINARY)
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
        ideas = b"# Ideas\n"
        zf.writestr("project/ideas.md", ideas)
        listed = {
            "empty folder": {"type": "directory"},
            "project/ideas.md": {"type": "file", "size": len(ideas), "sha256": hashlib.sha256(ideas).hexdigest()},
        }
        zf.writestr(".tinygpt-work.json", json.dumps({"tinygpt_work": 1, "files": listed}))
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


# ------------------------------------------------------------ nothing is ever destroyed


def test_interrupted_export_keeps_the_previous_zip(course, monkeypatch):
    first = export_work(root=course)
    good = first.read_bytes()
    (course / "notes.txt").write_text("changed after the first export\n")
    listing = sorted(p.name for p in course.iterdir())

    def power_cut(self, zinfo_or_arcname, data, *args, **kwargs):
        raise KeyboardInterrupt("the tab was closed halfway")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", power_cut)
    with pytest.raises(KeyboardInterrupt):
        export_work(root=course)
    monkeypatch.undo()
    assert first.read_bytes() == good, "an interrupted export replaced the previous zip"
    assert sorted(p.name for p in course.iterdir()) == listing, "a temporary file was left behind"


def test_interrupted_rename_leaves_no_half_file(course, monkeypatch):
    first = export_work(root=course)
    good = first.read_bytes()
    listing = sorted(p.name for p in course.iterdir())

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        export_work(root=course)
    monkeypatch.undo()
    assert first.read_bytes() == good
    assert sorted(p.name for p in course.iterdir()) == listing, "a temporary file was left behind"


def _cut(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def test_import_refuses_a_cut_short_zip(course, tmp_path):
    dest = export_work(tmp_path / "backup.zip", root=course)
    half = tmp_path / "half.zip"
    half.write_bytes(_cut(dest.read_bytes(), 0.6))
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match=r"half\.zip is not a zip file \(or it was cut short"):
        import_work(half, root=fresh)
    assert not fresh.exists() or not any(fresh.iterdir())


def _rewrite(src: Path, dest: Path, change) -> None:
    """Copy a zip member by member; change(name, data) -> new data, or None to drop the member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)


def test_import_refuses_an_incomplete_export_naming_the_missing_file(course, tmp_path):
    dest = export_work(tmp_path / "backup.zip", root=course)
    partial = tmp_path / "partial.zip"
    _rewrite(dest, partial, lambda name, data: None if name == "runs/deep/weights.bin" else data)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(ValueError) as err:
        import_work(partial, root=fresh)
    assert str(err.value) == (
        "import_work: partial.zip is incomplete: runs/deep/weights.bin is listed in it but missing; "
        "nothing was changed. "
        "The export or download was probably cut short: use another copy or export again."
    )
    assert list(fresh.iterdir()) == []


def test_import_refuses_a_file_changed_after_export(course, tmp_path):
    dest = export_work(tmp_path / "backup.zip", root=course)
    edited = tmp_path / "edited.zip"
    _rewrite(dest, edited, lambda name, data: b"tampered" if name == "notes.txt" else data)
    with pytest.raises(ValueError) as err:
        import_work(edited, root=tmp_path / "fresh")
    assert str(err.value) == (
        "import_work: edited.zip is damaged: notes.txt does not match the checksum recorded at export; "
        "nothing was changed."
    )


def test_import_refuses_a_damaged_deflate_stream_naming_the_file(course, tmp_path):
    """Flipped bytes inside a compressed member: a clear ValueError, not a bare zlib.error."""
    dest = export_work(tmp_path / "backup.zip", root=course)
    data = bytearray(dest.read_bytes())
    with zipfile.ZipFile(dest) as zf:
        info = zf.getinfo("runs/deep/weights.bin")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start, start + info.compress_size):
        data[i] ^= 0x5A
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(ValueError) as err:
        import_work(damaged, root=fresh)
    message = str(err.value)
    assert message.startswith("import_work: damaged.zip is damaged: runs/deep/weights.bin cannot be read ("), message
    assert message.endswith("); nothing was changed. Use another copy of your zip, or export again where your work is.")
    assert list(fresh.iterdir()) == [], "a damaged zip restored some files"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_import_never_writes_through_a_symlinked_folder(course, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "runs").symlink_to(outside, target_is_directory=True)
    dest = export_work(tmp_path / "backup.zip", root=course)  # holds runs/deep/weights.bin
    with pytest.raises(ValueError) as err:
        import_work(dest, root=target)
    message = str(err.value)
    assert message.startswith("import_work: the zip's 'runs/deep/weights.bin' would be written to "), message
    assert f"outside {target.resolve()}" in message
    assert list(outside.iterdir()) == [], "import_work wrote outside its target through a symlink"
    assert sorted(p.name for p in target.iterdir()) == ["runs"], "files were written before the refusal"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_import_never_writes_through_a_symlinked_file(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not the student's")
    target = tmp_path / "target"
    target.mkdir()
    (target / "notes.txt").symlink_to(outside)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("notes.txt", "overwrite")
    with pytest.raises(ValueError, match=r"the zip's 'notes\.txt' would be written to .*secret\.txt, outside"):
        import_work(evil, root=target)
    assert outside.read_text() == "not the student's"


def test_the_format_has_one_home():
    """work.py reads the zip format from work_format.json (the page script gets the same file)."""
    shared = json.loads((Path(work.__file__).parent / "work_format.json").read_text())
    assert work.MANIFEST == shared["manifest"] == ".tinygpt-work.json"
    assert work.SKIPPED_DIRS == set(shared["skipped_dirs"])
    assert work.SHIPPED_DATA == set(shared["shipped_data"])
