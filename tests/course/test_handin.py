"""hand_in() makes the zip nbgrader's zip_collect files: the shared name vectors, the notebooks'
bytes untouched, a manifest with each notebook's course version and sha256, and the student's
files never changed. (The page's Hand in button is checked against the same vectors in
tests/grading/test_handin_e2e.py.)"""

import hashlib
import json
import os
import re
import time
import zipfile
from calendar import timegm
from pathlib import Path

import pytest

from coursetools.cells import nbgrader_meta
from tinytorch.course import hand_in
from tinytorch.course.handin import FORMAT, course_notebooks, hand_in_name


def _snapshot(folder: Path) -> dict:
    """Every file under folder: bytes and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture()
def student_folder(builds, tmp_path):
    """A student's folder: the six course notebooks (one with an answer typed), a backup, a note."""
    folder = tmp_path / "drive"
    folder.mkdir()
    for path in builds["student"]:
        (folder / path.name).write_bytes(path.read_bytes())
    first = folder / "01_tokens_and_data.ipynb"
    notebook = json.loads(first.read_text(encoding="utf-8"))
    answer = next(c for c in notebook["cells"] if c["cell_type"] == "markdown" and nbgrader_meta(c).get("solution"))
    answer["source"] = "Characters keep the vocabulary tiny; words would not fit."
    first.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    (folder / "01_tokens_and_data.backup-20261201-0900.ipynb").write_text("{}", encoding="utf-8")
    (folder / "notes.txt").write_text("my notes", encoding="utf-8")
    old = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (old, old))
    return folder


@pytest.mark.parametrize("case", FORMAT["examples"], ids=lambda c: repr(c["student_id"]))
def test_file_names_follow_the_shared_vectors(case):
    when = None if case.get("error") else timegm(time.strptime(case["utc"], "%Y-%m-%dT%H:%M:%SZ"))
    if case.get("error"):
        with pytest.raises(ValueError, match="student id"):
            hand_in_name(case["student_id"], "course", 0)
    else:
        assert hand_in_name(case["student_id"], case["what"], when) == case["file_name"]


def test_whole_course_hand_in_holds_the_notebooks_as_saved_and_a_manifest(student_folder):
    before = _snapshot(student_folder)
    path = hand_in(" s12345 ", name="Ada Lovelace", root=student_folder)
    assert re.fullmatch(r"tinygpt-handin_s12345_\d{8}T\d{6}Z_course\.zip", path.name), path.name
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read(FORMAT["manifest"]))
        notebooks = {name: zf.read(name) for name in names if name.endswith(".ipynb")}
    course = {p.name for p in course_notebooks(student_folder)}
    assert len(course) == 6 and set(notebooks) == course, "every course notebook, no backups, no other files"
    assert names == course | {FORMAT["manifest"]}
    for name, data in notebooks.items():
        assert data == before[name][0], f"{name}: handed in bytes differ from the saved notebook"
        entry = manifest["notebooks"][name]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
        assert entry["course_version"] == json.loads(data)["metadata"]["tinygpt"]["course_version"]
    assert manifest["student_id"] == "s12345" and manifest["student_name"] == "Ada Lovelace"
    assert manifest["what"] == "course" and manifest["tinygpt_handin"] == FORMAT["version"]
    after = _snapshot(student_folder)
    after.pop(path.name)
    assert after == before, "handing in changed the student's files"


def test_one_notebook_and_its_name(student_folder):
    path = hand_in("ada@uni.example", notebook="01_tokens_and_data", root=student_folder)
    assert path.name.startswith("tinygpt-handin_ada@uni.example_") and path.name.endswith("_01_tokens_and_data.zip")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["01_tokens_and_data.ipynb", FORMAT["manifest"]]
        assert "Characters keep the vocabulary tiny" in zf.read("01_tokens_and_data.ipynb").decode()


def test_nbgraders_pattern_reads_the_id_time_and_notebook_of_an_extracted_hand_in():
    """zip_collect extracts a zip into a folder named after it and matches each file's full path."""
    from nbgrader.utils import parse_utc  # the timestamp parser zip_collect uses

    name = hand_in_name("s12345", "course", timegm((2026, 12, 6, 9, 5, 3, 0, 0, 0)))
    path = f"/course/downloaded/tinygpt/extracted/{name[:-4]}/02_attention.ipynb"
    found = re.match(FORMAT["named_regexp"], path).groupdict()
    assert found == {"student_id": "s12345", "timestamp": "20261206T090503Z", "file_id": "02_attention.ipynb"}
    assert parse_utc(found["timestamp"]).isoformat() == "2026-12-06T09:05:03"


def test_bad_input_is_a_clear_error_and_writes_nothing(student_folder):
    before = _snapshot(student_folder)
    with pytest.raises(ValueError, match="cannot be used as a student id"):
        hand_in("Ada Lovelace", root=student_folder)
    with pytest.raises(FileNotFoundError, match="02_atention.ipynb not found"):
        hand_in("s1", notebook="02_atention", root=student_folder)
    (student_folder / "03_transformer_block.ipynb").write_text("{not json", encoding="utf-8")
    before["03_transformer_block.ipynb"] = _snapshot(student_folder)["03_transformer_block.ipynb"]
    with pytest.raises(ValueError, match="not a readable notebook"):
        hand_in("s1", notebook="03_transformer_block", root=student_folder)
    assert _snapshot(student_folder) == before
