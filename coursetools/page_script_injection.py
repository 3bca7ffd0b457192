"""Page scripts on every app page: coursetools/page_scripts/*.js and the libraries they use are copied
to the site's static/course/ and loaded by a <script defer> tag in each app page's <head>.

The student-work zip format (tinytorch/course/work_format.json) is inlined into the scripts that
hold its slot, so the page and `tinytorch.course.work` read one format.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from .site_inputs import REPO

PAGE_SCRIPTS = Path(__file__).resolve().parent / "page_scripts"
# loaded before the other page scripts, which use what it defines (the rest load in name order)
PAGE_SCRIPTS_FIRST = "notebook-page.js"

# Libraries the page scripts use, copied from node_modules (`npm ci`) with their licences:
# file served in static/course/ -> (npm package, its browser build, its licence file).
PAGE_LIBRARIES = {"fflate.js": ("fflate", "umd/index.js", "LICENSE")}
# The student-work zip format: one JSON, read by tinytorch.course.work and inlined here.
WORK_FORMAT = REPO / "tinytorch" / "course" / "work_format.json"
WORK_FORMAT_SLOT = "/* WORK_FORMAT */ null"


def copy_page_libraries(target: Path) -> list[Path]:
    """Copy each page library and its licence into target; fail clearly if `npm ci` was not run."""
    copied = []
    for name, (package, build, licence) in PAGE_LIBRARIES.items():
        folder = REPO / "node_modules" / package
        if not (folder / build).is_file():
            raise RuntimeError(
                f"{folder / build} is missing: run `npm ci` in {REPO} (the page scripts need {package})."
            )
        shutil.copy2(folder / build, target / name)
        shutil.copy2(folder / licence, target / f"{Path(name).stem}.LICENSE.txt")
        copied.append(target / name)
    return copied


def inject_page_scripts(site: Path) -> list[str]:
    """Copy coursetools/page_scripts/*.js and their libraries to static/course/ and load them on every app page."""
    scripts = sorted(PAGE_SCRIPTS.glob("*.js"), key=lambda s: (s.name != PAGE_SCRIPTS_FIRST, s.name))
    if not scripts:
        return []
    target = site / "static" / "course"
    target.mkdir(parents=True, exist_ok=True)
    libraries = copy_page_libraries(target)
    work_format = json.dumps(json.loads(WORK_FORMAT.read_text(encoding="utf-8")))
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        (target / script.name).write_text(text.replace(WORK_FORMAT_SLOT, work_format), encoding="utf-8")
    scripts = libraries + [target / s.name for s in scripts]
    version = hashlib.sha256(b"".join(s.read_bytes() for s in scripts)).hexdigest()[:8]
    pages = []
    for page in sorted(site.rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        match = re.search(r'id="jupyter-config-data"[^>]*data-jupyter-lite-root="([^"]*)"', text)
        if not match or "</head>" not in text:
            continue  # redirect stubs such as lab/tree/index.html
        root = match.group(1).rstrip("/") or "."
        tags = "".join(
            f'    <script src="{root}/static/course/{s.name}?v={version}" defer></script>\n' for s in scripts
        )
        text = text.replace("</head>", tags + "</head>", 1)
        page.write_text(text, encoding="utf-8")
        pages.append(page.relative_to(site).as_posix())
    return pages
