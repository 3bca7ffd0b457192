"""Serve a built site on 127.0.0.1 with the MIME types a JupyterLite site needs.

Python's http.server guesses types from the OS tables, which on some machines lack `.wasm`
(browsers then refuse to stream-compile Pyodide) or map `.js` to text/plain. This handler
names them explicitly. Nothing else: a static folder, like GitHub Pages.
"""

from __future__ import annotations

import functools
import http.server
import mimetypes
from pathlib import Path

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".ipynb": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".tgz": "application/gzip",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with explicit MIME types; `no-cache` so a rebuilt site shows at once."""

    def guess_type(self, path):
        suffix = Path(str(path)).suffix.lower()
        return MIME_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):  # one short line per request, errors only
        if args and str(args[1]).startswith(("4", "5")):
            super().log_message(format, *args)


def make_server(site: Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for `site` (port 0 picks a free port)."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site} is not a built site (no index.html): run `python -m coursetools build` first")
    handler = functools.partial(SiteHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(site: Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve until Ctrl-C."""
    httpd = make_server(site, port, host)
    url = f"http://{host}:{httpd.server_address[1]}/"
    print(f"Serving {site} at {url}  (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        httpd.server_close()
