"""The course in Firefox and in WebKit (Safari's engine), not only in Chromium.

Students use all three engines. Per engine, one browser profile for this module (the whole CI
runs on 2 cores), on the session's site build, driven by the same notebook driver as the
Chromium tests (_notebook_driver.py):
  1. the landing page lists the notebooks and turns the offline cache on; a notebook opens, its
     kernel starts from the self-hosted Pyodide and `import tinytorch` works with no install;
  2. notebook 1 with the reference solutions runs top to bottom (Run All) with no error;
  3. an edit typed into a cell and saved with Ctrl+S is still there after a reload;
  4. the server stops: the landing page, a notebook never opened, the kernel and tinytorch
     come back from the service worker's cache.
Every failure message starts with the engine's name. Browsers: tests/_browsers.py, _engines.py.
"""

from __future__ import annotations

import json
import time

import pytest
from _engines import missing, open_page
from _notebook_driver import describe, errors, open_notebook, run_all, run_code, save_notebook
from _site_helpers import REPO, LocalServer

# Selenium's own WebKitGTK driver still uses a deprecated RemoteConnection argument.
pytestmark = pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning")

FAST = "import os\nos.environ['TINYGPT_FAST'] = '1'\n"  # short training, as in the other course tests
PROBE = "import tinytorch, numpy\nprint('kernel says', 6*7, 'with numpy', numpy.__version__)"
NOTE = "# my own note, kept across reloads"

# Uncaught errors of the page and of its workers (a worker's uncaught error reaches the page).
WATCH_ERRORS = """() => {
    window.tinygptErrors = [];
    addEventListener('error', (e) => window.tinygptErrors.push(String(e.message || e.error)));
    addEventListener('unhandledrejection',
        (e) => window.tinygptErrors.push(String(e.reason && e.reason.stack || e.reason)));
}"""
# WebKit only, not ours: Pyodide's PyProxy finalizer (a FinalizationRegistry callback) throws this
# when WebKit runs it inside the synchronous XMLHttpRequest with which the kernel reads the
# student's files (/drive), while Python has released its GIL in that file call. The proxied
# object is then not released (a small leak); no cell fails.
KNOWN_ERRORS = {"webkit": ("NoGilError",)}

LINKS = "() => [...document.querySelectorAll('#course-notebooks a')].map(a => a.dataset.notebook)"
OFFLINE_ON = """() => { const s = document.getElementById('offline-status');
    return !!s && /offline cache is on/.test(s.textContent); }"""
# The open notebook's first code cell: as shown, and as stored in the browser (what a reload shows).
SHOWN_FIRST_CODE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!(panel && panel.context && panel.context.isReady)) return null;
    for (const cell of panel.content.model.cells)
        if (cell.type === 'code') return cell.sharedModel.getSource();
}"""
STORED_FIRST_CODE = """async (path) => {
    const model = await window.jupyterapp.serviceManager.contents.get(path, {content: true});
    const cell = model.content.cells.find((c) => c.cell_type === 'code');
    return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}"""


@pytest.fixture(scope="module", params=["firefox", "webkit"])
def visit(request, site_dir, tmp_path_factory):
    """A student's first visit in one engine, on a server of its own (stopped for the offline test)."""
    engine = request.param
    reason = missing(engine)
    if reason:
        pytest.skip(f"{engine}: {reason}")
    server = LocalServer(site_dir)
    page = open_page(engine, tmp_path_factory.mktemp(f"{engine}-logs"))
    state = {"engine": engine, "page": page, "server": server, "timings": {}}
    try:
        page.goto(server.url)
        state["links"] = page.wait(LINKS, what="notebook links on the landing page")
        page.wait(OFFLINE_ON, timeout=60, what="'offline cache is on' on the landing page")
        started = time.perf_counter()
        open_notebook(page, server.url, state["links"][0])
        state["probe"] = run_code(page, PROBE)
        state["timings"]["kernel start + import tinytorch"] = time.perf_counter() - started
        yield state
    finally:
        print(f"\n{engine} (seconds): " + json.dumps({k: round(v, 1) for k, v in state["timings"].items()}))
        page.close()
        server.stop()


def test_landing_page_lists_the_notebooks(visit, site_dir):
    shipped = sorted(p.name for p in (site_dir / "files").glob("*.ipynb"))
    assert visit["links"] == shipped, (
        f"{visit['engine']}: the landing page lists {visit['links']}, the site ships {shipped}"
    )


def test_kernel_starts_and_imports_tinytorch(visit):
    probe = visit["probe"]
    assert probe["status"] == "ok" and "kernel says 42 with numpy" in probe["stdout"], f"{visit['engine']}: {probe}"


def test_reference_notebook_1_runs_all_cells(visit, tmp_path):
    from coursetools.notebooks import build_notebooks

    engine, page, url = visit["engine"], visit["page"], visit["server"].url
    instructor = {p.name: p for p in build_notebooks(REPO / "content", tmp_path, version="instructor")}
    name = sorted(n for n in instructor if n.startswith("01"))[0]
    save_notebook(page, f"instructor-{name}", json.loads(instructor[name].read_text(encoding="utf-8")))
    open_notebook(page, url, f"instructor-{name}")
    fast = run_code(page, FAST)
    assert fast["status"] == "ok", f"{engine}: the kernel did not start: {fast}"
    page.js(WATCH_ERRORS)
    result = run_all(page)
    visit["timings"][f"Run All {name}"] = result["seconds"]
    uncaught = page.js("() => window.tinygptErrors")
    known = [e for e in uncaught if any(k in e for k in KNOWN_ERRORS.get(engine, ()))]
    if known:
        print(f"\n{engine}: {len(known)} known uncaught error(s) during Run All: {known[0][:120]}")
    assert len(known) == len(uncaught), f"{engine}: uncaught errors during Run All of {name}: {uncaught}"
    cells = result["cells"]
    failed = errors(cells)
    assert not failed, f"{engine}: {name} (instructor): " + describe(cells, failed[0][0])
    not_run = [
        i for i, c in enumerate(cells) if c["type"] == "code" and c["source"].strip() and c["execution_count"] is None
    ]
    assert not not_run and result["ok"], f"{engine}: {name}: Run All did not reach cells {not_run[:5]}"


def test_saved_edit_survives_a_reload(visit):
    engine, page, name = visit["engine"], visit["page"], visit["links"][1]
    open_notebook(page, visit["server"].url, name)
    # Like a student: click into the first code cell, type at its start, leave the editor, Ctrl+S.
    editor = ".jp-Notebook .jp-CodeCell .jp-InputArea-editor"
    page.wait(f"() => !!document.querySelector({editor!r})", what="the first code cell's editor on screen")
    page.click(editor)
    page.wait(
        "() => !!document.querySelector('.jp-Notebook .jp-CodeCell .cm-editor.cm-focused')",
        what="a focused cell editor",
    )
    page.press("Control+Home")
    page.type(NOTE + "\n")
    page.press("Escape")
    page.press("Control+s")
    page.wait(
        f"async (path) => (await ({STORED_FIRST_CODE})(path)).startsWith({NOTE!r})",
        name,
        what="the edit in the browser's storage after Ctrl+S",
    )
    page.reload()
    page.wait(SHOWN_FIRST_CODE, timeout=120, what="the notebook after a reload")
    shown = page.js(SHOWN_FIRST_CODE)
    assert shown.startswith(NOTE), f"{engine}: after a reload the edited cell reads {shown[:120]!r}"


def test_offline_after_the_first_visit(visit):
    """Last: stops the server. Only the service worker's cache can answer."""
    engine, page, server = visit["engine"], visit["page"], visit["server"]
    server.stop()
    page.goto(server.url)
    page.wait(LINKS, what="the landing page offline")
    started = time.perf_counter()
    open_notebook(page, server.url, visit["links"][-1])  # never opened online
    probe = run_code(page, PROBE)
    visit["timings"]["offline kernel start + import tinytorch"] = time.perf_counter() - started
    # WebKit sometimes never routes this page to its notebook: open-notebook.js then opens it
    print(f"\n{engine} offline: open-notebook.js says {page.js('() => window.__tinygptOpenNotebook')!r}")
    assert probe["status"] == "ok" and "kernel says 42 with numpy" in probe["stdout"], f"{engine} offline: {probe}"
