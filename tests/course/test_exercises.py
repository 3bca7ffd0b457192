"""Every exercise's check (tinytorch.course.exercises) against the student stub, the reference
solution from content/, and recorded WRONG solutions: the usual bugs for that piece. The stub
fails with "not implemented yet" and a pointer to the hints, the reference passes, and each wrong
solution fails with a message that names its bug. Hints never give away a line of a solution.

The namespaces are built the way a student's kernel is: the notebook's exercise cells run in
order (the instructor version, or the student stub for the exercise under test), so a check sees
exactly the objects a test cell would."""

import json
import re

import numpy as np
import pytest
from _runner import CONTENT

import tinytorch as tt
from coursetools.cells import cell_source, nbgrader_meta
from coursetools.notebooks import build_notebook, replace_solution_regions
from tinytorch.course.exercises import EXERCISES, ExerciseFailed, check, hint, use

CHECK_CALL = re.compile(r'check\("([0-9.]+)", ([^)]*)\)')


def _exercises():
    """[(exercise_id, notebook, exercise cell index, answer names)] from the content notebooks."""
    found = []
    for path in sorted(CONTENT.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            meta = nbgrader_meta(cell)
            if cell["cell_type"] == "code" and meta.get("solution"):
                match = CHECK_CALL.search(cell_source(cells[index + 1]))
                assert match, f'{path.name} cell {index + 1}: a test cell must call check("<id>", ...)'
                found.append((match.group(1), path, index, [n.strip() for n in match.group(2).split(",")]))
    return found


EXERCISE_LIST = _exercises()
IDS = [e[0] for e in EXERCISE_LIST]


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(tmp_path, monkeypatch):
    """A passing check may save the student's piece (carry.py) into the working folder: keep it out of the repo."""
    monkeypatch.chdir(tmp_path)


def _base_namespace():
    from tinytorch.course.your_gpt import YourGPT
    from tinytorch.models import TinyGPT
    from tinytorch.nn import Linear, Module

    return {"np": np, "tt": tt, "Module": Module, "Linear": Linear, "TinyGPT": TinyGPT, "YourGPT": YourGPT}


def _namespace(path, upto, stub=False):
    """Run the notebook's exercise cells up to and including cell `upto` (the reference
    solutions; with stub=True the last one is the student stub)."""
    notebook = json.loads(path.read_text())
    ns = _base_namespace()
    for index, cell in enumerate(notebook["cells"][: upto + 1]):
        if cell["cell_type"] == "code" and nbgrader_meta(cell).get("solution"):
            source = cell_source(cell)
            if stub and index == upto:
                source, _ = replace_solution_regions(source, "# YOUR CODE HERE\nraise NotImplementedError()")
            exec(compile(source, f"{path.name} cell {index}", "exec"), ns)
    return ns


def _answers(exercise_id, ns):
    names = next(e[3] for e in EXERCISE_LIST if e[0] == exercise_id)
    return [ns[name] for name in names]


def _entry(exercise_id):
    return next(e for e in EXERCISE_LIST if e[0] == exercise_id)


def test_every_registered_exercise_is_in_a_notebook_and_has_hints():
    assert sorted(IDS) == sorted(EXERCISES), "content/ and tinytorch.course.exercises list different exercises"
    assert all(len(EXERCISES[e].hints) == 2 for e in IDS)
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes(exercise_id, capsys):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index)
    check(exercise_id, *_answers(exercise_id, ns))
    assert f"✓ Exercise {exercise_id}" in capsys.readouterr().out


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_fails_with_a_pointer_to_the_hints(exercise_id):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index, stub=True)
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, *_answers(exercise_id, ns))
    message = str(info.value)
    assert "not implemented yet" in message and f'hint("{exercise_id}")' in message, message


# Each wrong solution (recorded beside its exercise in tinytorch/course/exercises/nb*.py): source
# that redefines the student's answer (run after the reference cells, so a class can subclass the
# reference and override forward), and a keyword the failure message must contain: the bug, named.
WRONG_CASES = [(exercise_id, i) for exercise_id in IDS for i in range(len(EXERCISES[exercise_id].wrong))]


def test_every_exercise_has_at_least_three_recorded_wrong_solutions():
    few = {e: len(EXERCISES[e].wrong) for e in IDS if len(EXERCISES[e].wrong) < 3}
    assert not few, f"exercises with fewer than 3 recorded wrong solutions: {few}"


@pytest.mark.parametrize("exercise_id,case", WRONG_CASES, ids=[f"{e}-{i}" for e, i in WRONG_CASES])
def test_wrong_solution_is_rejected_with_a_pointed_message(exercise_id, case):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index)
    source, keyword = EXERCISES[exercise_id].wrong[case]
    with np.errstate(all="ignore"):
        exec(compile(source, f"wrong {exercise_id}.{case}", "exec"), ns)
        with pytest.raises(ExerciseFailed) as info:
            check(exercise_id, *_answers(exercise_id, ns))
    message = str(info.value)
    assert keyword in message, f"the message does not name the bug ({keyword!r}):\n{message}"
    assert "off at index" not in message


@pytest.mark.parametrize("exercise_id", IDS)
def test_hints_never_contain_a_line_of_the_solution(exercise_id, capsys):
    _, path, index, _ = _entry(exercise_id)
    source = cell_source(json.loads(path.read_text())["cells"][index])
    region = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    lines = [line.split("#")[0].strip() for line in region.splitlines()]
    lines = [line for line in lines if len(line) > 12]
    hint(exercise_id)
    hint(exercise_id, level=2)
    text = capsys.readouterr().out
    assert "level=2" in text  # level 1 points to level 2
    for line in lines:
        assert line not in text, f"hint for {exercise_id} gives away {line!r}"
    with pytest.raises(ValueError, match="level"):
        hint(exercise_id, level=3)


def test_student_notebooks_contain_no_solution_line(tmp_path):
    """No line of any solution region shows up anywhere in the student build (cells, hints, prose)."""
    for path in sorted(CONTENT.glob("*.ipynb")):
        solution_lines = set()
        for cell in json.loads(path.read_text())["cells"]:
            text = cell_source(cell)
            for region in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", text, flags=re.S):
                solution_lines.update(l.strip() for l in region.splitlines() if len(l.strip()) > 25)
        student = build_notebook(path, "student")
        shown = "\n".join(cell.source for cell in student.cells)
        leaked = [line for line in solution_lines if line in shown]
        assert not leaked, f"{path.name}: the student version shows solution lines {leaked[:3]}"


def test_use_falls_back_to_the_library_with_a_message(capsys):
    def stub(x, axis=-1):
        raise NotImplementedError()

    softmax = use("2.1", stub)
    out = capsys.readouterr().out
    assert "not written yet" in out and "library" in out
    np.testing.assert_allclose(softmax(np.array([[0.0, 1.0], [-1000.0, -999.0]])).sum(axis=-1), [1.0, 1.0])
    ns = _namespace(_entry("2.1")[1], _entry("2.1")[2])
    assert use("2.1", ns["softmax"]) is ns["softmax"]
    assert capsys.readouterr().out == ""  # a passing answer is used silently


def test_use_without_a_fallback_says_what_to_do(monkeypatch):
    from tinytorch.course import exercises

    def stub(*args):
        raise NotImplementedError()

    monkeypatch.setitem(exercises.EXERCISES, "9.9", exercises.Exercise("9.9", "thing", lambda f: f(), ["a", "b"]))
    with pytest.raises(ExerciseFailed, match="Finish it"):
        use("9.9", stub)
