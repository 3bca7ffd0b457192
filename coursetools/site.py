"""Build the course site: wheel -> lite dir -> student notebooks -> corpus -> `jupyter lite build` -> site/.

Every build starts from a fresh lite dir in a temporary folder (a stale `.jupyterlite.doit.db`
silently drops settings), so two builds of the same sources give the same site. The stock
`jupyter lite build` does the work; this module only prepares its input and does what the
stock tools cannot:

- the `tinytorch` wheel goes into `pypi/` (piplite's index: `%pip install tinytorch` works
  offline) and into Pyodide's lock file, so `import tinytorch` in a cell loads it (and numpy)
  with no install cell; PyPI is never asked (`disablePyPIFallback`, and an unrelated
  `tinytorch` exists there);
- Pyodide is self-hosted under `static/pyodide/`, numpy included (see pyodide_dist.py), with
  bytecode for what a kernel start imports (see bytecode.py);
- nothing for instructors only ships, and numpy is there: site_check.py runs on every build;
- after the build: the course landing page replaces the root `index.html` (landing.py), every
  `coursetools/page_scripts/*.js` is injected into each app page (here), the service worker is
  patched so the site works offline after the first visit and is cross-origin isolated
  (service_worker.py), and the kernel is patched to start faster, see the student's files
  after any reload and stop a running cell (kernel_patches.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tinytorch import settings  # the environment variables' one home (TINYGPT_ prefix)

from . import bytecode, pyodide_dist, site_check
from .kernel_patches import KERNEL_EXTENSION_STATIC, patch_kernel
from .landing import write_landing
from .service_worker import patch_service_worker

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"
LITE_CONFIG = REPO / "lite_config"
PAGE_SCRIPTS = Path(__file__).resolve().parent / "page_scripts"
# loaded before the other page scripts, which use what it defines (the rest load in name order)
PAGE_SCRIPTS_FIRST = "notebook-page.js"
DEFAULT_OUT = REPO / "site"
CORPUS_NAME = "tinyshakespeare.txt"
# bytes: the browser downloads the wheel on every first import. 150 kB was the first budget; the
# exercise catalogue (each exercise's recorded mistakes, so a check can name the bug), the shared
# argument and allocation checks, hand-in and the WebAssembly SIMD kernels (~15 kB) took it to
# ~235 kB, under 1% of a first visit (~34 MB, nearly all Pyodide).
WHEEL_LIMIT = 250_000
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


def log(message: str) -> None:
    print(f"[site] {message}", flush=True)


# ----------------------------------------------------------------------------- the wheel


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


# ----------------------------------------------------------------------------- inputs


def student_notebooks(content_dir: Path, dest: Path) -> list[Path]:
    """Student versions of the course notebooks (solutions stripped) written into dest.

    No fallback: if the builder cannot run, there is no site (copying the sources would ship
    the solutions).
    """
    from .notebooks import build_notebooks

    return [Path(p) for p in build_notebooks(content_dir, dest, version="student")]


CDN_NOTE = (
    "**Internet needed once:** this copy of the course loads numpy from the Pyodide CDN, so the "
    "first `import tinytorch` needs the internet (after that it works offline)."
)


def add_cdn_note(notebook: Path) -> None:
    """Put CDN_NOTE at the top of a notebook (builds with --numpy-from-cdn)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = {"cell_type": "markdown", "metadata": {"editable": False, "deletable": False}, "source": CDN_NOTE}
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = "numpy-from-cdn-note"
    nb["cells"].insert(0, cell)
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def fail_on_leaks(site: Path, content_dir: Path, what: str) -> None:
    """Raise if anything for instructors only (solutions, hidden tests) is in `site`."""
    leaks = site_check.find_leaks(site, content_dir)
    if leaks:
        raise RuntimeError(
            f"{what} would show students what only instructors may see:\n  "
            + "\n  ".join(leaks[:20])
            + ("\n  ..." if len(leaks) > 20 else "")
        )


def find_corpus(corpus: str | os.PathLike | None, cache_dir: Path) -> Path:
    """The Shakespeare text to ship: --corpus, else $TINYGPT_CORPUS, else the cache, else download it."""
    from tinytorch.text.corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, sha256_of

    chosen = corpus or settings.corpus_path()
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"corpus {path} not found (from {'--corpus' if corpus else 'TINYGPT_CORPUS'}): "
                "give the path of tinyshakespeare.txt"
            )
        if sha256_of(path.read_bytes()) != SHAKESPEARE_SHA256:
            log(f"note: {path} is not the pinned tinyshakespeare.txt (SHA-256 differs); shipping it anyway")
        return path
    cached = cache_dir / CORPUS_NAME  # where load_shakespeare() keeps it too: one download serves both
    if not cached.is_file():
        log(f"downloading the Shakespeare corpus from {SHAKESPEARE_URL} (pinned SHA-256)")
        try:
            download_shakespeare(cached)
        except (OSError, ValueError) as error:  # no network (URLError is an OSError), or a damaged file
            raise RuntimeError(
                f"could not download the Shakespeare corpus from {SHAKESPEARE_URL} ({error}). "
                f"Download tinyshakespeare.txt yourself and pass it: --corpus PATH, or TINYGPT_CORPUS=PATH."
            ) from None
    return cached


def _copy_config(lite: Path) -> None:
    """lite_config/ into the lite dir, with what only the build knows filled in."""
    for name in ("jupyter-lite.json", "overrides.json"):
        shutil.copy2(LITE_CONFIG / name, lite / name)
    config = json.loads((LITE_CONFIG / "jupyter_lite_config.json").read_text())
    build = config.setdefault("LiteBuildConfig", {})
    # Only the extensions the course needs, whatever else this Python has installed
    # (nbgrader's or jupytext's lab extensions must not appear in the students' site).
    build["federated_extensions"] = [str(kernel_extension_dir())]
    (lite / "jupyter_lite_config.json").write_text(json.dumps(config, indent=2))


def kernel_extension_dir() -> Path:
    """The installed @jupyterlite/pyodide-kernel-extension folder (from jupyterlite-pyodide-kernel)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "@jupyterlite" / "pyodide-kernel-extension"
        if (candidate / "package.json").is_file():
            return candidate
    raise FileNotFoundError("the Pyodide kernel extension is not installed: pip install -e '.[site]'")


# ----------------------------------------------------------------------------- post-build


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
    from jupyterlite_core import __version__ as lite_version

    import tinytorch

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
        pyodide_dist.add_wheel(lite / "static" / "pyodide", wheel, depends=["numpy"], imports=["tinytorch"])

        (lite / "files" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_path, lite / "files" / "data" / CORPUS_NAME)

        _copy_config(lite)
        built = tmp / "site"
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
        facts = {
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
