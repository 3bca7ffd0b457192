"""The course's front page: the notebooks in order, each opening in the Notebook app, with what it
builds and how long it takes (from the source notebook's metadata["tinygpt"]), and the build's facts.

The template is coursetools/landing/index.html: <!--NOTEBOOKS--> becomes the list, every other
<!--KEY--> the fact of that name (escaped).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from .cells import cell_source

TEMPLATE = Path(__file__).resolve().parent / "landing" / "index.html"


def notebook_title(path: Path) -> str:
    """The notebook's metadata title, else its first markdown heading, else its file name."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title = nb.get("metadata", {}).get("title")
    if title:
        return title
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell_source(cell)
            match = re.search(r"^#+\s*(.+)$", source, re.M)
            if match:
                return match.group(1).strip()
    return path.stem.replace("_", " ")


def notebook_plan(*notebooks: Path) -> dict:
    """metadata["tinygpt"] "builds" and "minutes" of the first of `notebooks` that has them ({} if none)."""
    for path in notebooks:
        if path is not None and path.is_file():
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("tinygpt", {}) or {}
            if meta.get("builds") or meta.get("minutes"):
                return meta
    return {}


def plan_markup(meta: dict) -> str:
    """What the student builds and how long it takes (hands-on and written apart), as list-item markup."""
    parts = []
    if isinstance(meta.get("builds"), str) and meta["builds"].strip():
        parts.append(f'<span class="builds">{html.escape(meta["builds"].strip())}</span>')
    minutes = meta.get("minutes") if isinstance(meta.get("minutes"), dict) else {}
    times = [
        f"{int(minutes[key])} min {label}"
        for key, label in (("hands_on", "hands-on"), ("written", "written"))
        if isinstance(minutes.get(key), (int, float)) and minutes[key] > 0
    ]
    if times:
        parts.append(f'<span class="time">about {" + ".join(times)}</span>')
    return "".join(parts)


def write_landing(site: Path, notebooks: list[Path], facts: dict, content_dir: Path | None = None) -> None:
    """The course's front page: the notebooks in order, each opening in the Notebook app, with
    what it builds and its time (hands-on, written) when the source notebook's metadata says."""
    items = []
    for i, nb in enumerate(notebooks):
        title = re.sub(r"^\d+\s*[·.:-]\s*", "", notebook_title(nb))  # the list shows the number already
        number = re.match(r"^(\d+)", nb.stem)
        plan = plan_markup(notebook_plan(content_dir / nb.name if content_dir else None, nb))
        items.append(
            f'    <li><a href="./notebooks/index.html?path={html.escape(nb.name)}" '
            f'data-notebook="{html.escape(nb.name)}">'
            f'<span class="num">{int(number.group(1)) if number else i}</span>'
            f'<span><span class="title">{html.escape(title)}</span>{plan}'
            f'<span class="file">{html.escape(nb.name)}</span></span></a></li>'
        )
    page = TEMPLATE.read_text(encoding="utf-8").replace("<!--NOTEBOOKS-->", "\n".join(items))
    for key, value in facts.items():
        page = page.replace(f"<!--{key}-->", html.escape(str(value)))
    (site / "index.html").write_text(page, encoding="utf-8")
