"""Student and instructor notebooks from the course sources in content/.

The sources hold reference solutions between `### BEGIN SOLUTION` and `### END SOLUTION`
inside cells that nbgrader marks as solution cells. The student version is what nbgrader's
`generate_assignment` makes of them (tests/course check this against nbgrader itself):

- every solution region becomes `# YOUR CODE HERE` + `raise NotImplementedError()`, at the
  region's indentation; a solution cell without a region becomes that stub entirely;
- a written-answer (markdown solution) cell becomes "YOUR ANSWER HERE";
- graded test cells are locked; cells are made non-deletable / non-editable as nbgrader's
  LockCells does (solution cells: not deletable; test and read-only cells: neither);
- outputs and execution counts are cleared; a solution cell also loses its attachments and any
  metadata nbgrader does not need (leak_policy.strip_solution_cell);
- what is built is checked by leak_policy.notebook_leaks, the site scan's own check, before
  anything is written: the CLI exits 1 exactly when the site build would stop.

The instructor version keeps the solutions (outputs cleared too). Both get the Pyodide
kernelspec (name "python", so JupyterLite opens them without asking for a kernel; local
Jupyter picks its Python kernel by language) and `metadata["tinygpt"]`: the source's
{"builds", "minutes"} (rendered on the landing page) plus {"course_version", "notebook",
"release"}, which the site's persistence code uses to notice course updates.

    python -m coursetools.notebooks content build/student --version student

Authoring conventions (the .ipynb files in content/ are the sources; edit them in Jupyter with
the nbgrader "Create Assignment" toolbar, or with nbformat; keep them without outputs):

- exercise cell: code, nbgrader {solution: true, grade: false, locked: false, grade_id}; the part
  the student writes sits between the two solution marker comments; define functions/classes so
  the stub cell itself runs;
- test cell, right after it: code, nbgrader {grade: true, solution: false, locked: true, points},
  `check("<exercise id>", <the student's answers>)`; the checks live in
  tinytorch.course.exercises (hints, hidden until asked for, in tinytorch.course.hints);
- written question: a locked markdown cell (the question and its points), then an answer markdown
  cell {grade: true, solution: true, locked: false, points} whose whole text is a solution region
  holding the model answer and the rubric (instructor only: the student gets "YOUR ANSWER HERE");
- grade_ids unique across the course; never write the solution marker text in prose (nbgrader
  takes it as a marker anywhere in a cell, and so does coursetools/leak_policy.py, near misses
  such as `### begin solution` or `BEGIN_SOLUTION` included);
- no hidden tests and no instructor-only cells (tags starting with "instructor"): the student
  build refuses them, naming file and cell, as it refuses markers that do not pair up.
tests/course checks all of this, runs every notebook with TINYGPT_FAST=1, and compares the
student build with `nbgrader generate_assignment`.
"""

import argparse
import copy
import hashlib
import sys
from pathlib import Path

import nbformat

from . import leak_policy
from .cells import nbgrader_meta
from .leak_policy import CODE_STUB, TEXT_STUB, LeakError, is_solution_cell, replace_solution_regions  # noqa: F401

# nbgrader's ClearSolutions markers (nbgrader 0.9.6); leak_policy also matches near misses.
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"

# The kernel of jupyterlite-pyodide-kernel 0.8.x.
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
LANGUAGE_INFO = {
    "name": "python",
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "codemirror_mode": {"name": "python", "version": 3},
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
VERSIONS = ("student", "instructor")


def _release() -> str:
    try:
        import tinytorch

        return tinytorch.__version__
    except Exception:  # building must not depend on the framework importing cleanly
        return "unknown"


def is_grade_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def course_version(notebook) -> str:
    """Short hash of the notebook's cells (type + source): changes whenever the content does."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        digest.update(cell.cell_type.encode())
        digest.update(b"\0")
        digest.update(cell.source.encode("utf-8"))
        digest.update(b"\1")
    return digest.hexdigest()[:12]


def _student_cell(cell, where: str):
    leak_policy.check_source_cell(cell, where)  # instructor-only cells, hidden tests, unpaired markers
    cell = copy.deepcopy(cell)
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    cell.source, replaced = replace_solution_regions(cell.source, stub, where)
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        leak_policy.strip_solution_cell(cell)
        if not replaced:
            cell.source = stub
    if meta.get("grade") and not meta.get("solution"):
        meta["locked"] = True  # students must not edit the tests
    _lock(cell)
    _stamp_checksum(cell)
    return cell


def _lock(cell) -> None:
    """nbgrader's LockCells (0.9.6 defaults): solution cells cannot be deleted; graded test cells and
    read-only (locked) cells can be neither deleted nor edited. Other cells are left as they are."""
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        cell.metadata["deletable"] = False
    elif meta.get("grade") or meta.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def nbgrader_checksum(cell) -> str:
    """nbgrader's checksum of a grade/solution/locked cell (utils.compute_checksum in nbgrader 0.9.6):
    `nbgrader validate` and autograding use it to notice edited test cells."""
    meta = nbgrader_meta(cell)
    solution, grade = bool(meta.get("solution")), bool(meta.get("grade"))
    locked = False if solution else (True if grade else bool(meta.get("locked", False)))
    digest = hashlib.md5()
    for part in (cell.source, cell.cell_type, str(grade), str(solution), str(locked), meta["grade_id"]):
        digest.update(part.encode("utf-8"))
    if grade:
        digest.update(str(float(meta["points"])).encode("utf-8"))
    return digest.hexdigest()


def _stamp_checksum(cell) -> None:
    """What nbgrader's ComputeChecksums adds to the released notebook's cell metadata."""
    meta = nbgrader_meta(cell)
    if meta and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
        meta["checksum"] = nbgrader_checksum(cell)
        meta["cell_type"] = cell.cell_type


def _clean(cell) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)


def check_course(notebooks: dict) -> None:
    """Raise ValueError when a grade_id repeats (nbgrader needs them unique) or metadata is incomplete."""
    seen = {}
    for name, notebook in notebooks.items():
        for index, cell in enumerate(notebook.cells):
            meta = nbgrader_meta(cell)
            if not meta:
                continue
            where = f"{name} cell {index}"
            if meta.get("schema_version") != 3:
                raise ValueError(
                    f"{where}: nbgrader metadata needs schema_version 3, has {meta.get('schema_version')!r}"
                )
            grade_id = meta.get("grade_id")
            if not grade_id:
                raise ValueError(f"{where}: nbgrader metadata without a grade_id")
            if grade_id in seen:
                raise ValueError(f"{where}: grade_id {grade_id!r} is already used by {seen[grade_id]}")
            seen[grade_id] = where
            if meta.get("grade") and not isinstance(meta.get("points"), (int, float)):
                raise ValueError(f"{where}: graded cell {grade_id!r} needs numeric points")


def source_notebooks(content_dir) -> list:
    """The course notebooks in content_dir (top level only, as nbgrader does), in file order."""
    content_dir = Path(content_dir)
    paths = sorted(p for p in content_dir.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise FileNotFoundError(f"no .ipynb notebooks in {content_dir}")
    return paths


def build_notebook(source_path, version: str = "student", snippets=None):
    """One built notebook (a NotebookNode) from a source path.

    The student version is checked by leak_policy.notebook_leaks, the check the site scan runs on
    every notebook it ships (snippets: the course's solution lines, by default those of the
    notebooks beside source_path); LeakError names the file and cell.
    """
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    source_path = Path(source_path)
    notebook = nbformat.read(source_path, as_version=4)
    stamp = {"course_version": course_version(notebook), "notebook": source_path.stem, "release": _release()}
    built = copy.deepcopy(notebook)
    if version == "student":
        built.cells = [_student_cell(cell, f"{source_path.name} cell {i}") for i, cell in enumerate(built.cells)]
    for cell in built.cells:
        _clean(cell)
    built.metadata.pop("celltoolbar", None)
    built.metadata["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    built.metadata["language_info"] = dict(LANGUAGE_INFO)
    # The source's own tinygpt metadata (what the notebook builds, its minutes) is kept for the site.
    built.metadata["tinygpt"] = {**notebook.metadata.get("tinygpt", {}), **stamp}
    nbformat.validate(built)
    if version == "student":
        if snippets is None:
            snippets = leak_policy.solution_snippets(source_path.parent)
        leaks = leak_policy.notebook_leaks(built, snippets, source_path.name)
        if leaks:
            raise LeakError(
                f"the student version of {source_path.name} would show students what only instructors "
                "may see:\n  " + "\n  ".join(leaks[:20])
            )
    return built


def build_notebooks(content_dir, out_dir, version: str = "student") -> list:
    """Build every notebook in content_dir into out_dir; returns the written paths in order.

    Every notebook is built and checked before the first is written: an error writes nothing.
    """
    paths = source_notebooks(content_dir)
    snippets = leak_policy.solution_snippets(content_dir) if version == "student" else None
    built = {p.name: build_notebook(p, version, snippets) for p in paths}
    check_course({p.name: nbformat.read(p, as_version=4) for p in paths})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notebook in built.items():
        target = out_dir / name
        nbformat.write(notebook, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    """The command line: exit 1 (nothing written) exactly when the site build would stop at its notebooks."""
    parser = argparse.ArgumentParser(description="Build student or instructor notebooks from content/.")
    parser.add_argument("content_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--version", choices=VERSIONS, default="student")
    args = parser.parse_args(argv)
    try:
        paths = build_notebooks(args.content_dir, args.out_dir, args.version)
    except (ValueError, FileNotFoundError, nbformat.ValidationError) as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
