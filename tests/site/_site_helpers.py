"""Helpers shared by the site tests (conftest.py and the test modules import them)."""

from __future__ import annotations

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
