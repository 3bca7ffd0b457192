"""The landing page lists each notebook with what the student builds and how long it takes,
from the source notebook's metadata["tinygpt"] = {"builds": ..., "minutes": {"hands_on", "written"}},
and still lists a notebook that has no such metadata."""

import json
import re

from coursetools.landing import write_landing


def _notebook(path, title, meta=None):
    nb = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": f"# {title}"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if meta is not None:
        nb["metadata"]["tinygpt"] = meta
    path.write_text(json.dumps(nb))
    return path


def test_landing_shows_what_is_built_and_the_time_split(tmp_path):
    content, files = tmp_path / "content", tmp_path / "site" / "files"
    content.mkdir()
    files.mkdir(parents=True)
    _notebook(
        content / "01_a.ipynb",
        "01 · Tokens",
        {"builds": "a tokenizer & batches", "minutes": {"hands_on": 40, "written": 15}},
    )
    _notebook(content / "02_b.ipynb", "02 · Attention", {"builds": "one attention head"})
    _notebook(content / "03_c.ipynb", "03 · Plain")
    shipped = [
        _notebook(files / n, t)
        for n, t in (("01_a.ipynb", "01 · Tokens"), ("02_b.ipynb", "02 · Attention"), ("03_c.ipynb", "03 · Plain"))
    ]
    write_landing(tmp_path / "site", shipped, {"PYODIDE": "314.0.4"}, content)
    page = (tmp_path / "site" / "index.html").read_text()
    items = re.findall(r"<li>(.*?)</li>", page.split('id="course-notebooks"')[1].split("</ol>")[0], re.S)
    assert len(items) == 3
    assert "a tokenizer &amp; batches" in items[0] and "40 min hands-on" in items[0] and "15 min written" in items[0]
    assert "one attention head" in items[1] and "min" not in items[1]
    assert "Plain" in items[2] and "builds" not in items[2] and "time" not in items[2]
    assert "Pyodide 314.0.4" in page
