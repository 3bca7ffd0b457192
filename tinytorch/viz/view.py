"""`View`: what every plot function returns. It shows itself in Jupyter/JupyterLite
(`_repr_html_`) and keeps its raw markup (`.html`, `.svg` for static views) for saving,
testing or embedding elsewhere. No IPython needed."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import atomic_write

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="margin:16px;background:#fff">
{body}
</body></html>
"""


class View:
    """A rendered figure.

    Attributes:
        html: self-contained HTML fragment (inline SVG, inline JS only, no external references).
        svg: the static SVG markup, or None for views that are drawn by JS (the head view).
        title: a short description, used as the page title by `save`.
    """

    def __init__(self, html: str, svg: str | None = None, title: str = "tinytorch view"):
        self.html = html
        self.svg = svg
        self.title = title

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        kind = "static SVG" if self.svg is not None else "interactive HTML"
        return f"<{type(self).__name__} {self.title!r}: {kind}, {len(self.html):,} characters of HTML>"

    def save(self, path) -> Path:
        """Write the view to `path`: a standalone SVG file when it ends in '.svg' (static views
        only), otherwise a complete HTML page that works offline. Returns the path."""
        path = Path(path)
        if path.suffix.lower() == ".svg":
            if self.svg is None:
                raise ValueError(
                    f"{type(self).__name__} is interactive (drawn by JavaScript) and has no "
                    f"static SVG: save it as .html instead of {path.name!r}"
                )
            # A standalone .svg file needs the namespace that inline SVG in HTML does without.
            markup = self.svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
            atomic_write(path, '<?xml version="1.0" encoding="utf-8"?>\n' + markup)
        else:
            from .svg import esc

            atomic_write(path, _PAGE.format(title=esc(self.title), body=self.html))
        return path


# JS shared by the views: find this view's root element even before JupyterLab has attached
# the output to the page (then document.getElementById would still miss it).
BOOT_JS = """(function(){var id=%s,cs=document.currentScript,tries=0;
function find(){var r=cs&&cs.closest?cs.closest('[data-tt-root]'):null;return r||document.getElementById(id);}
function start(){var root=find();if(!root){if(tries++<100)setTimeout(start,30);return;}
if(root.dataset.ttReady)return;root.dataset.ttReady='1';main(root);}
function main(root){%s}
start();})();"""


def boot_script(root_id: str, body: str) -> str:
    """A <script> running `body` with `root` bound to this view's root element."""
    # One line, no newlines: notebook files store text as a list of lines, and JupyterLite
    # renders such a saved output with the lines joined by commas, which breaks the script.
    # So the views' JS breaks its long lines only where the joined pieces need no separator.
    return "<script>" + (BOOT_JS % (json.dumps(root_id), body)).replace("\n", "") + "</script>"
