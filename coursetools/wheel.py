"""The tinytorch wheel the site ships: built from a clean copy, reproducible, tinytorch/ only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .site_inputs import REPO, log

# bytes: the browser downloads the wheel on every first import. 150 kB was the first budget; the
# exercise catalogue (each exercise's recorded mistakes, so a check can name the bug), the shared
# argument and allocation checks, hand-in and the WebAssembly SIMD kernels (~15 kB) took it to
# ~235 kB, under 1% of a first visit (~34 MB, nearly all Pyodide).
WHEEL_LIMIT = 250_000


def build_wheel(dest: Path) -> Path:
    """Build the tinytorch wheel from a clean copy of the sources; check it holds tinytorch/ only.

    Building from a copy keeps build/ and *.egg-info out of the work tree (other builds may run
    at the same time) and guarantees nothing but tinytorch/ can be packaged.
    """
    with tempfile.TemporaryDirectory(prefix="tinytorch-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (REPO / name).is_file():
                shutil.copy2(REPO / name, src / name)
        shutil.copytree(REPO / "tinytorch", src / "tinytorch", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        # Same sources, same bytes: zip timestamps from the last commit, not from the clock.
        env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH") or _last_commit_time()}
        run = subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(dest), str(src)],
            capture_output=True,
            text=True,
            env=env,
        )
        if run.returncode != 0:
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise RuntimeError(f"building the tinytorch wheel failed (exit {run.returncode}); its output is above")
    wheels = sorted(dest.glob("tinytorch-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one tinytorch wheel in {dest}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as zf:
        foreign = sorted(
            {n.split("/")[0] for n in zf.namelist()}
            - {"tinytorch"}
            - {n.split("/")[0] for n in zf.namelist() if ".dist-info/" in n}
        )
    if foreign:
        raise RuntimeError(
            f"the wheel {wheel.name} contains {foreign}: only tinytorch/ may ship to the browser "
            "(check [tool.setuptools.packages.find] in pyproject.toml)"
        )
    size = wheel.stat().st_size
    log(
        f"wheel {wheel.name}: {size / 1000:.1f} kB"
        + ("" if size < WHEEL_LIMIT else f"  WARNING: over the {WHEEL_LIMIT // 1000} kB budget")
    )
    return wheel


def _last_commit_time() -> str:
    """Unix time of the repository's last commit (1980-01-01, the zip epoch, outside git)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "log", "-1", "--format=%ct"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "315532800"
    except (OSError, subprocess.SubprocessError):
        return "315532800"
