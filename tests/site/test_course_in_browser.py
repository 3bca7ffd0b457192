"""The whole course in real Pyodide: the built site in headless Chromium, every other origin blocked.

- every instructor notebook (reference solutions) with Run All: no cell ends in an error;
  notebook 4's training lowers the loss;
- every student notebook as shipped, with Run All: nothing fails before the first exercise,
  and Run All stops right there with the exercise's hint (the stub's NotImplementedError).

One site build (session fixture) and one browser profile for all of it. Notebooks run with
TINYGPT_FAST=1 set in their kernel first, as the native course tests do (tests/course):
training becomes a seconds-long run. Exercises are found, not listed: a student notebook's
first exercise is its first cell holding `raise NotImplementedError()`.
"""

from __future__ import annotations

import json

import pytest
from _notebook_driver import describe, error_text, errors, open_notebook, run_all, run_code, save_notebook
from _site_helpers import REPO, guard_context

from coursetools.cells import cell_source

NOTEBOOKS = sorted(p.name for p in (REPO / "content").glob("*.ipynb"))
INSTRUCTOR_PREFIX = "instructor-"  # the instructor copies sit beside the student ones, in the same folder
FAST = "import os\nos.environ['TINYGPT_FAST'] = '1'\nprint('fast mode on')"
STUB = "raise NotImplementedError()"

#: Run in a notebook's kernel after Run All: the first and last training loss of the trainer
#: that trained the longest (found among the notebook's variables, whatever it is called).
LOSS_PROBE = """
import json
from tinytorch.training import LanguageModelTrainer
_trainers = [v for v in list(globals().values()) if isinstance(v, LanguageModelTrainer) and v.history]
_best = max(_trainers, key=lambda t: len(t.history), default=None)
_losses = [h["train_loss"] for h in _best.history if h.get("train_loss") is not None] if _best else []
print("LOSSES " + json.dumps({"steps": _best.step if _best else 0, "first": _losses[0] if _losses else None,
                              "last": _losses[-1] if _losses else None, "points": len(_losses)}))
"""


@pytest.fixture(scope="module")
def course(site_dir, server, chromium_browser, tmp_path_factory):
    """One browser profile on the site, with the instructor notebooks saved into its files."""
    from coursetools.notebooks import build_notebooks

    instructor = build_notebooks(REPO / "content", tmp_path_factory.mktemp("instructor"), version="instructor")
    outside: list[str] = []
    context = chromium_browser.new_context(viewport={"width": 1100, "height": 900})
    guard_context(context, outside, [])
    page = context.new_page()
    page.set_default_timeout(120_000)
    open_notebook(page, server.url, NOTEBOOKS[0])
    for path in instructor:
        save_notebook(page, INSTRUCTOR_PREFIX + path.name, json.loads(path.read_text(encoding="utf-8")))
    state = {"page": page, "url": server.url, "outside": outside, "timings": {}}
    yield state
    print("\nthe course in the browser (seconds): " + json.dumps(state["timings"], indent=1))
    context.close()


def _start_kernel(page, name: str, timings: dict) -> None:
    started = run_code(page, FAST)
    assert started["status"] == "ok" and "fast mode on" in started["stdout"], (
        f"{name}: the kernel did not start: {started}"
    )
    timings["kernel"] = round(started["seconds"], 1)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_instructor_notebook_runs_all_cells_without_error(course, name):
    page = course["page"]
    open_notebook(page, course["url"], INSTRUCTOR_PREFIX + name)
    timings = course["timings"].setdefault(f"instructor {name}", {})
    _start_kernel(page, name, timings)
    result = run_all(page)
    timings["run_all"] = round(result["seconds"], 1)
    cells = result["cells"]
    failed = errors(cells)
    assert not failed, f"{name} (instructor): " + describe(cells, failed[0][0])
    code = [i for i, c in enumerate(cells) if c["type"] == "code" and c["source"].strip()]
    not_run = [i for i in code if cells[i]["execution_count"] is None]
    assert not not_run, f"{name} (instructor): Run All did not reach cells {not_run[:5]}"
    if "train" in name:
        probe = run_code(page, LOSS_PROBE)
        assert probe["status"] == "ok", probe
        losses = json.loads(probe["stdout"].split("LOSSES ", 1)[1].splitlines()[0])
        timings["losses"] = losses
        assert losses["points"] >= 2 and losses["steps"] > 0, f"{name}: no training happened: {losses}"
        assert losses["last"] < losses["first"] - 0.3, f"{name}: the loss did not fall in the browser: {losses}"
    print(f"\n{name} (instructor) in the browser: {timings}")
    assert course["outside"] == [], f"requests to other origins: {course['outside'][:10]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_notebook_stops_at_its_first_exercise_with_the_hint(course, name, site_dir):
    shipped = json.loads((site_dir / "files" / name).read_text(encoding="utf-8"))
    sources = [cell_source(c) for c in shipped["cells"]]
    stubs = [i for i, (c, s) in enumerate(zip(shipped["cells"], sources)) if c["cell_type"] == "code" and STUB in s]
    page = course["page"]
    open_notebook(page, course["url"], name)
    timings = course["timings"].setdefault(f"student {name}", {})
    _start_kernel(page, name, timings)
    result = run_all(page)
    timings["run_all"] = round(result["seconds"], 1)
    cells = result["cells"]
    assert [c["source"] for c in cells] == sources, f"{name}: the notebook the browser opened is not the shipped one"
    failed = errors(cells)
    print(f"\n{name} (student) in the browser: {timings}")
    if not stubs:  # a notebook without exercises runs to the end
        assert not failed, f"{name} (student, no exercises): " + describe(cells, failed[0][0])
        return
    first = stubs[0]
    assert failed, f"{name} (student): Run All passed the exercise at cell {first} without an error"
    at = failed[0][0]
    next_code = next((i for i in range(first + 1, len(cells)) if cells[i]["type"] == "code"), first)
    assert at in (first, next_code), (
        f"{name} (student): the first error is at cell {at}, not at the first exercise (cell {first}) or its test "
        f"(cell {next_code}): " + describe(cells, at)
    )
    text = error_text(failed[0][1])
    assert "NotImplementedError" in text, f"{name} (student): the error does not point at the stub: {text[-1500:]}"
    if "hint=" in sources[at] or "hint =" in sources[at]:
        assert "Hint" in text, f"{name} (student): the test cell has a hint, the error does not show it: {text[-1500:]}"
    assert course["outside"] == [], f"requests to other origins: {course['outside'][:10]}"


def test_import_tinytorch_without_numpy_explains_itself_in_the_browser(site_dir, server, chromium_browser):
    """numpy's wheel cannot be fetched (offline on a first visit, or a broken deploy): the student
    sees the short explanation from tinytorch, not a traceback. The service worker is blocked so
    that every request of the page and the kernel's worker passes the route that refuses numpy."""
    outside: list[str] = []
    context = chromium_browser.new_context(service_workers="block")
    guard_context(context, outside, [])
    context.route("**/static/pyodide/numpy-*.whl", lambda route: route.abort())
    page = context.new_page()
    try:
        open_notebook(page, server.url, NOTEBOOKS[0])
        result = run_code(page, "import tinytorch")
    finally:
        context.close()
    assert result["error"], f"import tinytorch worked without numpy? {result}"
    shown = "\n".join(result["error"]["traceback"])
    print(f"\nwhat the student sees without numpy:\n{shown}")
    assert "NumpyUnavailableError" in result["error"]["ename"], result["error"]  # the kernel sends str(type)
    assert "numpy did not load in this browser tab" in shown and "reload the page" in shown, shown
    assert "Traceback" not in shown and 'File "' not in shown and len(shown.splitlines()) <= 6, shown
    assert outside == [], outside[:10]
