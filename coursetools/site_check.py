"""Checks a built course site must pass before it is served or deployed.

- numpy is self-hosted: the lock's numpy entry names a file shipped beside it, with the lock's
  sha256 (unless the build deliberately loads numpy from the CDN);
- every other package the lock lists beside it is there, with the sha256 the lock lists;
- nothing meant for instructors only reaches students: no solution or hidden-test markers, no
  line of a reference solution, no cell tagged instructor-only, in any notebook, listing or
  text file of the site (the build writes notebooks to files/, JupyterLite copies and lists
  them under api/: every copy is checked, not just the one we wrote).

`python -m coursetools check SITE` runs them (the deploy workflow and the tests call it); the
build runs them on every site it makes and fails if one does not pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .notebooks import BEGIN_SOLUTION, END_SOLUTION, TEXT_STUB, is_solution_cell

MARKERS = (BEGIN_SOLUTION, END_SOLUTION, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: Cell tags (metadata.tags) that mean "for instructors only": such a cell must never ship.
INSTRUCTOR_TAGS = {"instructor", "instructor-only", "instructor_only"}
#: Files that may hold notebook text. JavaScript, wasm and wheels are the app and the runtime.
TEXT_SUFFIXES = {".ipynb", ".json", ".md", ".txt", ".py", ".html", ".csv"}
#: A solution line shorter than this (`return x`, `)`) says nothing about the solution.
MIN_SNIPPET = 20


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _solution_text(cell: dict) -> str:
    """The reference-solution part of a source cell ('' for other cells)."""
    source = _source(cell)
    if not is_solution_cell(cell):
        return ""
    if cell.get("cell_type") == "markdown":
        return "" if source.strip() == TEXT_STUB else source
    regions = re.findall(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", source, re.S)
    return "\n".join(regions) if regions else source


def solution_snippets(content_dir: Path) -> dict[str, str]:
    """{line: source notebook} for every distinctive line of a reference solution in content_dir.

    Distinctive: long enough, and not also written outside the solutions (a line a test cell or
    the prose repeats is not a leak).
    """
    snippets: dict[str, str] = {}
    for path in sorted(Path(content_dir).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        solution = set().union(*(_lines(_solution_text(c)) for c in cells))
        elsewhere = set().union(*(_lines(_source(c)) for c in cells if not _solution_text(c)))
        for cell in cells:  # a solution cell's own non-solution lines (the def line) are not secret
            if _solution_text(cell):
                elsewhere |= _lines(_source(cell)) - _lines(_solution_text(cell))
        for line in solution - elsewhere:
            if len(line) >= MIN_SNIPPET and line != TEXT_STUB:
                snippets[line] = path.name
    return snippets


def _strings(value) -> list[str]:
    """Every string inside a parsed JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _problems_in_text(text: str, snippets: dict[str, str], where: str) -> list[str]:
    found = [f"{where}: the marker {marker!r}" for marker in MARKERS if marker in text]
    for line in sorted(_lines(text) & snippets.keys()):
        found.append(f"{where}: a line of the reference solution in {snippets[line]}: {line[:80]!r}")
    return found


def _problems_in_notebook(nb: dict, snippets: dict[str, str], where: str) -> list[str]:
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        at = f"{where} cell {index}"
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & INSTRUCTOR_TAGS:
            found.append(f"{at}: a cell tagged {sorted(tags & INSTRUCTOR_TAGS)} (instructor only)")
        found += _problems_in_text(_source(cell), snippets, at)
    return found


def find_leaks(site: Path, content_dir: Path) -> list[str]:
    """What in the built site students must not see; [] when nothing leaks."""
    site = Path(site)
    snippets = solution_snippets(content_dir)
    problems = []
    for path in sorted(p for p in site.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES):
        where = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix not in (".ipynb", ".json"):
            problems += _problems_in_text(text, snippets, where)
            continue
        try:
            data = json.loads(text)
        except ValueError:
            problems += _problems_in_text(text, snippets, where)
            continue
        if isinstance(data, dict) and isinstance(data.get("cells"), list):
            problems += _problems_in_notebook(data, snippets, where)
            continue
        # a listing (api/contents/**/all.json) or any other JSON: notebooks inside it are checked per cell
        for value in _json_notebooks(data):
            problems += _problems_in_notebook(value["content"], snippets, f"{where} ({value.get('path', '?')})")
        problems += _problems_in_text("\n".join(_strings(_without_notebooks(data))), snippets, where)
    return problems


def _json_notebooks(data) -> list[dict]:
    """Contents-API entries (dicts with a notebook as "content") anywhere inside data."""
    found = []
    if isinstance(data, dict):
        if isinstance(data.get("content"), dict) and isinstance(data["content"].get("cells"), list):
            found.append(data)
        else:
            for value in data.values():
                found += _json_notebooks(value)
    elif isinstance(data, list):
        for value in data:
            found += _json_notebooks(value)
    return found


def _without_notebooks(data):
    if isinstance(data, dict):
        if isinstance(data.get("content"), dict) and isinstance(data["content"].get("cells"), list):
            return {k: v for k, v in data.items() if k != "content"}
        return {k: _without_notebooks(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_notebooks(v) for v in data]
    return data


def _shipped_file_problem(folder: Path, key: str, entry: dict) -> str | None:
    """Why the file the lock lists for `key` beside it is not what the browser will accept (None: it is)."""
    from .pyodide_dist import sha256_file

    wheel = folder / entry["file_name"]
    if not wheel.is_file():
        return f"the lock lists {key} as static/pyodide/{entry['file_name']}, which is missing"
    if sha256_file(wheel) != entry.get("sha256"):
        return (f"static/pyodide/{entry['file_name']} does not have the sha256 the lock lists for {key}: "
                f"the browser would refuse it (rebuild the site)")
    return None


def numpy_problems(site: Path) -> list[str]:
    """[] when the built site ships Pyodide's numpy wheel as its lock file lists it."""
    from .pyodide_dist import LOCK, from_another_origin

    lock_path = Path(site) / "static" / "pyodide" / LOCK
    if not lock_path.is_file():
        return [f"{lock_path} is missing: this is not a built course site"]
    entry = json.loads(lock_path.read_text()).get("packages", {}).get("numpy")
    if entry is None:
        return ["static/pyodide/pyodide-lock.json does not list numpy"]
    if from_another_origin(entry["file_name"]):
        return [f"numpy is not self-hosted: the lock loads it from {entry['file_name']} (built with --numpy-from-cdn)"]
    problem = _shipped_file_problem(lock_path.parent, "numpy", entry)
    return [problem] if problem else []


def lock_problems(site: Path, skip=()) -> list[str]:
    """[] when every package the lock lists beside it (but those in skip) is there with the sha256 it lists.

    The browser refuses a wheel whose hash differs (and the kernel then never starts); the build
    rewrites the hashes of the wheels it changes (PyPI's builds, added bytecode).
    """
    from .pyodide_dist import LOCK, from_another_origin

    lock_path = Path(site) / "static" / "pyodide" / LOCK
    if not lock_path.is_file():
        return []  # numpy_problems names it
    packages = sorted(json.loads(lock_path.read_text()).get("packages", {}).items())
    found = (_shipped_file_problem(lock_path.parent, key, entry) for key, entry in packages
             if key not in skip and not from_another_origin(entry["file_name"]))
    return [problem for problem in found if problem]


def check_site(site: Path, content_dir: Path, allow_numpy_from_cdn: bool = False) -> list[str]:
    """Every problem of a built site: numpy (unless allowed from the CDN), the lock's hashes, then leaks."""
    problems = [] if allow_numpy_from_cdn else numpy_problems(site)
    return problems + lock_problems(site, skip={"numpy"}) + find_leaks(site, content_dir)
