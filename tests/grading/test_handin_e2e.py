"""From a student's browser to the instructor's gradebook, with real nbgrader.

A student in Chromium (the built site) puts the reference solutions into notebook 1's exercise
cells, types a written answer, saves, and hands in notebook 1 from the "Your work" panel; the
zip is downloaded. Two more students hand in with tinytorch.course.hand_in: an untouched stub,
and one whose locked test cell was edited. The LMS (Canvas) renames the three zips and bundles
them; the instructor runs `grade init --lms canvas`, `grade collect`, `grade autograde`, sets
manual scores through nbgrader's API, then the stock `nbgrader generate_feedback` and
`nbgrader export`. Full automatic points, zero, a flagged tamper, and the manual score in the
CSV and the feedback. Also: the page's hand-in names follow the shared vectors, handing in
writes nothing to the student's storage, and the Your work button covers no header icon.

TINYGPT_SITE=<folder> tests an already built site instead of building one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _site_fixtures import SiteServer, new_context
from _site_helpers import site_under_test, wait_for_notebook, write_cell

from coursetools import grading
from coursetools.cells import cell_by_grade_id, cell_source, nbgrader_meta
from coursetools.grading_checks import nbgrader_exe, read_report
from tinytorch.course.handin import FORMAT, hand_in, hand_in_name

pytestmark = pytest.mark.slow
NOTEBOOK = "01_tokens_and_data.ipynb"
ANSWER = "Characters keep the vocabulary at 65 symbols, so every id fits one small embedding table."

_STORE = """async () => JSON.parse(JSON.stringify(await window.tinygptWork.allSaved()))"""
_BOXES = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const header = document.getElementById('top-panel');
  const icons = header ? Array.from(header.querySelectorAll('.jp-NotebookKernelLogo, img, svg, button')) : [];
  const logo = header && header.querySelector('.jp-NotebookKernelLogo');
  return {button: box(document.getElementById('tinygpt-work-button')),
          icons: icons.filter((e) => e.getBoundingClientRect().width > 0).map(box),
          logo: !!logo && logo.getBoundingClientRect().width > 0};
}"""
_SOLVE = """(solutions) => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  let done = 0;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const id = ((cell.getMetadata('nbgrader') || {}).grade_id);
    if (cell.type === 'code' && id in solutions) { cell.sharedModel.setSource(solutions[id]); done++; }
  }
  return done;
}"""


@pytest.fixture(scope="module")
def site(request) -> Path:
    return site_under_test(request)


def _solutions(source: dict) -> dict:
    """{grade_id: reference solution without the markers} of the exercise cells of a source notebook."""
    found = {}
    for cell in source["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("solution"):
            text = cell_source(cell)
            found[meta["grade_id"]] = "\n".join(line for line in text.split("\n") if "SOLUTION" not in line)
    return found


def student_hands_in_from_the_browser(browser, site: Path, tmp_path: Path) -> Path:
    outside: list[str] = []
    with SiteServer(site) as server:  # quiet about the connections a browser drops
        return _hand_in(browser, server, tmp_path, outside)


def _hand_in(browser, server, tmp_path: Path, outside: list) -> Path:
    context = new_context(browser, outside, viewport={"width": 1280, "height": 900})
    context.route("**/static/pyodide/**", lambda route: route.abort())  # no kernel needed to write and hand in
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{server.url}notebooks/index.html?path={NOTEBOOK}")
        # A first visit straight to a notebook reloads once to become cross-origin isolated (isolation.js):
        # measure the page that stays, not the one about to go.
        page.wait_for_function(
            "() => { const s = window.tinygptIsolation; "
            "return !!s && s.status !== 'waiting' && s.status !== 'reloading'; }",
            timeout=120_000,
        )
        wait_for_notebook(page, timeout_ms=120_000)

        # Issue 27: the button sits in the header's free space, over no icon (the kernel logo at the right).
        # The logo is drawn late and redrawn: the button must be clear of it once it shows, and stay clear.
        clear_of_the_logo = (
            f"() => {{ const b = ({_BOXES})(); return b.logo && "
            "!b.icons.some((i) => i.x < b.button.x + b.button.w && b.button.x < i.x + i.w && "
            "i.y < b.button.y + b.button.h && b.button.y < i.y + i.h); }"
        )
        page.wait_for_function(clear_of_the_logo, timeout=15_000)
        page.wait_for_timeout(2_500)  # past the page's next placement tick
        page.wait_for_function(clear_of_the_logo, timeout=1_000)  # a redraw may move it for a frame, not for long
        boxes = page.evaluate(_BOXES)
        assert boxes["logo"], boxes

        # The page's file names follow the vectors tinytorch.course.handin is tested against.
        for case in FORMAT["examples"]:
            got = page.evaluate(
                """([id, what, utc]) => { try { return window.tinygptWork.handInName(id, what, new Date(utc)); }
                                   catch (e) { return 'error: ' + e.message; } }""",
                [case["student_id"], case.get("what", "course"), case.get("utc", "2026-01-01T00:00:00Z")],
            )
            if case.get("error"):
                assert got.startswith("error:") and "student id" in got, (case, got)
            else:
                assert got == case["file_name"], (case, got)

        source = json.loads((grading.CONTENT / NOTEBOOK).read_text(encoding="utf-8"))
        solutions = _solutions(source)
        assert page.evaluate(_SOLVE, solutions) == len(solutions) >= 4
        answer_cell = source["cells"].index(cell_by_grade_id(source["cells"], "nb1_q1_tokenization"))
        write_cell(page, answer_cell, ANSWER)
        page.wait_for_function(
            """async () => { const s = await window.tinygptWork.allSaved();
            const nb = s.find((x) => x.key === '01_tokens_and_data.ipynb');
            return !!nb && JSON.stringify(nb.model.content).includes('65 symbols'); }""",
            timeout=30_000,
        )

        before = page.evaluate(_STORE)
        page.click("#tinygpt-work-button")
        page.fill("#tinygpt-handin-id", " ada-l ")
        page.fill("#tinygpt-handin-name", "Ada Lovelace")
        page.wait_for_function(
            "() => document.querySelectorAll('#tinygpt-handin-what option').length >= 7", timeout=15_000
        )
        page.select_option("#tinygpt-handin-what", "01_tokens_and_data")
        with page.expect_download(timeout=60_000) as download_info:
            page.click("#tinygpt-handin-button")
        download = download_info.value
        assert download.suggested_filename.startswith("tinygpt-handin_ada-l_") and download.suggested_filename.endswith(
            "_01_tokens_and_data.zip"
        ), download.suggested_filename
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert "Upload this file" in page.inner_text("#tinygpt-work-status")
        assert page.evaluate(_STORE) == before, "handing in changed the student's stored files"
        assert not outside, outside
    finally:
        context.close()
    return path


def formgrader_html(notebook: Path, student: str) -> str:
    """The page formgrader serves for one submitted notebook (nbgrader's HTMLExporter settings and template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {
        "assignment_id": "tinygpt",
        "notebook_id": notebook.stem,
        "submission_id": "1",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": student,
        "last_name": "",
        "first_name": "",
        "notebook_path": str(notebook),
    }
    html, _ = HTMLExporter(config=config).from_filename(str(notebook), resources=resources)
    return html


def canvas_name(user_id: int, submission_id: int, name: str, original: str) -> str:
    return f"{name}_{user_id}_{submission_id}_{original}"


def handin_zip(notebooks: dict, student_id: str, what: str, folder: Path) -> Path:
    folder.mkdir()
    for name, notebook in notebooks.items():
        (folder / name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return hand_in(
        student_id,
        name=f"Student {student_id}",
        notebook=what,
        root=folder,
        dest=folder / hand_in_name(student_id, what),
    )


def test_from_the_browser_to_the_gradebook(chromium_browser, site, tmp_path, nbgrader_ready):
    browser_zip = student_hands_in_from_the_browser(chromium_browser, site, tmp_path)
    with zipfile.ZipFile(browser_zip) as zf:
        assert sorted(zf.namelist()) == [NOTEBOOK, FORMAT["manifest"]]
        handed = json.loads(zf.read(NOTEBOOK))
        manifest = json.loads(zf.read(FORMAT["manifest"]))
    assert manifest["student_id"] == "ada-l" and manifest["student_name"] == "Ada Lovelace" and manifest["by"] == "site"

    course = tmp_path / "course"
    grading.init(course, lms="canvas")
    release = json.loads((course / "release" / "tinygpt" / NOTEBOOK).read_text())
    points = lambda nb, kind: sum(  # noqa: E731
        c["metadata"]["nbgrader"]["points"]
        for c in nb["cells"]
        if c["cell_type"] == kind and nbgrader_meta(c).get("grade")
    )
    automatic = points(release, "code")
    course_points = sum(
        points(json.loads(p.read_text()), k)
        for p in (course / "release" / "tinygpt").glob("*.ipynb")
        for k in ("code", "markdown")
    )
    assert handed["metadata"]["tinygpt"]["course_version"] == release["metadata"]["tinygpt"]["course_version"]

    def locked(nb):
        return {
            c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("checksum")
            for c in nb["cells"]
            if nbgrader_meta(c).get("locked")
        }

    assert locked(handed) == locked(release), "the browser kept every locked cell's nbgrader metadata and checksum"

    stub_zip = handin_zip({NOTEBOOK: release}, "bob", "01_tokens_and_data", tmp_path / "bob")
    tampered = json.loads(json.dumps(release))
    test_cell = cell_by_grade_id(tampered["cells"], "nb1_vocab_test")
    test_cell["source"] = "pass  # tests removed"
    tamper_zip = handin_zip({NOTEBOOK: tampered}, "cy", "01_tokens_and_data", tmp_path / "cy")
    bulk = io.BytesIO()
    with zipfile.ZipFile(bulk, "w") as zf:  # Canvas's "Download Submissions": every file renamed, in one zip
        for user, sub, name, path in [
            (12345, 900, "lovelaceada", browser_zip),
            (23456, 901, "stubbob", stub_zip),
            (34567, 902, "tampercy", tamper_zip),
        ]:
            zf.writestr(canvas_name(user, sub, name, path.name), path.read_bytes())
    (tmp_path / "submissions.zip").write_bytes(bulk.getvalue())

    assert grading.collect(course, [tmp_path / "submissions.zip"]) == []
    result = grading.autograde(course, workers=2)
    assert [i for i in result["issues"] if i.problem == "autograde error"] == []
    flagged = [r for r in read_report(course) if r["problem"] == "locked cell changed"]
    assert [(r["student_id"], r["notebook"], r["detail"].split(":")[0]) for r in flagged] == [
        ("34567", NOTEBOOK, "nb1_vocab_test")
    ]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {
            s: gb.find_submission_notebook("01_tokens_and_data", "tinygpt", s).code_score
            for s in ("12345", "23456", "34567")
        }
        assert scores == {"12345": automatic, "23456": 0.0, "34567": 0.0}, scores
        assert gb.find_grade("nb1_vocab_test", "01_tokens_and_data", "tinygpt", "34567").needs_manual_grade
        grade = gb.find_grade("nb1_q1_tokenization", "01_tokens_and_data", "tinygpt", "12345")
        grade.manual_score = 2
        comment = gb.find_comment("nb1_q1_tokenization", "01_tokens_and_data", "tinygpt", "12345")
        comment.manual_comment = "Right trade-off; say what a word vocabulary would cost."
        gb.db.commit()

    # What formgrader shows for this submission (its own exporter and template): the answer, then the rubric.
    view = formgrader_html(course / "autograded" / "12345" / "tinygpt" / NOTEBOOK, "12345")
    answer_at, rubric_at = view.find("65 symbols"), view.find("Rubric (3 points)")
    assert (
        0 < answer_at < view.find("For the grader", answer_at) < rubric_at < view.find("nb1_q2_validation", rubric_at)
    ), "formgrader must show the model answer and rubric right after the student's answer"

    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    for command in (["generate_feedback", "tinygpt"], ["export", "--to", "grades.csv"]):
        done = subprocess.run(
            [nbgrader_exe(), *command], cwd=course, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
    feedback = (course / "feedback" / "12345" / "tinygpt" / "01_tokens_and_data.html").read_text()
    assert "Right trade-off" in feedback and "65 symbols" in feedback
    assert "Model answer" not in feedback and "Rubric (" not in feedback, "rubrics must not reach students"
    with (course / "grades.csv").open() as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["12345"]["score"]) == automatic + 2  # every automatic point + the manual 2
    assert float(rows["23456"]["score"]) == 0.0 and float(rows["34567"]["score"]) == 0.0
    assert rows["12345"]["last_name"] == "Lovelace" and float(rows["12345"]["max_score"]) == course_points
