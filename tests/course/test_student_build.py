"""The student build hides every reference solution and resets answers; both builds carry the
course metadata the site relies on; the sources follow the course's shape."""

import json
import re
import shutil

import nbformat
import pytest
from _runner import CONTENT
from conftest import NOTEBOOKS

from coursetools.cells import nbgrader_meta
from coursetools.notebooks import build_notebooks, course_version

FIRST_CODE_LINE = re.compile(r"^import tinytorch\b[^\n]*$")


def _solution_lines(source: str) -> list:
    lines, inside = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def _load(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_notebook_has_no_solution_text(name, builds):
    source = _load(CONTENT / f"{name}.ipynb")
    student = _load(next(p for p in builds["student"] if p.stem == name))
    student_lines = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    regions = 0
    for cell in source.cells:
        solution = _solution_lines(cell.source)
        if cell.cell_type == "code":
            regions += cell.source.count("### BEGIN SOLUTION")
        for line in solution:
            if len(line) >= 12:  # short lines like `return x` may legitimately appear elsewhere
                assert line not in student_lines, f"{name}: solution line leaked into the student notebook: {line!r}"
    text = json.dumps(student)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    stubs = sum(c.source.count("raise NotImplementedError()") for c in student.cells if c.cell_type == "code")
    assert stubs == regions > 0
    for cell in student.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            assert cell.source == "YOUR ANSWER HERE"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("version", ["student", "instructor"])
def test_built_notebooks_carry_course_metadata(builds, version):
    import tinytorch

    paths = builds[version]
    assert [p.stem for p in paths] == NOTEBOOKS
    for path in paths:
        nb = _load(path)
        nbformat.validate(nb)
        stamp = nb.metadata["tinygpt"]
        assert stamp["notebook"] == path.stem and stamp["release"] == tinytorch.__version__
        assert re.fullmatch(r"[0-9a-f]{12}", stamp["course_version"])
        assert stamp["course_version"] == course_version(_load(CONTENT / path.name))
        # JupyterLite's Pyodide kernel is called "python": no kernel-choice dialog on open.
        assert nb.metadata["kernelspec"] == {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    if version == "instructor":
        joined = "\n".join(c.source for p in paths for c in _load(p).cells)
        assert joined.count("### BEGIN SOLUTION") == joined.count("### END SOLUTION") > 0


def test_course_version_changes_with_content(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(CONTENT / "00_welcome.ipynb", content)
    before = _load(build_notebooks(content, tmp_path / "a")[0]).metadata["tinygpt"]["course_version"]
    nb = _load(content / "00_welcome.ipynb")
    nb.cells[0].source += "\n\nA new paragraph from the instructor."
    nbformat.write(nb, content / "00_welcome.ipynb")
    after = _load(build_notebooks(content, tmp_path / "b")[0]).metadata["tinygpt"]["course_version"]
    assert before != after


def test_build_rejects_duplicate_grade_ids_and_unclosed_solutions(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(CONTENT / "00_welcome.ipynb", content / "00_welcome.ipynb")
    shutil.copy(CONTENT / "00_welcome.ipynb", content / "00_copy.ipynb")
    with pytest.raises(ValueError, match="grade_id"):
        build_notebooks(content, tmp_path / "out")
    (content / "00_copy.ipynb").unlink()
    nb = _load(content / "00_welcome.ipynb")
    exercise = next(c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    exercise.source = exercise.source.replace("### END SOLUTION", "")
    nbformat.write(nb, content / "00_welcome.ipynb")
    with pytest.raises(ValueError, match="END SOLUTION"):
        build_notebooks(content, tmp_path / "out2")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_notebook_shape(name):
    nb = _load(CONTENT / f"{name}.ipynb")
    assert nb.cells[0].cell_type == "markdown" and "Learning objectives" in nb.cells[0].source
    assert nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith("## Summary")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert FIRST_CODE_LINE.match(code[0].source), "the first code cell must be the one-line tinytorch import"
    for cell in nb.cells:
        is_answer = nbgrader_meta(cell).get("solution")
        if cell.cell_type == "markdown" and not is_answer:
            assert "BEGIN SOLUTION" not in cell.source  # nbgrader would treat it as a solution marker
        else:
            assert "matplotlib" not in cell.source, "no notebook cell may need matplotlib (browser)"
        assert not cell.get("outputs"), "sources are stored without outputs"
    # The written questions come near the end, each question locked and followed by its answer cell.
    answers = [i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution") and c.cell_type == "markdown"]
    assert len(answers) >= 2 and answers[-1] > len(nb.cells) - 8


def test_content_has_no_python_twins():
    # Files beside the notebooks are copied to students unchanged: a .py source would leak solutions.
    assert not list(CONTENT.rglob("*.py"))


def test_notebook_4_reads_its_target_and_tolerance_from_the_preset():
    """The presets are re-measured as the framework changes: notebook 4 states no preset number
    in prose; its cells read the block size, steps and target from the preset and print the
    target with its tolerance. (Deliberate change: the intro used to spell the numbers out.)"""
    from tinytorch.models import preset

    nb = _load(CONTENT / "04_train_tinygpt.ipynb")
    intro = nb.cells[0].source
    assert "tolerance" in intro and "Which model?" in intro
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "p.expected_val_loss" in code and "TOLERANCE" in code and "target + TOLERANCE" in code
    browser = preset("browser")
    assert f"{browser.expected_val_loss}" not in intro and f"context {browser.config.block_size}" not in intro


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_prose_hard_codes_the_browser_block_size(name):
    from tinytorch.models import preset

    block = preset("browser").config.block_size
    nb = _load(CONTENT / f"{name}.ipynb")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not nbgrader_meta(cell).get("solution"):
            for phrase in (f"block_size = {block}", f"block size {block}", f"context {block}", "block_size = 32"):
                assert phrase not in cell.source, f"{name}: {phrase!r} in prose; read it from preset('browser')"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_asks_for_two_predictions_before_revealing(name):
    """Predict, then run: a cell where the student writes a guess (`predicted_... = None`), and a
    later cell that compares it with the measured answer (`reveal(predicted_..., ...)`)."""
    nb = _load(CONTENT / f"{name}.ipynb")
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    guesses = [re.match(r"(predicted_\w+) = None", src) for src in code]
    names = [(i, m.group(1)) for i, m in enumerate(guesses) if m]
    assert len(names) >= 2, f"{name}: {len(names)} prediction cells"
    for i, guess in names:
        assert any(f"reveal({guess}," in later for later in code[i + 1 :]), f"{name}: {guess} is never revealed"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_states_what_it_builds_and_how_long_it_takes(name, builds):
    """metadata["tinygpt"] = {"builds", "minutes": {"hands_on", "written"}} (the landing page shows it),
    the notebook's top says the same, and both builds keep it beside the course stamp."""
    nb = _load(CONTENT / f"{name}.ipynb")
    info = nb.metadata["tinygpt"]
    assert isinstance(info["builds"], str) and info["builds"] and "\n" not in info["builds"]
    minutes = info["minutes"]
    assert set(minutes) == {"hands_on", "written"} and all(isinstance(v, int) and v > 0 for v in minutes.values())
    top = nb.cells[0].source
    assert f"**In this notebook you build** {info['builds']}." in top
    assert f"about {minutes['hands_on']} minutes hands-on + {minutes['written']} minutes of written answers" in top
    for version in ("student", "instructor"):
        built = _load(next(p for p in builds[version] if p.stem == name)).metadata["tinygpt"]
        assert built["builds"] == info["builds"] and built["minutes"] == minutes and built["notebook"] == name
