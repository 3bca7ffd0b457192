"""nbgrader accepts the course: `nbgrader generate_assignment` on content/ gives exactly our
student build (sources, cell types, nbgrader metadata including checksums), grade_ids are
unique, and the written-answer / question / exercise cells carry the metadata the course promises."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _runner import CONTENT
from conftest import NOTEBOOKS

from coursetools.cells import cell_source, nbgrader_meta

pytestmark = pytest.mark.slow  # runs notebooks in real kernels


def _nbgrader_command():
    exe = shutil.which("nbgrader", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip("nbgrader is not installed: pip install -e '.[dev]' (it pins nbgrader==0.9.6)")
    return exe


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory):
    """Run the real `nbgrader generate_assignment` on a copy of content/; returns the release folder."""
    exe = _nbgrader_command()
    root = tmp_path_factory.mktemp("nbgrader_course")
    source = root / "source" / "tinygpt"
    source.mkdir(parents=True)
    for path in CONTENT.glob("*.ipynb"):
        shutil.copy(path, source / path.name)
    (root / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.CourseDirectory.root = r"{root}"\nc.CourseDirectory.course_id = "tinygpt"\n'
    )
    env = dict(os.environ)
    # nbgrader's database step runs `alembic`, which must be on PATH (the venv's bin/).
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [exe, "generate_assignment", "tinygpt", "--force"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "release" / "tinygpt"


def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_build_matches_nbgrader_generate_assignment(name, builds, nbgrader_release):
    ours = _cells(next(p for p in builds["student"] if p.stem == name))
    theirs = _cells(nbgrader_release / f"{name}.ipynb")
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        where = f"{name} cell {index}"
        assert a["cell_type"] == b["cell_type"], where
        assert cell_source(a) == cell_source(b), f"{where}: our student source differs from nbgrader's"
        assert a["metadata"].get("nbgrader") == b["metadata"].get("nbgrader"), where
        for lock in ("deletable", "editable"):  # nbgrader's LockCells, cell for cell
            assert a["metadata"].get(lock, True) == b["metadata"].get(lock, True), f"{where}: {lock} differs"
        if a["cell_type"] == "code":
            assert a["outputs"] == [] and a["execution_count"] is None, where


def test_grade_ids_unique_and_metadata_valid():
    seen = set()
    for path in sorted(CONTENT.glob("*.ipynb")):
        cells = _cells(path)
        answers = questions = exercises = tests = 0
        for index, cell in enumerate(cells):
            meta = cell["metadata"].get("nbgrader")
            if not meta:
                continue
            where = f"{path.name} cell {index}"
            allowed = {"grade", "solution", "locked", "points", "grade_id", "schema_version", "task"}
            assert set(meta) <= allowed, f"{where}: extra nbgrader keys {set(meta) - allowed}"
            assert meta["schema_version"] == 3, where
            assert meta["grade_id"] not in seen, f"{where}: duplicate grade_id {meta['grade_id']}"
            seen.add(meta["grade_id"])
            if cell["cell_type"] == "markdown" and meta["solution"]:
                answers += 1
                assert meta == {
                    "grade": True,
                    "solution": True,
                    "locked": False,
                    "points": meta["points"],
                    "grade_id": meta["grade_id"],
                    "schema_version": 3,
                }, where
                _check_rubric(cell_source(cell), meta["points"], where)
                prev = cells[index - 1]
                assert prev["cell_type"] == "markdown" and prev["metadata"]["nbgrader"]["locked"], (
                    f"{where}: an answer cell must follow its locked question cell"
                )
                assert f"({meta['points']} points)" in cell_source(prev), f"{where}: the question must state its points"
            elif cell["cell_type"] == "markdown":
                questions += 1
                assert meta["locked"] and not meta["grade"] and not meta["solution"], where
            elif meta["solution"]:
                exercises += 1
                assert "### BEGIN SOLUTION" in cell_source(cell) and "### END SOLUTION" in cell_source(cell), where
                assert not meta["grade"], where
            else:
                tests += 1
                assert meta["grade"] and meta["locked"] and meta["points"] > 0, where
        assert answers == questions >= 2, f"{path.name}: {answers} answers, {questions} questions (want 2 or more each)"
        assert exercises >= 1 and exercises == tests, f"{path.name}: {exercises} exercises, {tests} test cells"


RUBRIC_LINE = re.compile(r"^- (\d+) points?: \S", re.M)


def _check_rubric(source, points, where):
    """An answer cell's source is one solution region: a model answer, then a rubric whose
    items add up to the cell's points (the student build replaces all of it)."""
    assert source.startswith("### BEGIN SOLUTION\n") and source.rstrip().endswith("### END SOLUTION"), (
        f"{where}: the answer cell must be one solution region (model answer + rubric)"
    )
    assert "**Model answer.**" in source and f"**Rubric ({points} points).**" in source, where
    items = [int(n) for n in RUBRIC_LINE.findall(source)]
    assert items and sum(items) == points, f"{where}: rubric items {items} do not add up to {points} points"


def test_student_answer_cells_hold_only_the_placeholder(builds):
    """The model answers and rubrics stay in the instructor version."""
    for path in builds["student"]:
        for cell in _cells(path):
            meta = nbgrader_meta(cell)
            if cell["cell_type"] == "markdown" and meta.get("solution"):
                assert cell_source(cell) == "YOUR ANSWER HERE", f"{path.name}: {cell_source(cell)[:80]}"
            assert "Model answer" not in cell_source(cell) and "Rubric (" not in cell_source(cell), path.name


def test_exercise_and_test_cells_cannot_be_deleted_in_the_student_build(builds):
    for path in builds["student"]:
        for index, cell in enumerate(_cells(path)):
            meta = nbgrader_meta(cell)
            if meta.get("solution"):
                assert cell["metadata"].get("deletable") is False, f"{path.name} cell {index}"
                assert cell["metadata"].get("editable", True) is True, f"{path.name} cell {index}: must stay editable"
            elif meta.get("grade") or meta.get("locked"):
                assert cell["metadata"].get("deletable") is False and cell["metadata"].get("editable") is False, (
                    f"{path.name} cell {index}"
                )


def test_nbgrader_validate_passes_the_solutions_and_fails_the_stubs(builds, tmp_path):
    """`nbgrader validate` (what a student or instructor runs locally) executes the notebook: the
    instructor version passes every test cell, the student version fails with our message.
    Local Jupyter has no kernel named "python" (that is the Pyodide kernel's name), so the
    instructor passes the local kernel's name, as the README says."""
    exe = _nbgrader_command()
    env = dict(os.environ, TINYGPT_FAST="1", PYTHONPATH=str(CONTENT.parent), OPENBLAS_NUM_THREADS="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    outputs = {}
    for version in ("instructor", "student"):
        folder = tmp_path / version
        folder.mkdir()
        path = next(p for p in builds[version] if p.stem == "03_transformer_block")
        shutil.copy(path, folder / path.name)
        result = subprocess.run(
            [exe, "validate", path.name, "--ExecutePreprocessor.kernel_name=python3"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs[version] = result.stdout + result.stderr
    assert "Success! Your notebook passes all the tests." in outputs["instructor"], outputs["instructor"][-2000:]
    assert "not implemented yet" in outputs["student"] and "Hint:" in outputs["student"], outputs["student"][-2000:]
