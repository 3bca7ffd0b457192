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
  bytecode for what a kernel start imports (see bytecode.py), and a kernel start that does not
  ask the student's drive for every import nor install jedi (KERNEL_START_PATCHES);
- nothing for instructors only ships, and numpy is there: site_check.py runs on every build;
- after the build: the course landing page replaces the root `index.html`, every
  `coursetools/page_scripts/*.js` is injected into each app page, and the service worker is
  patched so the site works offline after the first visit.
"""

from __future__ import annotations

import hashlib
import html
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
from datetime import datetime, timezone
from pathlib import Path

from . import bytecode, pyodide_dist, site_check

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"
LITE_CONFIG = REPO / "lite_config"
PAGE_SCRIPTS = Path(__file__).resolve().parent / "page_scripts"
# loaded before the other page scripts, which use what it defines (the rest load in name order)
PAGE_SCRIPTS_FIRST = "notebook-page.js"
LANDING = Path(__file__).resolve().parent / "landing" / "index.html"
DEFAULT_CACHE = REPO / ".cache"
DEFAULT_OUT = REPO / "site"
CORPUS_NAME = "tinyshakespeare.txt"
# bytes: the browser downloads the wheel on every first import. 150 kB was the first budget; the
# exercise catalogue (each exercise's recorded mistakes, so a check can name the bug), the shared
# argument and allocation checks, hand-in and the WebAssembly SIMD kernels (~15 kB) took it to
# ~235 kB, under 1% of a first visit (~34 MB, nearly all Pyodide).
WHEEL_LIMIT = 250_000
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
KERNEL_EXTENSION_STATIC = "extensions/@jupyterlite/pyodide-kernel-extension/static"
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
        run = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dest), str(src)],
                             capture_output=True, text=True, env=env)
        if run.returncode != 0:
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise RuntimeError(f"building the tinytorch wheel failed (exit {run.returncode}); its output is above")
    wheels = sorted(dest.glob("tinytorch-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one tinytorch wheel in {dest}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as zf:
        foreign = sorted({n.split("/")[0] for n in zf.namelist()} - {"tinytorch"} - {n.split("/")[0] for n in zf.namelist() if ".dist-info/" in n})
    if foreign:
        raise RuntimeError(f"the wheel {wheel.name} contains {foreign}: only tinytorch/ may ship to the browser (check [tool.setuptools.packages.find] in pyproject.toml)")
    size = wheel.stat().st_size
    log(f"wheel {wheel.name}: {size / 1000:.1f} kB" + ("" if size < WHEEL_LIMIT else f"  WARNING: over the {WHEEL_LIMIT // 1000} kB budget"))
    return wheel


def _last_commit_time() -> str:
    """Unix time of the repository's last commit (1980-01-01, the zip epoch, outside git)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%ct"], capture_output=True, text=True, timeout=10)
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
        raise RuntimeError(f"{what} would show students what only instructors may see:\n  " + "\n  ".join(leaks[:20])
                           + ("\n  ..." if len(leaks) > 20 else ""))


def find_corpus(corpus: str | os.PathLike | None, cache_dir: Path) -> Path:
    """The Shakespeare text to ship: --corpus, else $TINYGPT_CORPUS, else the cache, else download it."""
    from tinytorch.text.corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, sha256_of

    chosen = corpus or os.environ.get("TINYGPT_CORPUS")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"corpus {path} not found (from {'--corpus' if corpus else 'TINYGPT_CORPUS'}): give the path of tinyshakespeare.txt")
        if sha256_of(path.read_bytes()) != SHAKESPEARE_SHA256:
            log(f"note: {path} is not the pinned tinyshakespeare.txt (SHA-256 differs); shipping it anyway")
        return path
    cached = cache_dir / "corpus" / CORPUS_NAME
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


def notebook_title(path: Path) -> str:
    """The notebook's metadata title, else its first markdown heading, else its file name."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title = nb.get("metadata", {}).get("title")
    if title:
        return title
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", ""))
            match = re.search(r"^#+\s*(.+)$", source, re.M)
            if match:
                return match.group(1).strip()
    return path.stem.replace("_", " ")


def notebook_plan(*notebooks: Path) -> dict:
    """metadata["tinygpt"] "builds" and "minutes" of the first of `notebooks` that has them ({} if none)."""
    for path in notebooks:
        if path is not None and path.is_file():
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("tinygpt", {}) or {}
            if meta.get("builds") or meta.get("minutes"):
                return meta
    return {}


def plan_markup(meta: dict) -> str:
    """What the student builds and how long it takes (hands-on and written apart), as list-item markup."""
    parts = []
    if isinstance(meta.get("builds"), str) and meta["builds"].strip():
        parts.append(f'<span class="builds">{html.escape(meta["builds"].strip())}</span>')
    minutes = meta.get("minutes") if isinstance(meta.get("minutes"), dict) else {}
    times = [f"{int(minutes[key])} min {label}" for key, label in (("hands_on", "hands-on"), ("written", "written"))
             if isinstance(minutes.get(key), (int, float)) and minutes[key] > 0]
    if times:
        parts.append(f'<span class="time">about {" + ".join(times)}</span>')
    return "".join(parts)


def write_landing(site: Path, notebooks: list[Path], facts: dict, content_dir: Path | None = None) -> None:
    """The course's front page: the notebooks in order, each opening in the Notebook app, with
    what it builds and its time (hands-on, written) when the source notebook's metadata says."""
    items = []
    for i, nb in enumerate(notebooks):
        title = re.sub(r"^\d+\s*[·.:-]\s*", "", notebook_title(nb))  # the list shows the number already
        number = re.match(r"^(\d+)", nb.stem)
        plan = plan_markup(notebook_plan(content_dir / nb.name if content_dir else None, nb))
        items.append(
            f'    <li><a href="./notebooks/index.html?path={html.escape(nb.name)}" data-notebook="{html.escape(nb.name)}">'
            f'<span class="num">{int(number.group(1)) if number else i}</span>'
            f'<span><span class="title">{html.escape(title)}</span>{plan}<span class="file">{html.escape(nb.name)}</span></span></a></li>'
        )
    page = LANDING.read_text(encoding="utf-8").replace("<!--NOTEBOOKS-->", "\n".join(items))
    for key, value in facts.items():
        page = page.replace(f"<!--{key}-->", html.escape(str(value)))
    (site / "index.html").write_text(page, encoding="utf-8")


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
            raise RuntimeError(f"{folder / build} is missing: run `npm ci` in {REPO} (the page scripts need {package}).")
        shutil.copy2(folder / build, target / name)
        shutil.copy2(folder / licence, target / f"{Path(name).stem}.LICENSE.txt")
        copied.append(target / name)
    return copied


def inject_page_scripts(site: Path) -> list[str]:
    """Copy coursetools/page_scripts/*.js (and the libraries they use) to static/course/ and load them on every app page."""
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
        tags = "".join(f'    <script src="{root}/static/course/{s.name}?v={version}" defer></script>\n' for s in scripts)
        text = text.replace("</head>", tags + "</head>", 1)
        page.write_text(text, encoding="utf-8")
        pages.append(page.relative_to(site).as_posix())
    return pages


# The kernel's worker (jupyterlite-pyodide-kernel 0.8.6) is patched in two places. Each patch must
# match a worker script, or the build fails and names it: an upgrade that moves the code must
# not silently bring the slow start back.
KERNEL_START_PATCHES = {
    # The worker starts Pyodide, mounts the student's files at /drive and makes it the working
    # folder, then imports micropip, piplite, IPython and the kernel. Pyodide puts '' (the working
    # folder) first on sys.path, so each top-level import of that start first asked /drive: a
    # request through the service worker, ~7 ms each, ~130 of them. Dropping Pyodide's '' before
    # the mount lets IPython's own `init_path` put it back where every IPython has it (after the
    # standard library, before site-packages): a student's module still imports, and a student's
    # `random.py` can no longer hide the standard library's. (Measured: kernel ready ~1 s sooner.)
    "sys.path": (
        re.compile(r"await this\.initRuntime\((\w+)\),await this\.initFilesystem\(\1\)"),
        r'await this.initRuntime(\1),this._pyodide.runPython("import sys\\nif sys.path[:1] == [\\"\\"]: del sys.path[0]"),'
        r"await this.initFilesystem(\1)",
    ),
    # The kernel installs jedi at every start, only for tab completion: 1,957 files to unpack
    # (half of all a start unpacks, ~0.7 s in Chromium) and 2.4 MB with parso. Without it,
    # IPython's own completer answers from the live objects (`np.ze` -> zeros, `model.` -> its
    # attributes) in ~1 ms, where jedi's first answers took 0.1-2.7 s. The site does not ship
    # jedi (pyodide_dist.KERNEL_PACKAGES); the kernel forces `use_jedi = True`, which without
    # jedi would answer nothing, so it is turned off once the kernel exists.
    "no jedi": (
        re.compile(r'"pyodide-kernel","jedi","ipython"\]\)(.{0,200}?)(\w+)\.push\("import pyodide_kernel"\)'),
        r'"pyodide-kernel","ipython"])\1\2.push("import pyodide_kernel",'
        r'"pyodide_kernel.ipython_shell.Completer.use_jedi = False")',
    ),
}


def patch_kernel_start(site: Path) -> list[str]:
    """Apply KERNEL_START_PATCHES to the kernel extension's scripts; fails loudly if a patch matches no worker."""
    patched, unmatched = [], set(KERNEL_START_PATCHES)
    for script in sorted((site / KERNEL_EXTENSION_STATIC).glob("*.js")):
        text = script.read_text(encoding="utf-8")
        changed = False
        for name, (pattern, replacement) in KERNEL_START_PATCHES.items():
            text, count = pattern.subn(replacement, text)
            if count and ".worker." in script.name:
                unmatched.discard(name)
            changed = changed or bool(count)
        if changed:
            script.write_text(text, encoding="utf-8")
            patched.append(script.relative_to(site).as_posix())
    if unmatched:
        raise RuntimeError(
            f"cannot patch the Pyodide kernel's start: no worker script in {KERNEL_EXTENSION_STATIC} takes the "
            f"{', '.join(sorted(unmatched))} patch (jupyterlite-pyodide-kernel changed; update KERNEL_START_PATCHES "
            f"in {__file__})"
        )
    return patched


# The stock service worker (JupyterLite 0.8.6) only caches after its *first* activation saw
# ?enableCache=true, skips every /api/ path (the notebook listing), and serves the cache first.
# Patched: cache from the start, include /api/ GETs (the drive and stdin calls are answered by
# the page before this check), and go to the network first for pages, JSON and files (so a
# redeploy shows at once when online), falling back to the cache when offline; the landing
# page is cached when the worker starts. Hashed assets
# (build/*.js, Pyodide, wheels) stay cache-first.
SW_PATCHES = (
    ("let enableCache=!1", "let enableCache=!0"),
    # precache after taking control, in the background: installing stays instant (a page that
    # navigates right away is already served, and cached, by the worker) and a failed precache
    # fetch cannot stop the worker from installing
    ("function onInstall(e){self.skipWaiting(),e.waitUntil(cacheAll())}", "function onInstall(e){self.skipWaiting()}"),
    ("e.waitUntil(self.clients.claim())}", "e.waitUntil(self.clients.claim().then(()=>{cacheAll().catch(console.warn)}))}"),
    ('enableCache="true"===new URL(location.href).searchParams.get("enableCache"),', ""),
    ('||t.pathname.includes("/api/")}', "}"),
    (
        "async function maybeFromCache(e){let{request:t}=e;if(!enableCache)return await fetch(t);",
        "function isMutable(u){return /(\\/|\\.html|\\.json|\\.ipynb|\\.txt)$/.test(u.pathname)||u.pathname.includes(\"/api/\")||u.pathname.includes(\"/files/\")}"
        "async function networkFirst(e){let{request:t}=e;try{let a=await fetch(t);return a.ok&&e.waitUntil(updateCache(t,a.clone())),a}"
        # offline: the same page with another ?path= (another notebook) is the same app page
        "catch(n){let a=await fromCache(t)||await (await openCache()).match(t,{ignoreSearch:!0});if(a)return a;throw n}}"
        "async function maybeFromCache(e){let{request:t}=e;if(!enableCache)return await fetch(t);"
        "if(isMutable(new URL(t.url)))return await networkFirst(e);",
    ),
)


PRECACHE_HOOK = "return await e.addAll([])"


def precache_list(site: Path) -> list[str]:
    """What the worker fetches once it is active (on the landing page), beyond what a visit loads.

    The landing page (loaded before the worker existed), every course notebook and the listing
    that names them, the corpus, and the wheels `import tinytorch` loads: so a student who
    opened one notebook online can open any other offline. About 1.5 MB + numpy (~3 MB) and its
    bytecode (0.8 MB).
    Pyodide's core and the app's JavaScript are cached by the first notebook visit.
    """
    urls = ["./", "./index.html", "./jupyter-lite.json"]
    for app in ("notebooks", "tree", "lab", "edit"):  # app pages: offline, any ?path= is served from these
        urls += [f"./{app}/index.html", f"./{app}/jupyter-lite.json"]
    urls += sorted("./" + p.relative_to(site).as_posix() for p in (site / "api" / "contents").rglob("all.json"))
    urls += sorted("./" + p.relative_to(site).as_posix() for p in (site / "files").rglob("*") if p.is_file())
    lock = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    course = pyodide_dist.dependency_closure(lock, ["tinytorch"]) if "tinytorch" in lock["packages"] else []
    for key in course:  # tinytorch, numpy and numpy's bytecode
        file_name = lock["packages"][key]["file_name"]
        if not pyodide_dist.from_another_origin(file_name):
            urls.append(f"./static/pyodide/{file_name}")
    return [u for u in urls if u in ("./",) or (site / u[2:]).is_file()]


def patch_service_worker(site: Path) -> list[str]:
    """Apply SW_PATCHES (and the precache list) to every service-worker.js of the build.

    Fails loudly if a patch no longer matches: an unpatched worker would silently break offline use.
    """
    patched = []
    precache = json.dumps(precache_list(site), separators=(",", ":"))
    for sw in [site / "service-worker.js", site / "build" / "service-worker.js"]:
        if not sw.is_file():
            continue
        text = sw.read_text(encoding="utf-8")
        for old, new in (*SW_PATCHES, (PRECACHE_HOOK, f"return await e.addAll({precache})")):
            if old not in text:
                raise RuntimeError(
                    f"cannot patch {sw.relative_to(site)} for offline use: {old!r} not found "
                    f"(JupyterLite changed its service worker; update SW_PATCHES in {__file__})"
                )
            text = text.replace(old, new, 1)
        sw.write_text(text, encoding="utf-8")
        patched.append(sw.relative_to(site).as_posix())
    if not patched:
        raise RuntimeError("the build has no service-worker.js: offline use would not work")
    return patched


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
    checks.update(pyodideUrl=kernel["pyodideUrl"], pipliteUrls=kernel["pipliteUrls"],
                  preload=kernel.get("loadPyodideOptions", {}).get("packages", []))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- the build


def build_site(
    out: Path = DEFAULT_OUT,
    pyodide: str | None = None,
    corpus: str | None = None,
    sourcemaps: bool = False,
    cache_dir: Path = DEFAULT_CACHE,
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
    out, cache_dir, content_dir = Path(out).resolve(), Path(cache_dir).resolve(), Path(content_dir).resolve()
    pyodide = pyodide or os.environ.get("TINYGPT_PYODIDE_DIST") or None
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
        fail_on_leaks(lite / "files", content_dir, "the student notebooks")  # fail fast; the built site is checked again
        if numpy_from_cdn:
            for notebook in notebooks:
                add_cdn_note(notebook)
        log(f"{len(notebooks)} student notebooks: {', '.join(p.name for p in notebooks)}")

        log("self-hosted Pyodide -> static/pyodide/")
        report = pyodide_dist.prepare(lite / "static" / "pyodide", cache_dir / "pyodide", pyodide, sourcemaps=sourcemaps,
                                      numpy_wheel=numpy_wheel, numpy_from_cdn=numpy_from_cdn)
        wheel = build_wheel(tmp / "wheel")
        shutil.copy2(wheel, lite / "pypi" / wheel.name)
        pyodide_dist.add_wheel(lite / "static" / "pyodide", wheel, depends=["numpy"], imports=["tinytorch"])

        (lite / "files" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_path, lite / "files" / "data" / CORPUS_NAME)

        _copy_config(lite)
        built = tmp / "site"
        command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite), "--output-dir", str(built)]
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
            checks["bytecode"] = bytecode.add_bytecode(built / "static" / "pyodide", checks["preload"],
                                                       built / KERNEL_EXTENSION_STATIC / "pypi")
        except bytecode.NoBytecode as why:
            no_bytecode = str(why)
        if (built / "lab" / "favicon.ico").is_file():  # browsers ask for /favicon.ico whatever the page says
            shutil.copy2(built / "lab" / "favicon.ico", built / "favicon.ico")
        (built / ".nojekyll").touch()  # a Pages deploy from a branch must not run Jekyll over the site
        for junk in JUNK:
            (built / junk).unlink(missing_ok=True)
        facts = {
            "BUILT": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "RELEASE": tinytorch.__version__ if hasattr(tinytorch, "__version__") else wheel.name.split("-")[1],
            "JUPYTERLITE": lite_version,
            "PYODIDE": report.version,
            "APP_VERSION": json.loads((built / "jupyter-lite.json").read_text())["jupyter-config-data"].get("appVersion", ""),
            "FIRST_VISIT_MB": round(first_visit_estimate(built, report) / 1e6),
            "NUMPY_NOTE": "" if report.numpy_self_hosted else
            " (This copy of the course loads numpy from the Pyodide CDN: the first import of tinytorch needs the internet.)",
        }
        write_landing(built, sorted(built.joinpath("files").glob("*.ipynb")), facts, content_dir)
        pages = inject_page_scripts(built)
        workers = patch_service_worker(built)
        kernel_scripts = patch_kernel_start(built)
        problems = site_check.check_site(built, content_dir, allow_numpy_from_cdn=numpy_from_cdn)
        if problems:
            raise RuntimeError("the built site fails its checks (python -m coursetools check):\n  " + "\n  ".join(problems[:20]))
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
            result.warnings.append(f"numpy is not self-hosted: it comes from the Pyodide CDN ({', '.join(report.from_cdn)})")
        info = {**asdict(result), "page_script_pages": pages, "service_workers": workers,
                "kernel_start_patched": kernel_scripts, **checks}
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
