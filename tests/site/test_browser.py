"""The built course in a real browser (Debian Chromium), with every other origin blocked.

One browser profile, few page loads (the whole CI runs on 2 cores):
  1. online: the landing page lists the notebooks; the first notebook opens; its kernel starts
     from the self-hosted Pyodide and runs `print(6*7)`; `import tinytorch` works with no
     install cell (tinytorch and numpy come from the site); the kernel was started by
     early-kernel.js while the page drew, once; Tab completes without jedi;
  2. the server stops: the landing page, a notebook never opened online, the kernel and
     `import tinytorch` (numpy included) come back from the service-worker cache.
Every request to an origin other than 127.0.0.1 is aborted and recorded: there must be none.
The course itself (every notebook, Run All) is test_course_in_browser.py.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from _site_helpers import LocalServer, guard_context, type_new_cell

KERNEL_TIMEOUT_MS = 240_000  # a cold Pyodide start on a busy 2-core machine


def open_notebook(page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}notebooks/index.html?path={name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)


def run_new_cell(page, code: str, expect: str, timeout_ms: int = KERNEL_TIMEOUT_MS) -> float:
    """Insert a code cell at the top of the open notebook (type_new_cell), run it, wait for
    `expect` in an output. `expect` should be text no course cell prints."""
    type_new_cell(page, code)
    started = time.perf_counter()
    page.keyboard.press("Shift+Enter")
    try:
        page.locator(f".jp-Notebook .jp-OutputArea-output:has-text({json.dumps(expect)})").first.wait_for(
            timeout=timeout_ms
        )
    except Exception as error:
        shot = Path(tempfile.mkdtemp(prefix="tinygpt-browser-")) / "kernel-timeout.png"
        page.screenshot(path=str(shot))
        raise AssertionError(
            f"no output {expect!r} after {timeout_ms / 1000:.0f} s (screenshot: {shot}): {error}"
        ) from None
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def visit(site_dir, chromium_browser, tmp_path_factory):
    """A student's first visit on a server of its own (stopped later for the offline check)."""
    server = LocalServer(site_dir)
    outside: list[str] = []
    seen: list[str] = []
    context = chromium_browser.new_context(viewport={"width": 1100, "height": 900})
    guard_context(context, outside, seen)
    downloaded = {"bytes": 0}

    def count(request):
        try:
            downloaded["bytes"] += request.sizes()["responseBodySize"]
        except Exception:  # a request aborted by the guard has no sizes
            pass

    context.on("requestfinished", count)
    page = context.new_page()
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    state = {
        "server": server,
        "context": context,
        "page": page,
        "outside": outside,
        "seen": seen,
        "downloaded": downloaded,
        "shots": tmp_path_factory.mktemp("screenshots"),
        "workers": workers,
    }

    started = time.perf_counter()
    page.goto(server.url)
    page.wait_for_selector("#course-notebooks a")
    # a person reads the page before clicking; by then the offline cache has started
    page.wait_for_selector("#offline-status:has-text('offline cache is on')", timeout=30_000)
    state["links"] = page.eval_on_selector_all("#course-notebooks a", "els => els.map(a => a.dataset.notebook)")
    page.screenshot(path=str(state["shots"] / "landing.png"), full_page=True)
    page.locator("#course-notebooks a").first.click()
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    state["first_notebook"] = page.url
    state["kernel_seconds"] = run_new_cell(page, "print('kernel says', 6*7)", "kernel says 42")
    page.wait_for_function("window.__tinygptEarlyKernel !== 'waiting'", timeout=60_000)
    state["early_kernel"] = page.evaluate("window.__tinygptEarlyKernel")
    page.wait_for_function("window.__tinygptOpenNotebook !== 'waiting'", timeout=60_000)
    state["open_notebook"] = page.evaluate("window.__tinygptOpenNotebook")
    state["notebook_session"] = page.evaluate("""() => {
        const widget = window.jupyterapp.shell.currentWidget;
        const sessions = Array.from(window.jupyterapp.serviceManager.sessions.running());
        return {path: widget.context.path, sessions: sessions.length};
    }""")
    state["import_seconds"] = run_new_cell(
        page,
        "import tinytorch, numpy\nprint('imported tinytorch with numpy', numpy.__version__)",
        "imported tinytorch with numpy",
    )
    state["online_seconds"] = time.perf_counter() - started
    state["first_visit_bytes"] = downloaded["bytes"]
    files = {urllib.parse.urlsplit(u).path for u in seen if u.startswith(server.url)}
    on_disk = sum((site_dir / f.lstrip("/")).stat().st_size for f in files if (site_dir / f.lstrip("/")).is_file())
    print(
        f"\nfirst visit: {downloaded['bytes'] / 1e6:.1f} MB transferred ({len(files)} files, "
        f"{on_disk / 1e6:.1f} MB on disk), kernel answered in "
        f"{state['kernel_seconds']:.1f} s, `import tinytorch` (numpy included) in {state['import_seconds']:.1f} s, "
        f"{state['online_seconds']:.1f} s in all"
    )
    yield state
    context.close()
    server.stop()


def test_landing_page_lists_the_notebooks_in_order(visit, site_dir):
    shipped = sorted(p.name for p in (site_dir / "files").glob("*.ipynb"))
    assert visit["links"] == shipped


def test_a_notebook_opens_and_runs_on_the_self_hosted_pyodide(visit):
    assert "notebooks/index.html?path=" in visit["first_notebook"]
    assert visit["kernel_seconds"] > 0
    local_pyodide = [u for u in visit["seen"] if "/static/pyodide/pyodide.asm.wasm" in u]
    assert local_pyodide, "the kernel did not load pyodide.asm.wasm from the site"
    assert any("/static/pyodide/numpy-" in u for u in visit["seen"]), "numpy was not loaded from the site"


KERNEL_WORKER = ".worker."  # in the Pyodide kernel's worker scripts' names (comlink.worker..., coincident.worker...)


def test_the_notebooks_kernel_starts_while_the_page_draws_and_only_once(visit):
    """early-kernel.js started the session before the notebook asked; the notebook used it."""
    assert visit["early_kernel"] == "started", visit["early_kernel"]
    kernels = [url for url in visit["workers"] if KERNEL_WORKER in url]
    assert len(kernels) == 1, f"one notebook, one Pyodide worker: {visit['workers']}"
    assert visit["notebook_session"] == {"path": visit["links"][0], "sessions": 1}


def test_the_notebook_opened_and_open_notebook_js_did_not_fail(visit):
    """open-notebook.js opens the notebook only if the router has not (a WebKit offline start)."""
    assert visit["open_notebook"].startswith("opened "), visit["open_notebook"]


def test_a_link_to_a_missing_notebook_starts_no_kernel(visit, chromium_browser):
    context = chromium_browser.new_context()
    guard_context(context, [], [])
    page = context.new_page()
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    try:
        page.goto(f"{visit['server'].url}notebooks/index.html?path=no_such_notebook.ipynb")
        page.wait_for_function(
            "typeof window.__tinygptEarlyKernel === 'string' && window.__tinygptEarlyKernel !== 'waiting'",
            timeout=60_000,
        )
        status = page.evaluate("window.__tinygptEarlyKernel")
        assert status.startswith("not started"), status
        assert not [url for url in workers if KERNEL_WORKER in url], workers
        # nor does open-notebook.js try it again: the router did (JupyterLite shows its error)
        page.wait_for_function("window.__tinygptOpenNotebook !== 'waiting'", timeout=60_000)
        opened = page.evaluate("window.__tinygptOpenNotebook")
        assert not opened.startswith("opened here"), opened
    finally:
        context.close()


def test_tab_completes_from_the_live_objects_without_jedi(visit):
    """The kernel starts without jedi (kernel patch 'no jedi'); IPython's own completer answers."""
    page = visit["page"]
    # one write (an f-string): print's separate pieces can reach the page one by one, and the
    # check below then raced the " False" after "jedi loaded:"
    run_new_cell(page, "import sys, numpy as np\nprint(f\"jedi loaded: {'jedi' in sys.modules}\")", "jedi loaded:")
    assert page.locator(".jp-OutputArea-output:has-text('jedi loaded: False')").count() == 1
    type_new_cell(page, "np.zeros_l")
    page.keyboard.press("Tab")  # IPython answers ".zeros_like" from the dot on; JupyterLab lists it
    page.locator(".jp-Completer .jp-Completer-item:has-text('zeros_like')").first.wait_for(timeout=60_000)
    page.keyboard.press("Enter")
    cell = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content").first
    page.wait_for_function("el => el.innerText.trim() === 'np.zeros_like'", arg=cell.element_handle(), timeout=10_000)
    page.keyboard.press("Escape")


def test_no_request_left_127_0_0_1(visit):
    assert visit["outside"] == [], f"requests to other origins: {visit['outside'][:10]}"


KERNEL_START_REPORT = """import sys
files = {m.__name__: m.__file__ for m in list(sys.modules.values())
         if (getattr(m, '__file__', None) or '').endswith('.py')}
import importlib.util, json, os, zipfile
stdlib = next(p for p in sys.path if p.endswith('.zip'))
with zipfile.ZipFile(stdlib) as z:
    zipped = {n: z.read(n)[:4] for n in z.namelist() if n.endswith('.pyc')}
def has_bytecode(f):  # bytecode this interpreter reads, where its import system looks
    if f.startswith(stdlib + '/'):
        return zipped.get(f[len(stdlib) + 1:] + 'c') == importlib.util.MAGIC_NUMBER
    cached = importlib.util.cache_from_source(f)
    return os.path.exists(cached) and open(cached, 'rb').read(4) == importlib.util.MAGIC_NUMBER
with open('student_helper_for_test.py', 'w') as f:
    f.write('ANSWER = 42\\n')
importlib.invalidate_caches()
import student_helper_for_test
os.remove('student_helper_for_test.py')
print('START ' + json.dumps({'imported': sorted({n.split('.')[0] for n in files}),
      'source_only': sorted({n.split('.')[0] for n, f in files.items() if not has_bytecode(f)}),
      'path': sys.path, 'stdlib': stdlib, 'student': student_helper_for_test.ANSWER}))"""
#: Compiled at each start on purpose: the kernel installs its own small packages from its
#: extension's index. (numpy's wheel is Pyodide's own, but its bytecode comes in a wheel beside it.)
SOURCE_ONLY_ALLOWED = {"piplite", "pyodide_kernel", "ipykernel"}


def test_the_kernel_starts_from_bytecode_and_still_imports_a_students_module(visit):
    """The build's bytecode is what this kernel's Python reads (no module of the start was compiled
    again, apart from SOURCE_ONLY_ALLOWED); the working folder is on sys.path after the standard library."""
    page = visit["page"]
    run_new_cell(page, KERNEL_START_REPORT, "START {")
    text = page.locator(".jp-Notebook .jp-OutputArea-output:has-text('START {')").first.inner_text()
    report = json.loads(text.split("START ", 1)[1].strip().splitlines()[0])
    assert {"IPython", "pyodide_kernel", "tinytorch", "numpy"} <= set(report["imported"]), report["imported"]
    assert set(report["source_only"]) <= SOURCE_ONLY_ALLOWED, report["source_only"]
    assert report["student"] == 42, "a module in the notebook's folder imports"
    path = report["path"]
    assert "" in path and path.index(report["stdlib"]) < path.index(""), (
        f"the working folder is searched after the standard library, as in every IPython: {path}"
    )


def test_offline_after_the_first_visit(visit):
    page, server = visit["page"], visit["server"]
    server.stop()  # the network is gone: only the service-worker cache can answer
    page.goto(visit["server"].url)
    page.wait_for_selector("#course-notebooks a", timeout=30_000)
    # a notebook never opened online: precached when the service worker installed
    open_notebook(page, visit["server"].url, visit["links"][-1])
    seconds = run_new_cell(page, "print('offline kernel says', 6*7)", "offline kernel says 42")
    imported = run_new_cell(
        page,
        "import tinytorch, numpy\nprint('offline tinytorch on numpy', numpy.__version__)",
        "offline tinytorch on numpy",
    )
    print(f"\noffline: kernel answered in {seconds:.1f} s, `import tinytorch` took {imported:.1f} s")
    assert visit["outside"] == []
