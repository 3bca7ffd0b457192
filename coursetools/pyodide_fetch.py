"""Downloads for the self-hosted Pyodide, each cached: Pyodide's npm core, pure-Python wheels
from PyPI, and Pyodide's numpy wheel, kept only if its sha256 is the one the pinned release's
official lock lists (`find_numpy_wheel`: no checked wheel, no site).

Downloads are cached under `cache_dir` (the build's: `tinytorch.settings.cache_root()`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

from tinytorch import settings  # the environment variables' one home (TINYGPT_ prefix)

from . import pyodide_lock
from .pyodide_lock import LOCK, PYODIDE_VERSION, is_url, normalize, sha256_file

NUMPY_WHEEL_ENV = "TINYGPT_NUMPY_WHEEL"


def download(url: str, dest: Path) -> Path:
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
        f"  3. build once with internet access: it is downloaded from "
        f"{pyodide_lock.PYODIDE_CDN_URL}/{entry['file_name']} "
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
        return _checked(download(url, dest), entry, origin)
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
            if is_url(value):
                return _fetch_checked(value, cached, entry, origin)
            return _checked(Path(value).expanduser().resolve(), entry, origin)
        except NumpyWheelMissing as error:
            raise NumpyWheelMissing(f"{error}\n{numpy_help(entry, cache_dir)}") from None
    if cached.is_file():
        if sha256_file(cached) == entry["sha256"]:
            return cached
        cached.unlink()  # a corrupt or foreign file in the cache: fetch it again
    try:
        return _fetch_checked(f"{pyodide_lock.PYODIDE_CDN_URL}/{entry['file_name']}", cached, entry, "download")
    except NumpyWheelMissing as error:
        raise NumpyWheelMissing(
            f"numpy for the course site is missing ({error}).\n{numpy_help(entry, cache_dir)}"
        ) from None
