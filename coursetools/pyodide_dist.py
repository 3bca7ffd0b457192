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

Downloads are cached under `cache_dir` (the build's: `tinytorch.settings.cache_root()`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tinytorch import settings  # the environment variables' one home (TINYGPT_ prefix)

#: The one place the course pins Pyodide: the npm core the site ships, and the official lock
#: whose numpy entry (file name and sha256) the build checks the numpy wheel against.
#: (jupyterlite-pyodide-kernel 0.8.6 names 314.0.6 as its default; every 314.0.x shares one ABI,
#: but 314.0.5+ rebuilt numpy, so only this version's lock lists the wheel we self-host.)
PYODIDE_VERSION = "314.0.4"
PYODIDE_CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full"
NUMPY_WHEEL_ENV = "TINYGPT_NUMPY_WHEEL"

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
LOCK = "pyodide-lock.json"


def normalize(name: str) -> str:
    """PEP 503 name: `Prompt_Toolkit` -> `prompt-toolkit` (the lock's keys and `depends` differ in style)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def from_another_origin(file_name: str) -> bool:
    """True when a lock entry's file_name is an absolute URL: the browser fetches that package
    from another origin (numpy with --numpy-from-cdn), not from beside the lock."""
    return re.match(r"^https?://", file_name) is not None


def sha256_file(path: Path) -> str:
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


@dataclass
class PyodideReport:
    """What went into static/pyodide/, for the build log and the tests."""

    source: str
    packages: list[str] = field(default_factory=list)
    from_cdn: list[str] = field(default_factory=list)
    numpy_self_hosted: bool = False
    version: str = "unknown"  # the Pyodide version shipped (the landing page names it)


# ----------------------------------------------------------------------------- downloads


def _download(url: str, dest: Path) -> Path:
    """Fetch url to dest (atomically), unless dest is already there."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    print(f"[pyodide] downloading {url}", flush=True)
    with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as f:
        shutil.copyfileobj(response, f, 1 << 20)
    tmp.replace(dest)
    return dest


def npm_core(cache_dir: Path, version: str = PYODIDE_VERSION) -> Path:
    """The npm package `pyodide@version` unpacked in the cache; returns its folder."""
    unpacked = Path(cache_dir) / f"pyodide-npm-{version}"
    if (unpacked / LOCK).is_file():
        return unpacked
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed to fetch Pyodide's core (`npm pack pyodide`): install Node.js/npm "
            "(apt-get install nodejs npm), or pass a Pyodide distribution with --pyodide DIST."
        )
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tarball = Path(cache_dir) / f"pyodide-{version}.tgz"
    if not tarball.is_file():
        print(f"[pyodide] npm pack pyodide@{version}", flush=True)
        subprocess.run(
            [npm, "pack", f"pyodide@{version}", "--pack-destination", str(cache_dir), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    tmp = unpacked.with_name(unpacked.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            # npm tarballs put everything under package/
            if member.isfile() and member.name.startswith("package/") and "/" not in member.name[8:]:
                member.name = member.name[len("package/") :]
                tar.extract(member, tmp, filter="data")
    shutil.rmtree(unpacked, ignore_errors=True)
    tmp.replace(unpacked)
    return unpacked


def pypi_wheel(name: str, version: str, cache_dir: Path) -> Path:
    """The pure-Python wheel `name==version` from PyPI (pip download, cached)."""
    wheels = Path(cache_dir) / "pypi-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    stem = normalize(name).replace("-", "_")
    for found in wheels.glob("*.whl"):
        parts = found.name.split("-")
        if normalize(parts[0]).replace("-", "_") == stem and parts[1] == version:
            return found
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.14",
            "--implementation",
            "py",
            "--abi",
            "none",
            "--platform",
            "any",
            "--dest",
            str(wheels),
            f"{name}=={version}",
        ],
        check=True,
    )
    return pypi_wheel(name, version, cache_dir)


# ----------------------------------------------------------------------------- numpy


class NumpyWheelMissing(RuntimeError):
    """No checked numpy wheel for the self-hosted Pyodide: the build must not go on."""


def numpy_help(entry: dict, cache_dir: Path) -> str:
    """The three ways to give the build numpy, for error messages."""
    return (
        f"Give the build Pyodide {PYODIDE_VERSION}'s numpy wheel {entry['file_name']} "
        f"(sha256 {entry['sha256']}) in one of three ways:\n"
        f"  1. --numpy-wheel PATH_OR_URL\n"
        f"  2. {NUMPY_WHEEL_ENV}=PATH_OR_URL\n"
        f"  3. build once with internet access: it is downloaded from {PYODIDE_CDN_URL}/{entry['file_name']} "
        f"and cached in {Path(cache_dir) / 'numpy'}\n"
        f"(Or, deliberately, --numpy-from-cdn: students then need the internet for their first `import tinytorch`.)"
    )


def _checked(path: Path, entry: dict, origin: str) -> Path:
    """path, if its sha256 is the one Pyodide's official lock lists for numpy; else an error."""
    if not path.is_file():
        raise NumpyWheelMissing(f"{origin}: no file at {path}")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise NumpyWheelMissing(
            f"{origin}: {path} is not Pyodide {PYODIDE_VERSION}'s numpy wheel {entry['file_name']} "
            f"(sha256 {digest}, expected {entry['sha256']})"
        )
    return path


def _fetch_checked(url: str, dest: Path, entry: dict, origin: str) -> Path:
    """Download url to dest (afresh), keeping it only if its sha256 is right."""
    dest.unlink(missing_ok=True)
    try:
        return _checked(_download(url, dest), entry, origin)
    except (OSError, NumpyWheelMissing) as error:  # URLError is an OSError
        dest.unlink(missing_ok=True)
        raise NumpyWheelMissing(f"{origin}: could not download {url}: {error}") from None


def find_numpy_wheel(entry: dict, cache_dir: Path, given: str | None = None) -> Path:
    """Pyodide's numpy wheel (lock `entry`), sha256-checked, from the first source that has one:

    `given` (--numpy-wheel PATH|URL), then $TINYGPT_NUMPY_WHEEL, then the download cache, then
    Pyodide's CDN (cached). A source named explicitly that is wrong is an error, not skipped.
    """
    cached = Path(cache_dir) / "numpy" / entry["file_name"]
    for origin, value in (("--numpy-wheel", given), (NUMPY_WHEEL_ENV, settings.setting("NUMPY_WHEEL"))):
        if not value:
            continue
        try:
            if re.match(r"^https?://", value):
                return _fetch_checked(value, cached, entry, origin)
            return _checked(Path(value).expanduser().resolve(), entry, origin)
        except NumpyWheelMissing as error:
            raise NumpyWheelMissing(f"{error}\n{numpy_help(entry, cache_dir)}") from None
    if cached.is_file():
        if sha256_file(cached) == entry["sha256"]:
            return cached
        cached.unlink()  # a corrupt or foreign file in the cache: fetch it again
    try:
        return _fetch_checked(f"{PYODIDE_CDN_URL}/{entry['file_name']}", cached, entry, "download")
    except NumpyWheelMissing as error:
        raise NumpyWheelMissing(
            f"numpy for the course site is missing ({error}).\n{numpy_help(entry, cache_dir)}"
        ) from None


def shipped_version(files: dict) -> str:
    """The Pyodide version of a distribution, from its package.json, else from pyodide.mjs."""
    if "package.json" in files:
        return json.loads(files["package.json"]).get("version", "unknown")
    match = re.search(rb'="(\d+\.\d+\.\d+(?:[a-z]+\d*)?)";function', files.get("pyodide.mjs", b""))
    return match.group(1).decode() if match else "unknown"


# ----------------------------------------------------------------------------- distributions


def _open_distribution(dist: str, cache_dir: Path):
    """(kind, path): kind 'dir' for a folder holding pyodide-lock.json, 'tar' for a .tar.bz2."""
    if re.match(r"^https?://", dist):
        path = _download(dist, Path(cache_dir) / "pyodide-dist" / dist.rstrip("/").split("/")[-1])
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
            entry["file_name"] = f"{PYODIDE_CDN_URL}/{entry['file_name']}"  # absolute URL: fetched from the CDN
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
            f"[pyodide] --numpy-from-cdn: {', '.join(report.from_cdn)} will come from {PYODIDE_CDN_URL} "
            f"(students need the internet for their first `import tinytorch`)",
            file=sys.stderr,
            flush=True,
        )
    report.packages = sorted({*report.packages, *add_kernel_extras(dest, cache_dir)})
    return report
