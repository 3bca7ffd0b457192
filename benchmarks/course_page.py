"""Driving the built course site in headless Chromium, for the benchmarks that measure it there.

The site is served the way GitHub Pages serves it: a plain static server, under /course/.
`course_kernel(site)` opens a notebook and waits until its kernel is idle, whatever reloads
happen on the way (a first visit reloads once to become cross-origin isolated,
coursetools/page_scripts/isolation.js); RUN runs code in that kernel and returns its output.
"""

import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_tokens_and_data.ipynb"
SETTLED = """() => { const s = window.tinygptIsolation;
    return !!window.jupyterapp && (!s || (s.status !== 'waiting' && s.status !== 'reloading')); }"""
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle'; }"""
RUN = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out;
}"""


def use_the_tests_helpers() -> None:
    """Import the tests' browser and server helpers (and coursetools, which the wheel does not hold)."""
    for folder in (REPO, REPO / "tests", REPO / "tests" / "site"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


@contextmanager
def course_kernel(site: Path):
    """A notebook of the built `site`, served under /course/ by a plain static server, open in headless
    Chromium with its kernel idle: yields the page."""
    use_the_tests_helpers()
    from _browsers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with served_under_course(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context().new_page()
        page.goto(f"{base}notebooks/?path={NOTEBOOK}")
        wait_for(page, SETTLED)
        wait_for(page, KERNEL_IDLE)
        yield page
        browser.close()


@contextmanager
def served_under_course(site: Path):
    """The built `site` on a plain static server under /course/ (another page at the root): yields its URL."""
    use_the_tests_helpers()
    from _site_helpers import LocalServer

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<p>another site on the same host</p>")
        (Path(root) / "course").symlink_to(site.resolve(), target_is_directory=True)
        server = LocalServer(Path(root))
        try:
            yield f"{server.url}course/"
        finally:
            server.stop()


def wait_for(page, source: str, timeout: float = 300.0):
    """Poll `source` until truthy, tolerating a page that is navigating (the isolation reload)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if page.evaluate(source):
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"not true after {timeout:.0f} s: {source}")
