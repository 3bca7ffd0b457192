"""nbgrader preprocessors that put each written answer's model answer and rubric beside it for the grader.

The rubric lives in one place, the answer cell of the course source (content/): a solution
region holding "**Model answer.**" and "**Rubric (N points).**". The student build and nbgrader's
release replace it with "YOUR ANSWER HERE". When autograding, `AddRubrics` copies it from the
course folder's source/ notebook into the autograded notebook, as a markdown cell right after
the student's answer, so formgrader shows answer, model answer and rubric together.
`RemoveRubrics` drops those cells again when `nbgrader generate_feedback` renders the students'
feedback. Both are switched on by the nbgrader_config.py that `python -m coursetools grade init`
writes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .cells import nbgrader_meta
from .notebooks import BEGIN_SOLUTION, END_SOLUTION

MARK = "rubric_for"  # metadata.tinygpt.rubric_for = the answer's grade_id


def _written_answers(notebook) -> dict:
    """{grade_id: model answer and rubric} of every written-answer cell of a source notebook."""
    found = {}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
            lines = [
                line for line in cell.source.split("\n") if BEGIN_SOLUTION not in line and END_SOLUTION not in line
            ]
            found[meta["grade_id"]] = "\n".join(lines).strip()
    return found


class AddRubrics(NbGraderPreprocessor):
    """After each written answer, a grader-only markdown cell with the model answer and rubric."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        source = (
            Path(coursedir.format_path(coursedir.source_directory, ".", ids["assignment"])) / f"{ids['notebook']}.ipynb"
        )
        if not source.is_file():
            self.log.warning("AddRubrics: no source notebook %s, so no rubrics beside the answers", source)
            return nb, resources
        answers = _written_answers(nbformat.read(source, as_version=4))
        cells = []
        for cell in nb.cells:
            if cell.get("metadata", {}).get("tinygpt", {}).get(MARK):
                continue  # added by an earlier run
            cells.append(cell)
            grade_id = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "markdown" and grade_id in answers:
                text = (
                    f"**For the grader (not in the students' feedback): model answer and rubric for `{grade_id}`.**\n\n"
                )
                cells.append(
                    nbformat.v4.new_markdown_cell(text + answers[grade_id], metadata={"tinygpt": {MARK: grade_id}})
                )
        nb.cells = cells
        return nb, resources


class RemoveRubrics(NbGraderPreprocessor):
    """Drop the cells AddRubrics added (feedback goes to students)."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get("tinygpt", {}).get(MARK)]
        return nb, resources
