"""The views inside JupyterLite's own notebook output area (JupyterLab's HTML renderer, which
re-creates each <script> so it runs): a tiny JupyterLite site is built offline with a
notebook whose cells hold the views' outputs, as a student's notebook does after running
them, and opened in headless Chromium. No kernel is needed: Pyodide is not loaded.

This is where a bug hid that plain HTML pages don't show: notebook files store text as a
list of lines and JupyterLite joined a saved output's lines with commas, breaking any
script that had a line break in it.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from _browsers import CHROMIUM, CHROMIUM_HELP
from _browsers import CHROMIUM_ARGS as ARGS
from _viz_helpers import causal_attention

from tinytorch.viz import attention_heatmap, attention_timelapse, head_view, loss_curves

if CHROMIUM is None:
    pytest.skip(CHROMIUM_HELP, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (the dev extra)")
pytest.importorskip("jupyterlite_core", reason="needs jupyterlite-core (pip install -e '.[site]')")
nbformat = pytest.importorskip("nbformat", reason="needs nbformat (pip install -e '.[site]')")

TEXT = "To be, or not to"
W = causal_attention(2, 3, 16, seed=4)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def lite_url(tmp_path_factory):
    """Build a JupyterLite site holding views.ipynb and serve it on 127.0.0.1."""
    root = tmp_path_factory.mktemp("lite")
    (root / "files").mkdir()
    views = [
        head_view(W, TEXT),
        attention_heatmap(W, TEXT),
        attention_timelapse([(0, W[::-1]), (10, W)], TEXT),
        loss_curves([{"step": s, "train_loss": 3 - s / 10, "val_loss": None, "elapsed": s} for s in range(1, 9)]),
    ]
    cells = []
    for k, view in enumerate(views):
        cell = nbformat.v4.new_code_cell(f"view_{k}", execution_count=k + 1)
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": view.html, "text/plain": repr(view)})]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    data = json.loads(nbformat.writes(nb))  # the on-disk form: multi-line strings split into lists
    for cell in data["cells"]:
        cell["metadata"]["trusted"] = True  # outputs of cells the student ran (nbformat strips this key)
    (root / "files" / "views.ipynb").write_text(json.dumps(data), encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlite_core",
            "build",
            "--contents",
            "files",
            "--output-dir",
            "site",
            "--no-sourcemaps",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    handler = functools.partial(_Quiet, directory=str(root / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notebooks/index.html?path=views.ipynb"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def notebook_page(lite_url, tmp_path_factory, playwright_session):
    context = playwright_session.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("profile")),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": 1200, "height": 1400},
    )
    # Only this machine: Pyodide from its CDN (and anything else) is refused.
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else route.abort()
        ),
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(lite_url)
    # JupyterLab renders cells in idle time: wait for all four outputs and the three scripts.
    page.wait_for_function(
        "document.querySelectorAll('[data-tt-root][data-tt-ready]').length === 3 && "
        "document.querySelectorAll('.jp-OutputArea-output .tt-viz').length === 4",
        timeout=90_000,
    )
    yield page
    context.close()


def test_all_views_render_in_the_notebook_output_area(notebook_page):
    page = notebook_page
    assert page.locator(".jp-OutputArea-output svg.tt-headview-svg").count() == 1
    assert page.locator(".jp-OutputArea-output svg.tt-attention image.tt-panel").count() == 6
    assert page.locator(".jp-OutputArea-output svg.tt-timelapse g.tt-frame").count() == 2
    assert page.locator(".jp-OutputArea-output svg.tt-loss-curves polyline.tt-train").count() == 2
    # No script of ours failed (the kernel's failure to fetch Pyodide is expected and ignored).
    ours = [e for e in page.errors if "pyodide" not in e.lower() and "jsdelivr" not in e.lower()]
    assert ours == []


def test_head_view_works_in_jupyterlite(notebook_page):
    page = notebook_page
    root = page.locator(".jp-OutputArea-output .tt-headview")
    expected = {
        h: int(np.sum(((np.round(np.sqrt(W[0, h]) * 255) / 255) ** 2 >= 0.01) & np.tri(16, dtype=bool)))
        for h in range(3)
    }
    assert root.get_attribute("data-lines") == str(expected[0])
    root.locator("select.tt-head").select_option("2")
    assert root.get_attribute("data-head") == "2" and root.get_attribute("data-lines") == str(expected[2])
    assert set(root.locator("line.tt-line").evaluate_all("ls => ls.map(l => l.dataset.h)")) == {"2"}
    root.locator("g.tt-q[data-i='12']").hover()
    visible = root.locator("line.tt-line").evaluate_all(
        "ls => ls.filter(l => l.style.display !== 'none').map(l => +l.dataset.i)"
    )
    assert visible and set(visible) == {12}


def test_heatmap_and_timelapse_scripts_run_in_jupyterlite(notebook_page):
    page = notebook_page
    readout = page.locator(".jp-OutputArea-output .tt-attention-view .tt-readout")
    assert readout.text_content() == "hover a cell to read its weight"
    lapse = page.locator(".jp-OutputArea-output .tt-timelapse-view")
    lapse.locator("input.tt-step").evaluate("e => { e.value = 0; e.dispatchEvent(new Event('input')); }")
    assert lapse.get_attribute("data-frame") == "0"
    assert "step 0" in lapse.locator(".tt-step-label").text_content()
