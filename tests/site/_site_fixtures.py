"""Helpers for the student-work browser tests: a local server that can "redeploy" files,
and browser profiles that may only talk to 127.0.0.1.

The site build, Chromium and its flags come from conftest.py / _site_helpers.py (shared
with the other site tests); this file only adds what the student-work tests need.
"""

from __future__ import annotations

import functools
import http.server
import mimetypes
import threading
import urllib.parse
from pathlib import Path

from coursetools.serve import MIME_TYPES  # the same types `python -m coursetools serve` sends


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder; `server.overrides` (url path -> bytes) wins over the disk."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def guess_type(self, path):
        return (
            MIME_TYPES.get(Path(str(path)).suffix, None)
            or mimetypes.guess_type(str(path))[0]
            or "application/octet-stream"
        )

    def end_headers(self):
        # Like a static host after a redeploy: the browser must revalidate, never trust a stale copy.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        body = self.server.overrides.get(path)
        if body is None:
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (page reloads): not an error.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class SiteServer:
    """A static server for a built site on 127.0.0.1 with an overlay for redeploy tests.

    `deploy(url_path, data)` replaces what one URL serves, as if the instructor had
    rebuilt and republished the site with that file changed; the folder on disk is never
    touched, so the built site stays reusable by other tests.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        handler = functools.partial(_Handler, directory=str(self.root))
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.overrides = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def deploy(self, url_path: str, data: bytes) -> None:
        self.httpd.overrides["/" + url_path.lstrip("/")] = data

    def read(self, url_path: str) -> bytes:
        """What the server currently serves at url_path (an override or the file on disk)."""
        key = "/" + url_path.lstrip("/")
        if key in self.httpd.overrides:
            return self.httpd.overrides[key]
        return (self.root / url_path.lstrip("/")).read_bytes()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def new_context(browser, outside_requests: list[str], **kwargs):
    """A fresh browser profile (own storage) that blocks and records requests leaving 127.0.0.1."""
    context = browser.new_context(accept_downloads=True, **kwargs)

    def guard(route):
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            outside_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    # Worker fetches may bypass context.route; the request event still sees them.
    context.on(
        "request",
        lambda r: outside_requests.append(r.url) if not _is_local(r.url) and r.url not in outside_requests else None,
    )
    return context


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:")) or urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost")
