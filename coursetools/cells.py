"""Reading notebook cells one way everywhere: a cell's source as text, its nbgrader metadata, a cell by grade_id.

nbformat allows a cell's source as one string or as a list of lines, and a cell nbgrader does
not know has no `nbgrader` metadata (or `null`); these readers accept all of them, for plain
dicts (`json.load`) and nbformat nodes alike. The build, grading and the tests use them.
(tinytorch never imports coursetools: `tinytorch/course/answers.py` reads the cells it exports
itself.)
"""

from __future__ import annotations


def cell_source(cell) -> str:
    """The cell's source as one string, whether stored as a string or a list of lines."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (grade_id, grade, solution, locked, points...), {} if it has none."""
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def cell_by_grade_id(cells, grade_id: str):
    """The cell whose nbgrader grade_id is `grade_id` (KeyError naming it when no cell has it)."""
    for cell in cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell has the nbgrader grade_id {grade_id!r}")
