"""Student and instructor notebooks from the course sources in content/.

The sources hold reference solutions between `### BEGIN SOLUTION` and `### END SOLUTION`
inside cells that nbgrader marks as solution cells. The student version is what nbgrader's
`generate_assignment` makes of them (tests/course check this against nbgrader itself):

- every solution region becomes `# YOUR CODE HERE` + `raise NotImplementedError()`, at the
  region's indentation; a solution cell without a region becomes that stub entirely;
- a written-answer (markdown solution) cell becomes "YOUR ANSWER HERE";
- graded test cells are locked; cells are made non-deletable / non-editable as nbgrader's
  LockCells does (solution cells: not deletable; test and read-only cells: neither);
- outputs and execution counts are cleared.

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
- grade_ids unique across the course; never write the solution marker text in prose.
tests/course checks all of this, runs every notebook with TINYGPT_FAST=1, and compares the
student build with `nbgrader generate_assignment`.
"""

import argparse
import copy
import hashlib
import json
import re
from pathlib import Path

import nbformat

# Exactly nbgrader's ClearSolutions defaults (nbgrader 0.9.6).
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

# The kernel of jupyterlite-pyodide-kernel 0.8.x.
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python",
                 "codemirror_mode": {"name": "python", "version": 3}, "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
VERSIONS = ("student", "instructor")


def _release() -> str:
    try:
        import tinytorch

        return tinytorch.__version__
    except Exception:  # building must not depend on the framework importing cleanly
        return "unknown"


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution_cell(cell) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def is_grade_cell(cell) -> bool:
    return bool(_nbgrader(cell).get("grade"))


def replace_solution_regions(source: str, stub: str, where: str = "a cell") -> tuple:
    """(new_source, replaced?) with every BEGIN/END SOLUTION region replaced by `stub`, indented
    like the BEGIN line. The same line-by-line rules as nbgrader's ClearSolutions."""
    new_lines, in_solution, replaced = [], False, False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            if in_solution:
                raise ValueError(f"{where}: nested '{BEGIN_SOLUTION}' (a region is opened twice)")
            in_solution = replaced = True
            indent = re.match(r"\s*", line).group(0)
            new_lines.extend(indent + stub_line for stub_line in stub.split("\n"))
        elif END_SOLUTION in line:
            in_solution = False
        elif not in_solution:
            new_lines.append(line)
    if in_solution:
        raise ValueError(f"{where}: '{BEGIN_SOLUTION}' without a matching '{END_SOLUTION}'")
    return "\n".join(new_lines), replaced


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
    cell = copy.deepcopy(cell)
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    cell.source, replaced = replace_solution_regions(cell.source, stub, where)
    meta = _nbgrader(cell)
    if replaced and not meta.get("solution"):
        raise ValueError(f"{where}: a solution region in a cell that is not an nbgrader solution cell "
                         "(nbgrader would refuse it): add solution metadata or remove the markers")
    if meta.get("solution") and not replaced:
        cell.source = stub
    if meta.get("grade") and not meta.get("solution"):
        meta["locked"] = True  # students must not edit the tests
    _lock(cell)
    _stamp_checksum(cell)
    return cell


def _lock(cell) -> None:
    """nbgrader's LockCells (0.9.6 defaults): solution cells cannot be deleted; graded test cells and
    read-only (locked) cells can be neither deleted nor edited. Other cells are left as they are."""
    meta = _nbgrader(cell)
    if meta.get("solution"):
        cell.metadata["deletable"] = False
    elif meta.get("grade") or meta.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def nbgrader_checksum(cell) -> str:
    """nbgrader's checksum of a grade/solution/locked cell (utils.compute_checksum in nbgrader 0.9.6):
    `nbgrader validate` and autograding use it to notice edited test cells."""
    meta = _nbgrader(cell)
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
    meta = _nbgrader(cell)
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
            meta = _nbgrader(cell)
            if not meta:
                continue
            where = f"{name} cell {index}"
            if meta.get("schema_version") != 3:
                raise ValueError(f"{where}: nbgrader metadata needs schema_version 3, has {meta.get('schema_version')!r}")
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


def build_notebook(source_path, version: str = "student"):
    """One built notebook (a NotebookNode) from a source path."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    source_path = Path(source_path)
    notebook = nbformat.read(source_path, as_version=4)
    stamp = {"course_version": course_version(notebook), "notebook": source_path.stem, "release": _release()}
    built = copy.deepcopy(notebook)
    if version == "student":
        built.cells = [_student_cell(cell, f"{source_path.name} cell {i}") for i, cell in enumerate(built.cells)]
        leftover = [i for i, c in enumerate(built.cells) if BEGIN_SOLUTION in c.source or END_SOLUTION in c.source]
        if leftover:
            raise ValueError(f"{source_path.name}: solution markers left in cells {leftover}")
    for cell in built.cells:
        _clean(cell)
    built.metadata.pop("celltoolbar", None)
    built.metadata["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    built.metadata["language_info"] = dict(LANGUAGE_INFO)
    # The source's own tinygpt metadata (what the notebook builds, its minutes) is kept for the site.
    built.metadata["tinygpt"] = {**notebook.metadata.get("tinygpt", {}), **stamp}
    nbformat.validate(built)
    return built


def build_notebooks(content_dir, out_dir, version: str = "student") -> list:
    """Build every notebook in content_dir into out_dir; returns the written paths in order."""
    paths = source_notebooks(content_dir)
    built = {p.name: build_notebook(p, version) for p in paths}
    check_course({p.name: nbformat.read(p, as_version=4) for p in paths})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notebook in built.items():
        target = out_dir / name
        nbformat.write(notebook, target)
        written.append(target)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Build student or instructor notebooks from content/.")
    parser.add_argument("content_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--version", choices=VERSIONS, default="student")
    args = parser.parse_args(argv)
    for path in build_notebooks(args.content_dir, args.out_dir, args.version):
        print(path)


if __name__ == "__main__":
    main()
