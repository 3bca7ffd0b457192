"""Execute a course notebook cell by cell in one real kernel, checking every exercise on the way.

For an exercise cell (an nbgrader solution code cell) followed by its test cell, the runner
executes the *student* version of the exercise (from coursetools' student build) and the test
cell, which must fail with the hint; then the reference solution and the test cell again,
which must pass. Every other cell must run without error. One kernel per notebook, so the whole
notebook plus all stub checks cost about one execution.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from coursetools.cells import nbgrader_meta

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"


def is_exercise(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def kernel_env() -> dict:
    env = dict(os.environ)
    env["TINYGPT_FAST"] = "1"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # 2 shared cores: don't fight the other tests
    # the corpus: $TINYGPT_CORPUS when set (CI passes it, inherited above), else load_shakespeare's own search
    return env


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _error_of(cell) -> dict:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return {}


def _text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data", "update_display_data"):
            data = output.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(data.get("text/html", ""))
        elif output.get("output_type") == "error":
            parts.append(output.get("ename", "") + ": " + output.get("evalue", ""))
    return "\n".join(parts)


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    exercises: list = field(default_factory=list)  # (grade_id, stub message, pass message)
    probes: dict = field(default_factory=dict)

    def all_output(self) -> str:
        return "\n".join(_text_of(c) for c in self.notebook.cells if c.cell_type == "code")

    def html_outputs(self) -> list:
        found = []
        for cell in self.notebook.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html")
                if html:
                    found.append(html)
        return found


def run_notebook(instructor_path, student_path, workdir, probe_code=None, timeout=300) -> Run:
    """Execute the instructor notebook in `workdir`, checking each exercise's stub and solution.

    probe_code: Python executed in the kernel afterwards; it must print one JSON object, which
    becomes `Run.probes` (e.g. the final validation loss).
    """
    import json

    instructor = nbformat.read(instructor_path, as_version=4)
    student = nbformat.read(student_path, as_version=4)
    assert len(instructor.cells) == len(student.cells)
    workdir = Path(workdir)
    client = NotebookClient(
        instructor,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=True,
    )
    run = Run(instructor)
    cells = instructor.cells
    with client.setup_kernel(env=kernel_env(), cwd=str(workdir)):
        index = 0
        while index < len(cells):
            cell = cells[index]
            if cell.cell_type != "code":
                index += 1
                continue
            name = f"{Path(instructor_path).name} cell {index}"
            if is_exercise(cell):
                test_index = index + 1
                assert test_index < len(cells) and is_test(cells[test_index]), (
                    f"{name}: an exercise must be followed directly by its test cell"
                )
                stub = nbformat.from_dict(dict(student.cells[index]))
                assert "raise NotImplementedError()" in stub.source, f"{name}: student version has no stub"
                client.execute_cell(stub, index)
                assert not _error_of(stub), f"{name}: the student stub cell itself fails: {_text_of(stub)}"
                failing = nbformat.from_dict(dict(cells[test_index]))
                client.execute_cell(failing, test_index)
                stub_error = _error_of(failing)
                client.execute_cell(cell, index)
                assert not _error_of(cell), f"{name}: the reference solution fails: {_text_of(cell)}"
                client.execute_cell(cells[test_index], test_index)
                passed_error = _error_of(cells[test_index])
                run.exercises.append(
                    (nbgrader_meta(cell)["grade_id"], stub_error, passed_error, _text_of(cells[test_index]))
                )
                index = test_index + 1
                continue
            client.execute_cell(cell, index)
            error = _error_of(cell)
            if error:
                raise AssertionError(
                    f"{name} failed:\n{cell.source}\n---\n{error.get('ename')}: "
                    f"{error.get('evalue')}\n" + _strip_ansi("\n".join(error.get("traceback", [])))[-3000:]
                )
            index += 1
        if probe_code:
            probe = nbformat.v4.new_code_cell(probe_code)
            cells.append(probe)  # nbclient stores the executed cell at its index
            client.execute_cell(probe, len(cells) - 1)
            cells.pop()
            assert not _error_of(probe), _text_of(probe)
            run.probes = json.loads(_text_of(probe).strip().splitlines()[-1])
    return run


def run_student_notebook(student_path, workdir, timeout=300) -> list:
    """Execute the student version top to bottom, every exercise unsolved, errors allowed.
    Returns [(index, cell, error output)] for every cell that raised."""
    student = nbformat.read(student_path, as_version=4)
    workdir = Path(workdir)
    client = NotebookClient(
        student,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=True,
    )
    failed = []
    with client.setup_kernel(env=kernel_env(), cwd=str(workdir)):
        for index, cell in enumerate(student.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            error = _error_of(cell)
            if error:
                failed.append((index, cell, error))
    return failed
