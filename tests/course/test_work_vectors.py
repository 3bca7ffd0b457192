"""The student-work zip format, one behaviour spec on both sides: the same vectors (work_vectors.py)
through tinytorch.course.work.import_work here and through the page's student-work-format.js in Node.
Each vector is accepted with exactly its files or refused with its key word; a refusal changes nothing.
Exports from either side list the same types, sizes and sha256 sums and restore on the other side."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from work_vectors import VECTORS, WORK, listing, write

from tinytorch.course.work import MANIFEST, export_work, import_work

REPO = Path(__file__).resolve().parents[2]
NODE_TEST = Path(__file__).with_name("work_vectors.test.mjs")


def _tree(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _work_folder(root: Path) -> Path:
    for path, data in WORK.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> Path:
    """The vectors' folder, plus an export_work zip of the vectors' work as one more vector."""
    folder = tmp_path_factory.mktemp("work_vectors")
    write(folder)
    export_work(folder / "python_export.zip", root=_work_folder(tmp_path_factory.mktemp("python_work")))
    cases = json.loads((folder / "cases.json").read_text(encoding="utf-8"))
    cases["cases"]["export_work's own zip"] = {
        "zip": "python_export.zip",
        "expect": {"files": _tree(_work_folder(tmp_path_factory.mktemp("expected")))},
    }
    (folder / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    return folder


def _restore(zip_file: Path, root: Path) -> dict:
    """import_work into root (holding keep.txt): the files it restored, {path: sha256}."""
    root.mkdir()
    (root / "keep.txt").write_text("the student's own file")
    before = _tree(root)
    import_work(zip_file, root=root)
    after = _tree(root)
    assert {path: after[path] for path in before} == before
    return {path: sha for path, sha in after.items() if path not in before}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", VECTORS)
def test_python_side(vectors, tmp_path, name, capsys):
    case = json.loads((vectors / "cases.json").read_text(encoding="utf-8"))["cases"][name]
    zip_file, expect = vectors / case["zip"], case["expect"]
    root = tmp_path / "student"
    if "refused" in expect:
        with pytest.raises(ValueError) as refused:
            _restore(zip_file, root)
        message = str(refused.value)
        assert expect["refused"] in message and "nothing was changed" in message, message
        assert _tree(root) == {"keep.txt": hashlib.sha256(b"the student's own file").hexdigest()}
        assert [p.name for p in root.iterdir()] == ["keep.txt"], "a refused zip left a staging folder"
    else:
        assert _restore(zip_file, root) == expect["files"]


def test_export_work_lists_type_size_and_sha256(tmp_path, capsys):
    zip_file = export_work(tmp_path / "out.zip", root=_work_folder(tmp_path / "work"))
    import zipfile

    with zipfile.ZipFile(zip_file) as zf:
        files = json.loads(zf.read(MANIFEST))["files"]
    assert {path: {key: meta[key] for key in ("type", "size", "sha256")} for path, meta in files.items()} == listing(
        WORK
    )


def _node() -> str:
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed: the page's side of the vectors runs in Node")
    if not (REPO / "node_modules" / "fflate").is_dir():
        pytest.skip(f"node_modules/fflate is missing: run `npm ci` in {REPO}")
    return node


def test_page_side_in_node_and_its_export_restores_in_python(vectors, tmp_path, capsys):
    """Every vector through student-work-format.js (node --test); the page's export restores here."""
    result = subprocess.run(
        [_node(), "--test", str(NODE_TEST)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WORK_VECTORS": str(vectors), "WORK_VECTORS_OUT": str(tmp_path)},
    )
    failed = [line for line in result.stdout.splitlines() if line.startswith("not ok")]
    assert result.returncode == 0 and not failed, result.stdout[-6000:] + result.stderr[-2000:]
    ran = sum(line.startswith("ok ") for line in result.stdout.splitlines())
    assert ran == len(VECTORS) + 2, result.stdout[-3000:]  # every vector, export_work's zip, the page's export
    assert _restore(tmp_path / "page_export.zip", tmp_path / "student") == {
        path: hashlib.sha256(data).hexdigest() for path, data in WORK.items()
    }
