"""Checks a built course site must pass before it is served or deployed.

- numpy is self-hosted: the lock's numpy entry names a file shipped beside it, with the lock's
  sha256 (unless the build deliberately loads numpy from the CDN);
- every other package the lock lists beside it is there, with the sha256 the lock lists;
- nothing meant for instructors only reaches students (what counts: coursetools/leak_policy.py),
  in any file of the site whatever its suffix, inside archives too (the build writes notebooks
  to files/, JupyterLite copies and lists them under api/: every copy is checked, not just the
  one we wrote).

`python -m coursetools check SITE` runs them (the deploy workflow and the tests call it); the
build runs them on every site it makes and fails if one does not pass.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from pathlib import Path

from .leak_policy import NO_SNIPPETS, Snippets, is_notebook, notebook_leaks, solution_snippets, text_leaks

__all__ = ["find_leaks", "file_leaks", "solution_snippets", "numpy_problems", "lock_problems", "check_site"]

#: An archive member larger than this is not unpacked to be scanned: it is reported instead.
MAX_SCANNED_MEMBER = 256 * 1024 * 1024
#: The framework's own wheel: the course has students build pieces the library also has (and the
#: checks in tinytorch/course/exercises/ compare with them), so its package code repeats lines of
#: the reference solutions by design. Its members are still scanned for markers and notebooks.
FRAMEWORK_WHEEL = re.compile(r"(?:^|/)tinytorch-[^/]*\.whl$")
FRAMEWORK_PACKAGE = "tinytorch/"


def find_leaks(site: Path, content_dir: Path) -> list[str]:
    """What in the built site students must not see; [] when nothing leaks.

    Every file is read, whatever its name or suffix: notebooks (any file that parses as one, and
    the notebooks inside contents listings) by leak_policy.notebook_leaks, every other file by its
    bytes (leak_policy.text_leaks), and the members of zip archives (wheels, the stdlib zip, a
    student-work zip) the same way.
    """
    site = Path(site)
    snippets = solution_snippets(content_dir)
    problems = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        problems += file_leaks(path.read_bytes(), snippets, path.relative_to(site).as_posix())
    return problems


def file_leaks(data: bytes, snippets: Snippets, where: str, archives: bool = True) -> list[str]:
    """Leaks in one file's bytes; `where` names it in every problem. Zip archives are opened
    (one level deep: an archive inside one is scanned as bytes), gzip is unpacked, UTF-16 text
    is read as text."""
    if archives and data[:4] == b"PK\x03\x04":
        try:
            return _archive_leaks(data, snippets, where)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            pass  # not a readable zip after all: scan its bytes
    if data[:2] == b"\x1f\x8b":  # gzip: scan what it unpacks to (bounded)
        try:
            unpacked = zlib.decompressobj(wbits=31)
            inner = unpacked.decompress(data, MAX_SCANNED_MEMBER)
            if unpacked.unconsumed_tail:
                return [f"{where}: unpacks to more than {MAX_SCANNED_MEMBER:,} bytes, too large to scan for solutions"]
            return file_leaks(inner, snippets, f"{where}!", archives=False)
        except zlib.error:
            pass  # not gzip after all: scan its bytes
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text: scanned as UTF-8
        data = data.decode("utf-16", "replace").encode("utf-8", "surrogatepass")
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        if parsed is not None:
            return _json_leaks(parsed, data, snippets, where)
    return text_leaks(data, snippets, where)


def _archive_leaks(data: bytes, snippets: Snippets, where: str) -> list[str]:
    problems = []
    framework = bool(FRAMEWORK_WHEEL.search(where))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            at = f"{where}!{info.filename}"
            if info.file_size > MAX_SCANNED_MEMBER:
                problems.append(f"{at}: {info.file_size:,} bytes unpacked, too large to scan for solutions")
                continue
            lines = NO_SNIPPETS if framework and info.filename.startswith(FRAMEWORK_PACKAGE) else snippets
            problems += file_leaks(archive.read(info), lines, at, archives=False)
    return problems


def _json_leaks(data, raw: bytes, snippets: Snippets, where: str) -> list[str]:
    if is_notebook(data):
        return notebook_leaks(data, snippets, where)
    # a listing (api/contents/**/all.json) or any other JSON: notebooks inside it are checked per cell
    inside = _json_notebooks(data)
    if not inside:
        return text_leaks(raw, snippets, where)
    problems = []
    for value in inside:
        problems += notebook_leaks(value["content"], snippets, f"{where} ({value.get('path', '?')})")
    rest = json.dumps(_without_notebooks(data), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return problems + text_leaks(rest, snippets, where)


def _json_notebooks(data) -> list[dict]:
    """Contents-API entries (dicts with a notebook as "content") anywhere inside data."""
    found = []
    if isinstance(data, dict):
        if is_notebook(data.get("content")):
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
        if is_notebook(data.get("content")):
            return {k: v for k, v in data.items() if k != "content"}
        return {k: _without_notebooks(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_notebooks(v) for v in data]
    return data


def _shipped_file_problem(folder: Path, key: str, entry: dict) -> str | None:
    """Why the file the lock lists for `key` beside it is not what the browser will accept (None: it is)."""
    from .pyodide_lock import sha256_file

    wheel = folder / entry["file_name"]
    if not wheel.is_file():
        return f"the lock lists {key} as static/pyodide/{entry['file_name']}, which is missing"
    if sha256_file(wheel) != entry.get("sha256"):
        return (
            f"static/pyodide/{entry['file_name']} does not have the sha256 the lock lists for {key}: "
            f"the browser would refuse it (rebuild the site)"
        )
    return None


def numpy_problems(site: Path) -> list[str]:
    """[] when the built site ships Pyodide's numpy wheel as its lock file lists it."""
    from .pyodide_lock import LOCK, from_another_origin

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
    from .pyodide_lock import LOCK, from_another_origin

    lock_path = Path(site) / "static" / "pyodide" / LOCK
    if not lock_path.is_file():
        return []  # numpy_problems names it
    packages = sorted(json.loads(lock_path.read_text()).get("packages", {}).items())
    found = (
        _shipped_file_problem(lock_path.parent, key, entry)
        for key, entry in packages
        if key not in skip and not from_another_origin(entry["file_name"])
    )
    return [problem for problem in found if problem]


def check_site(site: Path, content_dir: Path, allow_numpy_from_cdn: bool = False) -> list[str]:
    """Every problem of a built site: numpy (unless allowed from the CDN), the lock's hashes, then leaks."""
    problems = [] if allow_numpy_from_cdn else numpy_problems(site)
    return problems + lock_problems(site, skip={"numpy"}) + find_leaks(site, content_dir)
