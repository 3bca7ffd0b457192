"""The Pyodide release the course pins, and its lock file (`pyodide-lock.json`).

The kernel loads every package from the lock file beside `pyodide.mjs`: a package is listed
by its PEP 503 name, with its wheel's `file_name` (beside the lock, or an absolute URL), its
`sha256` (the browser checks it) and what it `depends` on. The site build trims the official
lock to what the course needs (pyodide_dist.py) and lists the tinytorch wheel in it
(`add_wheel`); bytecode.py, service_worker.py and site_check.py read it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

#: The one place the course pins Pyodide: the npm core the site ships, and the official lock
#: whose numpy entry (file name and sha256) the build checks the numpy wheel against.
#: (jupyterlite-pyodide-kernel 0.8.6 names 314.0.6 as its default; every 314.0.x shares one ABI,
#: but 314.0.5+ rebuilt numpy, so only this version's lock lists the wheel we self-host.)
PYODIDE_VERSION = "314.0.4"
PYODIDE_CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full"
LOCK = "pyodide-lock.json"


def normalize(name: str) -> str:
    """PEP 503 name: `Prompt_Toolkit` -> `prompt-toolkit` (the lock's keys and `depends` differ in style)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_url(text: str) -> bool:
    """True for an http(s) URL (a lock entry's file_name, a --pyodide or --numpy-wheel value), not a path."""
    return re.match(r"^https?://", text) is not None


def from_another_origin(file_name: str) -> bool:
    """True when a lock entry's file_name is an absolute URL: the browser fetches that package
    from another origin (numpy with --numpy-from-cdn), not from beside the lock."""
    return is_url(file_name)


def sha256_file(path: Path) -> str:
    """The file's sha256 (hex), read in 1 MiB blocks: what a lock entry's `sha256` holds."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dependency_closure(lock: dict, names) -> list[str]:
    """The lock keys of `names` and everything they depend on, sorted. Unknown names are an error."""
    index = {normalize(key): key for key in lock["packages"]}
    seen: set[str] = set()
    todo = list(names)
    while todo:
        wanted = todo.pop()
        key = index.get(normalize(wanted))
        if key is None:
            raise KeyError(
                f"package {wanted!r} is not in this Pyodide's {LOCK}: "
                f"is it the right Pyodide version ({PYODIDE_VERSION})?"
            )
        if key not in seen:
            seen.add(key)
            todo.extend(lock["packages"][key].get("depends", []))
    return sorted(seen)


def trim_lock(lock: dict, keep) -> dict:
    """A copy of `lock` listing only the packages in `keep` (lock keys)."""
    trimmed = dict(lock)
    trimmed["packages"] = {key: dict(lock["packages"][key]) for key in sorted(keep)}
    return trimmed


def add_wheel(dest: Path, wheel: Path, depends, imports) -> None:
    """Copy a wheel beside the lock file and list it, so that `import <imports>` in a cell loads it.

    The kernel runs `loadPackagesFromImports` on every cell: a package in the lock file is
    fetched (with its `depends`) the first time a cell imports it. No install cell needed.
    """
    name, version = wheel.name.split("-")[:2]
    if wheel.resolve() != (dest / wheel.name).resolve():
        shutil.copy2(wheel, dest / wheel.name)
    lock_path = dest / LOCK
    lock = json.loads(lock_path.read_text())
    lock["packages"][normalize(name)] = {
        "name": name,
        "version": version,
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256_file(wheel),
        "package_type": "package",
        "imports": list(imports),
        "depends": list(depends),
        "unvendored_tests": False,
    }
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
