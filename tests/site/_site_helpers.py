"""Helpers shared by the site tests (conftest.py and the test modules import them)."""

from __future__ import annotations

import os
import threading
import urllib.parse
from pathlib import Path

from _browsers import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (one home for the browser, tests/_browsers.py)

REPO = Path(__file__).resolve().parents[2]

NUMPY_WHEEL_HELP = (
    "the browser course tests need Pyodide's numpy wheel in the site: set TINYGPT_NUMPY_WHEEL to the wheel "
    "(or its URL), or run once with internet access so the build downloads it into its cache "
    "($TINYGPT_CACHE, else ~/.cache/tinytorch)"
)


class LocalServer:
    """The site served on 127.0.0.1 (a free port) by coursetools.serve, in a thread."""

    def __init__(self, site: Path):
        from coursetools.serve import make_server

        self.httpd = make_server(site, port=0)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def type_new_cell(page, code: str) -> None:
    """Insert a code cell at the top of the open notebook, in edit mode, with `code` typed into it.

    At the top, because JupyterLab renders long notebooks lazily: the last cell in the DOM is
    not the notebook's last cell. A pop-up that takes the focus while we type (the course's
    storage notice) makes us try again.
    """
    first_line = code.splitlines()[0]
    for _ in range(3):
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("a")  # new cell above, selected, command mode
        page.keyboard.press("Enter")  # edit it
        page.keyboard.insert_text(code)
        active = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")
        if active.count() and first_line in active.first.inner_text():
            return
        page.keyboard.press("Escape")
    raise AssertionError(f"could not type into a new cell; page text: {page.inner_text('body')[:500]}")


def guard_context(context, outside: list[str], seen: list[str]) -> None:
    """Abort and record every request that would leave 127.0.0.1; record the local ones too."""

    def route(request_route):
        url = request_route.request.url
        host = urllib.parse.urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            seen.append(url)
            try:
                request_route.continue_()
            except Exception:  # the page or context closed while the request was pending
                pass
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    # Service-worker and web-worker fetches do not always pass through context.route: the
    # request event sees them all, so anything non-local is recorded there as well.
    context.on("request", lambda r: outside.append(r.url) if not _is_local(r.url) and r.url not in outside else None)


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:")) or urllib.parse.urlsplit(url).hostname == "127.0.0.1"


# ------------------------------------------------------------------ the built site, a notebook page, its storage


def site_under_test(request) -> Path:
    """TINYGPT_SITE=<folder> (a site already built, quicker while developing), else the session's build."""
    folder = os.environ.get("TINYGPT_SITE")
    return Path(folder) if folder else request.getfixturevalue("site_dir")


#: True once the notebook app shows the notebook's cells (more than the empty first one).
NOTEBOOK_CELLS_SHOWN = "() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 1"


def wait_for_notebook(page, timeout_ms: int = 90_000) -> None:
    """Wait until the open notebook's cells and the page's Your-work button are there."""
    page.wait_for_function(NOTEBOOK_CELLS_SHOWN, timeout=timeout_ms)
    page.wait_for_selector("#tinygpt-work-button", timeout=30_000)


def write_cell(page, cell_index: int, text: str) -> None:
    """Type into one cell like a student (edit mode, select all, type), then save with Ctrl+S."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(cell_index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-prompt, .jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    cell.locator(".cm-editor.cm-focused").wait_for(timeout=10_000)
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")


#: JavaScript for page.evaluate: `req(request)`, an IndexedDB request as a promise of its result.
IDB_REQUEST = """const req = (r) => new Promise((ok, bad) => {
                    r.onsuccess = () => ok(r.result); r.onerror = () => bad(r.error); });"""


def stored_model(name: str, text: str = "", type_: str = "file", now: str = "") -> dict:
    """A file (text) or directory as JupyterLite's drive stores it in IndexedDB; `now` is an ISO time."""
    return {
        "name": name.split("/")[-1],
        "path": name,
        "type": type_,
        "format": "text" if type_ == "file" else "json",
        "mimetype": "text/plain" if type_ == "file" else "",
        "content": text if type_ == "file" else None,
        "size": len(text.encode()),
        "writable": True,
        "created": now,
        "last_modified": now,
    }


def work_probe_models(now: str) -> dict:
    """tinytorch's course/work.py and what it reads (the zip format beside it, files.atomic_write) as an
    uploaded package `probe` laid out like tinytorch: a cell can `from probe.course import work`
    (relative imports work, no numpy needed, so no tinytorch wheel)."""
    package = REPO / "tinytorch"

    def source(name: str, relative: str) -> dict:
        return stored_model(name, (package / relative).read_text(encoding="utf-8"), now=now)

    return {
        "probe": stored_model("probe", type_="directory", now=now),
        "probe/course": stored_model("probe/course", type_="directory", now=now),
        "probe/__init__.py": stored_model("probe/__init__.py", "", now=now),
        "probe/course/__init__.py": stored_model("probe/course/__init__.py", "", now=now),
        "probe/files.py": source("probe/files.py", "files.py"),
        "probe/course/work.py": source("probe/course/work.py", "course/work.py"),
        "probe/course/work_format.json": source("probe/course/work_format.json", "course/work_format.json"),
    }
