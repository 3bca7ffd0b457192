"""The course in Firefox and in WebKit (Safari's engine), not only in Chromium.

Students use all three engines. Per engine, one browser profile for this module (the whole CI
runs on 2 cores), on the session's site build:
  1. the landing page lists the notebooks and turns the offline cache on; a notebook opens and
     its kernel starts from the self-hosted Pyodide (`print(6*7)`);
  2. with numpy self-hosted: `import tinytorch` needs no install, and notebook 1 with the
     reference solutions (written into the student's files through the kernel) runs top to
     bottom with no error;
  3. an edit typed into a cell and saved with Ctrl+S is still there after a reload;
  4. the server stops: the landing page, a notebook never opened and the kernel come back
     from the service worker.
Every failure message starts with the engine's name. Browsers: see _engines.py.
"""

from __future__ import annotations

import base64
import time

import pytest

from _engines import missing, open_page
from _site_helpers import PYODIDE_DIST_HELP, REPO, LocalServer

KERNEL_TIMEOUT = 240  # seconds: a cold Pyodide start on a busy 2-core machine
RUN_ALL_TIMEOUT = 600
NOTE = "# my own note, kept across reloads"

# JavaScript run in the page. JupyterLite exposes the app as window.jupyterapp; its models are
# read instead of the DOM because long notebooks render only the cells near the viewport.
NOTEBOOK_READY = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return !!(panel && panel.context && panel.context.isReady && panel.content.widgets.length > 0);
}"""
# Insert a code cell at the top, run it; CELL_DONE then returns its outputs once it has run.
START_CELL = """async (code) => {
    const app = window.jupyterapp, panel = app.shell.currentWidget, notebook = panel.content;
    await panel.sessionContext.ready;
    notebook.activeCellIndex = 0;
    await app.commands.execute('notebook:insert-cell-above');
    notebook.activeCell.model.sharedModel.setSource(code);
    window.tinygptProbe = notebook.activeCell.model.id;
    app.commands.execute('notebook:run-cell');
}"""
CELL_DONE = """() => {
    for (const cell of window.jupyterapp.shell.currentWidget.content.model.cells)
        if (cell.id === window.tinygptProbe && cell.executionCount !== null) return cell.outputs.toJSON();
}"""
START_RUN_ALL = """async () => {
    const app = window.jupyterapp;
    await app.shell.currentWidget.sessionContext.ready;
    window.tinygptRunAll = null;
    app.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.tinygptRunAll = {ok}; }, (error) => { window.tinygptRunAll = {error: String(error)}; });
}"""
RUN_ALL_SUMMARY = """() => {
    const summary = {code: 0, run: 0, errors: []};
    let index = 0;
    for (const cell of window.jupyterapp.shell.currentWidget.content.model.cells) {
        if (cell.type === 'code') {
            summary.code += 1;
            if (cell.executionCount !== null) summary.run += 1;
            for (const out of cell.outputs.toJSON())
                if (out.output_type === 'error') summary.errors.push(`cell ${index}: ${out.ename}: ${out.evalue}`);
        }
        index += 1;
    }
    return summary;
}"""
FIRST_CODE_SOURCE = """() => {
    for (const cell of window.jupyterapp.shell.currentWidget.content.model.cells)
        if (cell.type === 'code') return cell.sharedModel.getSource();
}"""
# Whether the notebook's first code cell, as stored in the browser (what a reload shows), starts with `text`.
STORED_STARTS_WITH = """async ([path, text]) => {
    const model = await window.jupyterapp.serviceManager.contents.get(path);
    const cell = model.content.cells.find((c) => c.cell_type === 'code');
    return (Array.isArray(cell.source) ? cell.source.join('') : cell.source).startsWith(text);
}"""


class Visit:
    """One engine's browser profile on a server of its own; what the steps measured."""

    def __init__(self, engine, page, server):
        self.engine, self.page, self.server = engine, page, server
        self.timings: dict[str, float] = {}
        self.notebook = None  # the notebook open now, with its kernel running once a cell ran

    def open_notebook(self, name: str) -> None:
        """Open `name` (each page load starts a new kernel: a notebook already open is kept)."""
        if name != self.notebook:
            self.page.goto(f"{self.server.url}notebooks/index.html?path={name}")
            self.page.wait(NOTEBOOK_READY, timeout=120, what=f"notebook {name}")
            self.notebook = name

    def run_cell(self, code: str, timeout: float = KERNEL_TIMEOUT) -> str:
        """Run `code` in a new cell at the top of the open notebook; its text output."""
        self.page.js(START_CELL, code)
        outputs = self.page.wait(CELL_DONE, timeout=timeout, what=f"output of {code.splitlines()[0]!r}")
        return "".join(_output_text(o) for o in outputs)


def _output_text(output: dict) -> str:
    if output["output_type"] == "stream":
        text = output["text"]
    elif output["output_type"] == "error":
        text = f"{output['ename']}: {output['evalue']}"
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


@pytest.fixture(scope="module", params=["firefox", "webkit"])
def visit(request, site_dir, tmp_path_factory):
    """A student's first visit in one engine: landing page, then a notebook's kernel."""
    engine = request.param
    reason = missing(engine)
    if reason:
        pytest.skip(f"{engine}: {reason}")
    server = LocalServer(site_dir)
    page = open_page(engine, tmp_path_factory.mktemp(f"{engine}-logs"))
    state = Visit(engine, page, server)
    try:
        page.goto(server.url)
        state.links = page.wait("() => [...document.querySelectorAll('#course-notebooks a')].map(a => a.dataset.notebook)",
                                what="notebook links on the landing page")
        state.offline_status = page.wait(
            "() => { const s = document.getElementById('offline-status'); return s && /offline cache is on/.test(s.textContent) && s.textContent; }",
            timeout=60, what="'offline cache is on' on the landing page")
        started = time.perf_counter()
        state.open_notebook(state.links[0])
        state.kernel_output = state.run_cell("print('kernel says', 6*7)")
        state.timings["kernel start"] = time.perf_counter() - started
        yield state
    finally:
        print(f"\n{engine}: " + ", ".join(f"{k} {v:.1f} s" for k, v in state.timings.items()))
        page.close()
        server.stop()


def test_landing_page_lists_the_notebooks(visit, site_dir):
    shipped = sorted(p.name for p in (site_dir / "files").glob("*.ipynb"))
    assert visit.links == shipped, f"{visit.engine}: landing page lists {visit.links}, the site ships {shipped}"
    assert "offline cache is on" in visit.offline_status


def test_kernel_starts_on_the_self_hosted_pyodide(visit):
    assert "kernel says 42" in visit.kernel_output, f"{visit.engine}: kernel printed {visit.kernel_output!r}"


@pytest.fixture(scope="module")
def numpy_site(built_site):
    if not built_site[1].pyodide.get("numpy_self_hosted"):
        pytest.skip("numpy is not self-hosted in this build, so tinytorch cannot run offline: " + PYODIDE_DIST_HELP)


def test_tinytorch_imports_and_notebook_1_runs_all(visit, numpy_site, tmp_path):
    from coursetools.notebooks import build_notebooks

    instructor = {p.name: p for p in build_notebooks(REPO / "content", tmp_path, version="instructor")}
    first = sorted(n for n in instructor if n.startswith("01"))[0]
    visit.open_notebook(visit.links[0])
    started = time.perf_counter()
    imported = visit.run_cell("import tinytorch, numpy\nprint('tinytorch with numpy', numpy.__version__)")
    visit.timings["import tinytorch"] = time.perf_counter() - started
    assert "tinytorch with numpy" in imported, f"{visit.engine}: {imported!r}"
    # The reference solutions go into the student's files through the kernel's /drive.
    payload = base64.b64encode(instructor[first].read_bytes()).decode()
    written = visit.run_cell(f"import base64, pathlib\npathlib.Path('solutions_{first}').write_bytes(base64.b64decode('{payload}'))\nprint('written')")
    assert "written" in written, f"{visit.engine}: {written!r}"

    visit.open_notebook(f"solutions_{first}")
    started = time.perf_counter()
    visit.page.js(START_RUN_ALL)
    result = visit.page.wait("() => window.tinygptRunAll", timeout=RUN_ALL_TIMEOUT, what=f"end of Run All of {first}")
    visit.timings[f"Run All {first}"] = time.perf_counter() - started
    summary = visit.page.js(RUN_ALL_SUMMARY)
    assert summary["errors"] == [] and result.get("ok"), f"{visit.engine}: Run All of {first}: {result}, {summary['errors']}"
    assert summary["run"] == summary["code"], f"{visit.engine}: only {summary['run']} of {summary['code']} code cells ran"


def test_saved_edit_survives_a_reload(visit):
    page = visit.page
    visit.open_notebook(visit.links[1])
    # Like a student: click into the first code cell, type at its start, leave the editor, Ctrl+S.
    page.click(".jp-Notebook .jp-CodeCell .jp-InputArea-editor")
    page.wait("() => !!document.querySelector('.jp-Notebook .jp-Cell .cm-editor.cm-focused')", what="a focused cell editor")
    page.press("Control+Home")
    page.type(NOTE + "\n")
    page.press("Escape")
    page.press("Control+s")
    page.wait(STORED_STARTS_WITH, [visit.links[1], NOTE], what="the edit in the browser's storage after Ctrl+S")
    page.reload()
    visit.notebook = None
    page.wait(NOTEBOOK_READY, timeout=120, what="the notebook after a reload")
    source = page.js(FIRST_CODE_SOURCE)
    assert source.startswith(NOTE), f"{visit.engine}: after a reload the edited cell reads {source[:120]!r}"


def test_offline_after_the_first_visit(visit):
    """Last: stops the server. Only the service worker's cache can answer."""
    visit.server.stop()
    page = visit.page
    page.goto(visit.server.url)
    visit.notebook = None
    page.wait("() => document.querySelectorAll('#course-notebooks a').length > 0", what="the landing page offline")
    never_opened = visit.links[-1]
    visit.open_notebook(never_opened)
    started = time.perf_counter()
    output = visit.run_cell("print('offline kernel says', 6*7)")
    visit.timings["offline kernel start"] = time.perf_counter() - started
    assert "offline kernel says 42" in output, f"{visit.engine}: offline kernel printed {output!r}"
