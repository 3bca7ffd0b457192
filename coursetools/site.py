"""Build the course site: wheel -> lite dir -> student notebooks -> corpus -> `jupyter lite build` -> site/.

Every build starts from a fresh lite dir in a temporary folder (a stale `.jupyterlite.doit.db`
silently drops settings), so two builds of the same sources give the same site. The stock
`jupyter lite build` does the work; this module runs the steps in order (the input from
site_inputs.py, the wheel from wheel.py) and adds only what the stock tools cannot:

- the `tinytorch` wheel goes into `pypi/` (piplite's index: `%pip install tinytorch` works
  offline) and into Pyodide's lock file, so `import tinytorch` in a cell loads it (and numpy)
  with no install cell; PyPI is never asked (`disablePyPIFallback`, and an unrelated
  `tinytorch` exists there);
- Pyodide is self-hosted under `static/pyodide/`, numpy included (see pyodide_dist.py), with
  bytecode for what a kernel start imports (see bytecode.py);
- nothing for instructors only ships, and numpy is there: site_check.py runs on every build;
- after the build: the course landing page replaces the root `index.html` (landing.py), every
  `coursetools/page_scripts/*.js` is injected into each app page (page_script_injection.py),
  the service worker is patched so the site works offline after the first visit and is
  cross-origin isolated (service_worker.py), and the kernel is patched to start faster, see
  the student's files after any reload and stop a running cell (kernel_patches.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tinytorch import settings  # the environment variables' one home (TINYGPT_ prefix)

from . import bytecode, pyodide_dist, site_check
from .kernel_patches import KERNEL_EXTENSION_STATIC, patch_kernel
from .landing import write_landing
from .page_script_injection import inject_page_scripts
from .pyodide_lock import add_wheel
from .service_worker import patch_service_worker
from .site_inputs import (
    CONTENT,
    CORPUS_NAME,
    REPO,
    add_cdn_note,
    copy_config,
    fail_on_leaks,
    find_corpus,
    log,
    student_notebooks,
)
from .wheel import build_wheel

DEFAULT_OUT = REPO / "site"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
BUILD_INFO = "tinygpt-build.json"
#: Build leftovers the stock build copies to the output that no page loads.
JUNK = ("rspack.config.js", "rspack.config.analyze.js", "rspack.config.watch.js")


@dataclass
class BuildResult:
    """What a build made, for the CLI's summary and the tests."""

    out: Path
    wheel: str
    notebooks: list[str]
    corpus_bytes: int
    pyodide: dict
    seconds: float
    total_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def check_built_config(site: Path, checks: dict) -> None:
    """Assert the built config has what the course relies on (the addons merge several files)."""
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})
    problems = []
    if kernel.get("disablePyPIFallback") is not True:
        problems.append("disablePyPIFallback is not true")
    if kernel.get("pyodideUrl") != "./static/pyodide/pyodide.mjs":
        problems.append(f"pyodideUrl is {kernel.get('pyodideUrl')!r}, not the self-hosted ./static/pyodide/pyodide.mjs")
    if not any(u.startswith("./pypi/all.json") for u in kernel.get("pipliteUrls", [])):
        problems.append("the piplite index ./pypi/all.json is not listed in pipliteUrls")
    if problems:
        raise RuntimeError("the built jupyter-lite.json is wrong: " + "; ".join(problems))
    checks.update(
        pyodideUrl=kernel["pyodideUrl"],
        pipliteUrls=kernel["pipliteUrls"],
        preload=kernel.get("loadPyodideOptions", {}).get("packages", []),
    )


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def jupyter_lite_build(lite: Path, built: Path, sourcemaps: bool) -> None:
    """Run the stock `jupyter lite build` of the lite dir into `built`; its output is shown if it fails."""
    command = [
        sys.executable,
        "-m",
        "jupyterlite_core",
        "build",
        "--lite-dir",
        str(lite),
        "--output-dir",
        str(built),
    ]
    if not sourcemaps:
        command.append("--no-sourcemaps")
    log("jupyter lite build")
    run = subprocess.run(command, cwd=lite, capture_output=True, text=True)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
        raise RuntimeError(f"`jupyter lite build` failed (exit {run.returncode}); its output is above")


def landing_facts(built: Path, report: pyodide_dist.PyodideReport, wheel: Path) -> dict:
    """The build's facts the landing page shows (landing.py fills each <!--KEY--> with one)."""
    from jupyterlite_core import __version__ as lite_version

    import tinytorch

    return {
        "BUILT": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "RELEASE": tinytorch.__version__ if hasattr(tinytorch, "__version__") else wheel.name.split("-")[1],
        "JUPYTERLITE": lite_version,
        "PYODIDE": report.version,
        "APP_VERSION": json.loads((built / "jupyter-lite.json").read_text())["jupyter-config-data"].get(
            "appVersion", ""
        ),
        "FIRST_VISIT_MB": round(first_visit_estimate(built, report) / 1e6),
        "NUMPY_NOTE": ""
        if report.numpy_self_hosted
        else " (This copy of the course loads numpy from the Pyodide CDN: "
        "the first import of tinytorch needs the internet.)",
    }


# ----------------------------------------------------------------------------- the build


def build_site(
    out: Path = DEFAULT_OUT,
    pyodide: str | None = None,
    corpus: str | None = None,
    sourcemaps: bool = False,
    cache_dir: Path | None = None,
    content_dir: Path = CONTENT,
    numpy_wheel: str | None = None,
    numpy_from_cdn: bool = False,
) -> BuildResult:
    """Build the whole course site into `out` (replaced only when the build succeeded).

    numpy_wheel: Pyodide's numpy wheel (path or URL; default $TINYGPT_NUMPY_WHEEL, the cache,
    or a download), checked against the official lock. numpy_from_cdn: deliberately ship no
    numpy (students then need the internet for their first import; the notebooks say so).
    """
    started = time.perf_counter()
    out, content_dir = Path(out).resolve(), Path(content_dir).resolve()
    cache_dir = (Path(cache_dir) if cache_dir is not None else settings.cache_root()).resolve()
    pyodide = pyodide or settings.setting("PYODIDE_DIST")
    cache_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    corpus_path = find_corpus(corpus, cache_dir)  # first: the input most likely to be missing
    with tempfile.TemporaryDirectory(prefix="tinygpt-site-", dir=out.parent) as tmp:
        tmp = Path(tmp)
        lite = tmp / "lite"
        (lite / "pypi").mkdir(parents=True)

        notebooks = student_notebooks(content_dir, lite / "files")
        if not notebooks:
            raise RuntimeError(f"no notebooks in {content_dir}")
        fail_on_leaks(
            lite / "files", content_dir, "the student notebooks"
        )  # fail fast; the built site is checked again
        if numpy_from_cdn:
            for notebook in notebooks:
                add_cdn_note(notebook)
        log(f"{len(notebooks)} student notebooks: {', '.join(p.name for p in notebooks)}")

        log("self-hosted Pyodide -> static/pyodide/")
        report = pyodide_dist.prepare(
            lite / "static" / "pyodide",
            cache_dir / "pyodide",
            pyodide,
            sourcemaps=sourcemaps,
            numpy_wheel=numpy_wheel,
            numpy_from_cdn=numpy_from_cdn,
        )
        wheel = build_wheel(tmp / "wheel")
        shutil.copy2(wheel, lite / "pypi" / wheel.name)
        add_wheel(lite / "static" / "pyodide", wheel, depends=["numpy"], imports=["tinytorch"])

        (lite / "files" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_path, lite / "files" / "data" / CORPUS_NAME)

        copy_config(lite)
        built = tmp / "site"
        jupyter_lite_build(lite, built, sourcemaps)

        checks: dict = {}
        check_built_config(built, checks)
        log("bytecode for what a kernel start imports (Pyodide in Node)")
        no_bytecode = None
        try:
            checks["bytecode"] = bytecode.add_bytecode(
                built / "static" / "pyodide", checks["preload"], built / KERNEL_EXTENSION_STATIC / "pypi"
            )
        except bytecode.NoBytecode as why:
            no_bytecode = str(why)
        if (built / "lab" / "favicon.ico").is_file():  # browsers ask for /favicon.ico whatever the page says
            shutil.copy2(built / "lab" / "favicon.ico", built / "favicon.ico")
        (built / ".nojekyll").touch()  # a Pages deploy from a branch must not run Jekyll over the site
        for junk in JUNK:
            (built / junk).unlink(missing_ok=True)
        facts = landing_facts(built, report, wheel)
        write_landing(built, sorted(built.joinpath("files").glob("*.ipynb")), facts, content_dir)
        pages = inject_page_scripts(built)
        workers = patch_service_worker(built)
        kernel_scripts = patch_kernel(built)
        problems = site_check.check_site(built, content_dir, allow_numpy_from_cdn=numpy_from_cdn)
        if problems:
            raise RuntimeError(
                "the built site fails its checks (python -m coursetools check):\n  " + "\n  ".join(problems[:20])
            )
        result = BuildResult(
            out=out,
            wheel=wheel.name,
            notebooks=[p.name for p in notebooks],
            corpus_bytes=corpus_path.stat().st_size,
            pyodide=asdict(report),
            seconds=0.0,
        )
        if no_bytecode:
            result.warnings.append(no_bytecode)
        if not report.numpy_self_hosted:
            result.warnings.append(
                f"numpy is not self-hosted: it comes from the Pyodide CDN ({', '.join(report.from_cdn)})"
            )
        info = {
            **asdict(result),
            "page_script_pages": pages,
            "service_workers": workers,
            "kernel_patched": kernel_scripts,
            **checks,
        }
        for unknown_yet in ("out", "seconds", "total_bytes"):
            info.pop(unknown_yet)
        (built / BUILD_INFO).write_text(json.dumps(info, indent=2))

        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(built), str(out))
    result.seconds = time.perf_counter() - started
    result.total_bytes = folder_bytes(out)
    log(f"site built in {result.seconds:.1f} s: {out} ({result.total_bytes / 1e6:.1f} MB)")
    for warning in result.warnings:
        log(f"WARNING: {warning}")
    return result


#: The Notebook app's JavaScript, CSS and pages a first notebook visit loads, plus the precache
#: (measured by tests/site/test_browser.py: ~30 MB on disk with numpy, ~18 MB of it Pyodide).
APP_FIRST_VISIT_BYTES = 8_000_000


def first_visit_estimate(site: Path, report) -> int:
    """Rough bytes a student downloads to open a first notebook and start its kernel."""
    pyodide = site / "static" / "pyodide"
    wheels = sum(p.stat().st_size for p in pyodide.iterdir() if p.is_file() and p.suffix != ".map")
    return wheels + APP_FIRST_VISIT_BYTES
