"""Self-hosted Pyodide for the course site: only the files the course needs, with a lock file to match.

The Pyodide kernel loads `pyodide.mjs` from `pyodideUrl` and every package from the lock file
(`pyodide-lock.json`) beside it. Two ways to fill `<lite_dir>/static/pyodide/`:

1. The default: the npm package `pyodide@PYODIDE_VERSION` (core only, no wheels) fetched with
   `npm pack`, plus
   - Pyodide's numpy wheel, checked against the sha256 of that version's official lock file
     (so numpy's lock entry is shipped unchanged); see `find_numpy_wheel` for where it comes
     from. No wheel, no site: the build fails rather than ship a course that needs a CDN;
   - the kernel's pure-Python packages (micropip, ipython, ...) from PyPI at the versions
     the lock pins. PyPI's wheels are not byte-identical to Pyodide's, so their lock entries'
     `file_name` and `sha256` are rewritten to the files we ship (the browser checks the hash).
2. A full Pyodide distribution (a release `.tar.bz2`, as a path or URL, or an unpacked folder):
   copy the core files plus the wheels of numpy and of the kernel's packages and their
   dependency closure, and trim the lock file to exactly those.

Downloads and the numpy check are in pyodide_fetch.py, the pin and the lock file's rules in
pyodide_lock.py.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from . import pyodide_lock
from .pyodide_fetch import download, find_numpy_wheel, npm_core, pypi_wheel
from .pyodide_lock import LOCK, PYODIDE_VERSION, add_wheel, dependency_closure, is_url, sha256_file, trim_lock

#: What the kernel itself loads: micropip first, then (through piplite) ipython. Not jedi, which
#: the stock kernel also installs, for tab completion only: the site patches the kernel to start
#: without it (kernel_patches.KERNEL_PATCHES, "no jedi").
KERNEL_PACKAGES = ("micropip", "ipython")
#: Pure-Python packages the kernel installs (`piplite.install("comm")`) that no Pyodide lock
#: lists: without them, and with the PyPI fallback disabled, the kernel never starts.
#: {name: (version, imports, depends)}, fetched from PyPI and added to the lock.
KERNEL_EXTRA_FROM_PYPI = {"comm": ("0.2.3", ["comm"], [])}
#: What the course imports. (No matplotlib: the course's views are SVG/HTML built from numpy.)
COURSE_PACKAGES = ("numpy",)
#: Pyodide's runtime files; everything else in a distribution is a package or a demo page.
CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
SOURCEMAPS = ("pyodide.mjs.map",)


@dataclass
class PyodideReport:
    """What went into static/pyodide/, for the build log and the tests."""

    source: str
    packages: list[str] = field(default_factory=list)
    from_cdn: list[str] = field(default_factory=list)
    numpy_self_hosted: bool = False
    version: str = "unknown"  # the Pyodide version shipped (the landing page names it)


def shipped_version(files: dict) -> str:
    """The Pyodide version of a distribution, from its package.json, else from pyodide.mjs."""
    if "package.json" in files:
        return json.loads(files["package.json"]).get("version", "unknown")
    match = re.search(rb'="(\d+\.\d+\.\d+(?:[a-z]+\d*)?)";function', files.get("pyodide.mjs", b""))
    return match.group(1).decode() if match else "unknown"


# ----------------------------------------------------------------------------- distributions


def _open_distribution(dist: str, cache_dir: Path):
    """(kind, path): kind 'dir' for a folder holding pyodide-lock.json, 'tar' for a .tar.bz2."""
    if is_url(dist):
        path = download(dist, Path(cache_dir) / "pyodide-dist" / dist.rstrip("/").split("/")[-1])
    else:
        path = Path(dist).expanduser().resolve()
    if path.is_dir():
        for candidate in (path, path / "pyodide"):
            if (candidate / LOCK).is_file():
                return "dir", candidate
        raise FileNotFoundError(
            f"{path} has no {LOCK}: pass the folder of an unpacked Pyodide release (the one holding {LOCK})."
        )
    if path.is_file() and tarfile.is_tarfile(path):
        return "tar", path
    raise FileNotFoundError(f"Pyodide distribution {dist!r} not found: give a folder, a .tar.bz2 release or its URL.")


def _tar_files(tar_path: Path, wanted) -> dict[str, bytes]:
    """{basename: bytes} for the members of the tarball whose basename is in `wanted` (one streaming pass)."""
    wanted = set(wanted)
    found: dict[str, bytes] = {}
    with tarfile.open(tar_path, "r|*") as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in wanted and base not in found:
                found[base] = tar.extractfile(member).read()
                if len(found) == len(wanted):
                    break
    return found


def from_distribution(dist: str, dest: Path, cache_dir: Path, packages, sourcemaps: bool) -> PyodideReport:
    """Copy core + the closure of `packages` from a full Pyodide distribution into dest."""
    kind, path = _open_distribution(dist, cache_dir)
    read = (
        (lambda names: {n: (path / n).read_bytes() for n in names if (path / n).is_file()})
        if kind == "dir"
        else (lambda names: _tar_files(path, names))
    )
    lock = json.loads(read([LOCK])[LOCK])
    keep = dependency_closure(lock, packages)
    wanted = [*CORE_FILES, *(SOURCEMAPS if sourcemaps else ()), *(lock["packages"][k]["file_name"] for k in keep)]
    files = read([*wanted, "package.json"])
    missing = [n for n in wanted if n not in files and n not in SOURCEMAPS]
    if missing:
        raise FileNotFoundError(
            f"the Pyodide distribution {dist} lacks {missing}: is it a full release (not the core-only npm package)?"
        )
    dest.mkdir(parents=True, exist_ok=True)
    version = shipped_version(files)
    for name, data in files.items():
        if name not in (LOCK, "package.json"):
            (dest / name).write_bytes(data)
    (dest / LOCK).write_text(json.dumps(trim_lock(lock, keep), indent=1, sort_keys=True))
    return PyodideReport(
        source=f"distribution {dist}", packages=keep, numpy_self_hosted="numpy" in keep, version=version
    )


def from_npm_and_pypi(
    dest: Path,
    cache_dir: Path,
    packages,
    sourcemaps: bool,
    version: str = PYODIDE_VERSION,
    numpy_wheel: str | None = None,
    numpy_from_cdn: bool = False,
) -> PyodideReport:
    """Pyodide's npm core, the checked numpy wheel, the kernel's pure-Python packages from PyPI."""
    core = npm_core(Path(cache_dir), version)
    lock = json.loads((core / LOCK).read_text())
    kernel = dependency_closure(lock, KERNEL_PACKAGES)
    course = [k for k in dependency_closure(lock, packages) if k not in kernel]
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*CORE_FILES, *(SOURCEMAPS if sourcemaps else ())):
        if name != LOCK and (core / name).is_file():
            shutil.copy2(core / name, dest / name)
    trimmed = trim_lock(lock, [*kernel, *course])
    from_cdn = []
    for key in course:
        entry = trimmed["packages"][key]
        if numpy_from_cdn:
            # an absolute URL: the browser fetches it from the CDN
            entry["file_name"] = f"{pyodide_lock.PYODIDE_CDN_URL}/{entry['file_name']}"
            from_cdn.append(key)
        elif key == "numpy":
            # the official entry stays as it is: the wheel we ship is the one it names
            shutil.copy2(find_numpy_wheel(entry, cache_dir, numpy_wheel), dest / entry["file_name"])
        else:
            raise RuntimeError(
                f"the course needs {key}, which only a full Pyodide distribution has: pass --pyodide DIST"
            )
    for key in kernel:
        entry = trimmed["packages"][key]
        if not entry["file_name"].endswith("-none-any.whl"):
            raise RuntimeError(
                f"the kernel needs {key} ({entry['file_name']}), which is not pure Python: "
                "pass a full Pyodide distribution with --pyodide."
            )
        wheel = pypi_wheel(entry["name"], entry["version"], cache_dir)
        shutil.copy2(wheel, dest / wheel.name)
        entry["file_name"] = wheel.name  # PyPI's build of the same version: its own name and hash
        entry["sha256"] = sha256_file(wheel)
    (dest / LOCK).write_text(json.dumps(trimmed, indent=1, sort_keys=True))
    return PyodideReport(
        source=f"npm pyodide@{version} + PyPI",
        packages=sorted(trimmed["packages"]),
        from_cdn=from_cdn,
        numpy_self_hosted="numpy" in course and not numpy_from_cdn,
        version=version,
    )


def add_kernel_extras(dest: Path, cache_dir: Path) -> list[str]:
    """Ship KERNEL_EXTRA_FROM_PYPI beside the lock file and list them in it."""
    for name, (version, imports, depends) in KERNEL_EXTRA_FROM_PYPI.items():
        add_wheel(dest, pypi_wheel(name, version, cache_dir), depends=depends, imports=imports)
    return sorted(KERNEL_EXTRA_FROM_PYPI)


def prepare(
    dest: Path,
    cache_dir: Path,
    dist: str | None = None,
    packages=COURSE_PACKAGES,
    sourcemaps: bool = False,
    numpy_wheel: str | None = None,
    numpy_from_cdn: bool = False,
) -> PyodideReport:
    """Fill dest (`<lite_dir>/static/pyodide`) with a self-hosted Pyodide, numpy included
    (unless numpy_from_cdn: then the lock points numpy at Pyodide's CDN)."""
    wanted = [*KERNEL_PACKAGES, *packages]
    if dist:
        report = from_distribution(dist, dest, cache_dir, wanted, sourcemaps)
    else:
        report = from_npm_and_pypi(
            dest, cache_dir, packages, sourcemaps, numpy_wheel=numpy_wheel, numpy_from_cdn=numpy_from_cdn
        )
    if report.from_cdn:
        print(
            f"[pyodide] --numpy-from-cdn: {', '.join(report.from_cdn)} will come from {pyodide_lock.PYODIDE_CDN_URL} "
            f"(students need the internet for their first `import tinytorch`)",
            file=sys.stderr,
            flush=True,
        )
    report.packages = sorted({*report.packages, *add_kernel_extras(dest, cache_dir)})
    return report
