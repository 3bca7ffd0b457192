"""The course site build: what a deployed site must contain, checked on one real build.

Protects: the wheel is bundled (piplite index and Pyodide lock) and never comes from PyPI;
every student notebook ships, without solutions; the corpus ships; Pyodide is self-hosted with
a lock file whose every local file exists with the right hash; the landing page lists the
course; page scripts are injected; the service worker is patched for offline use.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from coursetools import pyodide_dist, pyodide_fetch, pyodide_lock
from coursetools.cells import cell_source
from coursetools.page_script_injection import PAGE_SCRIPTS_FIRST, WORK_FORMAT, WORK_FORMAT_SLOT
from coursetools.wheel import WHEEL_LIMIT
from tinytorch import settings

REPO = Path(__file__).resolve().parents[2]
KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config(site: Path) -> dict:
    return json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]


def test_wheel_is_in_the_piplite_index_and_the_pyodide_lock(site_dir):
    wheels = sorted((site_dir / "pypi").glob("tinytorch-*.whl"))
    assert len(wheels) == 1, f"expected one tinytorch wheel in pypi/, found {wheels}"
    wheel = wheels[0]
    assert wheel.stat().st_size < WHEEL_LIMIT, (
        f"{wheel.name} is {wheel.stat().st_size} bytes: over the {WHEEL_LIMIT // 1000} kB budget"
    )
    with zipfile.ZipFile(wheel) as zf:
        tops = {name.split("/")[0] for name in zf.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"tinytorch"}, tops

    index = json.loads((site_dir / "pypi" / "all.json").read_text())
    releases = index["tinytorch"]["releases"]
    files = [f for release in releases.values() for f in release]
    assert any(f["filename"] == wheel.name and f["digests"]["sha256"] == sha256(wheel) for f in files), files

    lock = json.loads((site_dir / "static" / "pyodide" / "pyodide-lock.json").read_text())
    entry = lock["packages"]["tinytorch"]
    assert entry["imports"] == ["tinytorch"] and "numpy" in entry["depends"]
    assert sha256(site_dir / "static" / "pyodide" / entry["file_name"]) == entry["sha256"]


def test_config_never_falls_back_to_pypi_and_uses_self_hosted_pyodide(site_dir):
    data = config(site_dir)
    kernel = data["litePluginSettings"][KERNEL]
    assert kernel["disablePyPIFallback"] is True
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert any(u.startswith("./pypi/all.json") for u in kernel["pipliteUrls"])
    assert data["contentsStorageName"], "student files must live in a storage name that survives moving the site"
    assert data["enableServiceWorkerCache"] is True
    overrides = data["settingsOverrides"]
    assert overrides["@jupyterlab/notebook-extension:tracker"]["autoStartDefaultKernel"] is True


def test_every_student_notebook_ships_without_solutions(site_dir, tmp_path):
    from coursetools.notebooks import build_notebooks

    expected = [p.name for p in build_notebooks(REPO / "content", tmp_path / "student", version="student")]
    assert expected, "content/ has no notebooks"
    listing = json.loads((site_dir / "api" / "contents" / "all.json").read_text())
    listed = {item["name"] for item in listing["content"]}
    for name in expected:
        assert (site_dir / "files" / name).is_file(), f"{name} is missing from the site"
        assert name in listed, f"{name} is not in the contents listing api/contents/all.json"

    solution = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    for source in sorted((REPO / "content").glob("*.ipynb")):
        shipped = (site_dir / "files" / source.name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in shipped and "END SOLUTION" not in shipped, f"solution markers in {source.name}"
        cells = [cell_source(c) for c in json.loads(source.read_text(encoding="utf-8"))["cells"]]
        outside_solutions = "\n".join(solution.sub("", text) for text in cells)  # hints, tests, prose
        # every substantial line of a reference solution must be gone from the student version
        for text in cells:
            for region in solution.findall(text):
                for line in region.splitlines():
                    line = line.strip()
                    if len(line) > 25 and line not in outside_solutions:
                        assert json.dumps(line)[1:-1] not in shipped, (
                            f"solution line leaked into {source.name}: {line!r}"
                        )


def test_corpus_ships_where_load_shakespeare_looks(site_dir, built_site):
    corpus = site_dir / "files" / "data" / "tinyshakespeare.txt"
    assert corpus.is_file()
    assert corpus.stat().st_size == built_site[1].corpus_bytes > 1000


def test_pyodide_is_self_hosted_with_a_consistent_lock(site_dir):
    pyodide = site_dir / "static" / "pyodide"
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (pyodide / name).is_file(), f"static/pyodide/{name} missing"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    for package in ("micropip", "ipython", "numpy", "tinytorch"):
        assert package in lock["packages"], f"{package} not in the trimmed lock"
    assert "jedi" not in lock["packages"], "the kernel starts without jedi (kernel patch 'no jedi'): do not ship it"
    remote = []
    for key, entry in lock["packages"].items():
        if re.match(r"^https?://", entry["file_name"]):
            remote.append(key)
            continue
        path = pyodide / entry["file_name"]
        assert path.is_file(), f"the lock lists {entry['file_name']} for {key}, but the site lacks it"
        assert sha256(path) == entry["sha256"], (
            f"sha256 of {entry['file_name']} does not match the lock: the browser would refuse it"
        )
    info = json.loads((site_dir / "tinygpt-build.json").read_text())
    assert info["pyodide"]["numpy_self_hosted"] and remote == [], f"packages from another origin: {remote}"
    if info["pyodide"]["source"].startswith("npm"):
        # numpy's entry is the official one of the pinned Pyodide, byte for byte: its hash was never rewritten
        official = json.loads(
            (pyodide_fetch.npm_core(settings.cache_root() / "pyodide") / pyodide_lock.LOCK).read_text()
        )
        assert lock["packages"]["numpy"] == official["packages"]["numpy"]
        assert info["pyodide"]["version"] == pyodide_lock.PYODIDE_VERSION
    # only what the course needs: no scipy, pandas, matplotlib, ...
    assert len(lock["packages"]) < 25, sorted(lock["packages"])
    assert not list(site_dir.glob("build/**/*.map")), "source maps shipped although the build drops them"


def test_the_built_site_passes_check(site_dir, capsys):
    from coursetools.__main__ import main

    assert main(["check", str(site_dir)]) == 0, capsys.readouterr().err


def test_landing_page_names_the_pyodide_it_ships(site_dir):
    page = (site_dir / "index.html").read_text(encoding="utf-8")
    shipped = json.loads((site_dir / "tinygpt-build.json").read_text())["pyodide"]["version"]
    assert (
        re.search(r'"(\d+\.\d+\.\d+)";function', (site_dir / "static" / "pyodide" / "pyodide.mjs").read_text()).group(1)
        == shipped
    )
    footer = re.search(r"<footer>(.*?)</footer>", page, re.S).group(1)
    assert f"Pyodide {shipped}" in footer, footer


def test_landing_page_lists_the_course_and_keeps_the_config_element(site_dir):
    page = (site_dir / "index.html").read_text(encoding="utf-8")
    assert 'id="jupyter-config-data"' in page and 'data-jupyter-lite-root="."' in page
    assert not re.search(r"(import\(|src=)['\"][^'\"]*config-utils\.js", page), (
        "the landing page must not load config-utils.js (it redirects)"
    )
    shipped = sorted(p.name for p in (site_dir / "files").glob("*.ipynb"))
    links = re.findall(r'href="\./notebooks/index\.html\?path=([^"]+)"', page)
    assert links == shipped


def test_page_scripts_are_injected_into_every_app_page(site_dir):
    scripts = sorted((REPO / "coursetools" / "page_scripts").glob("*.js"))
    if not scripts:
        pytest.skip("coursetools/page_scripts/ has no scripts")
    for app in ("lab", "notebooks", "tree", "edit"):
        page = (site_dir / app / "index.html").read_text(encoding="utf-8")
        for script in scripts:
            assert f'src="../static/course/{script.name}?v=' in page, f"{script.name} not loaded by {app}/index.html"
            # shipped as written, with the student-work zip format filled in from its one home
            shipped = (site_dir / "static" / "course" / script.name).read_text(encoding="utf-8")
            fmt = json.dumps(json.loads(WORK_FORMAT.read_text(encoding="utf-8")))
            assert shipped == script.read_text(encoding="utf-8").replace(WORK_FORMAT_SLOT, fmt)
        # deferred scripts run in the page's order: the shared helper before the scripts using it
        order = re.findall(r'src="\.\./static/course/([^"?]+)\?v=', page)
        users = [
            s.name
            for s in scripts
            if "window.tinygptNotebookPage" in s.read_text(encoding="utf-8") and s.name != PAGE_SCRIPTS_FIRST
        ]
        assert users, f"no page script uses {PAGE_SCRIPTS_FIRST}"
        assert all(order.index(PAGE_SCRIPTS_FIRST) < order.index(name) for name in users), order


def test_service_worker_caches_from_the_first_visit_including_api(site_dir):
    worker = (site_dir / "service-worker.js").read_text(encoding="utf-8")
    assert "let enableCache=!0" in worker
    assert 'pathname.includes("/api/")}' not in worker, "the worker still drops /api/ GETs (the notebook listing)"
    assert "networkFirst" in worker
    precached = json.loads(re.search(r"return await e\.addAll\((\[.*?\])\)", worker).group(1))
    for notebook in (site_dir / "files").glob("*.ipynb"):
        assert f"./files/{notebook.name}" in precached, f"{notebook.name} is not precached: it would be missing offline"
    lock = json.loads((site_dir / "static" / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    for key in ("tinytorch", "numpy", "numpy-bytecode"):
        assert f"./static/pyodide/{lock[key]['file_name']}" in precached, (
            f"{key} is not precached: `import tinytorch` offline needs it"
        )
    for url in precached:
        assert url == "./" or (site_dir / url[2:]).is_file(), (
            f"precache lists {url}, which the site lacks (the worker would not install)"
        )


# ----------------------------------------------------------------------------- trimming a distribution


def _fake_distribution(root: Path) -> Path:
    """A miniature Pyodide release: core files, a lock, and wheels for more packages than needed."""
    dist = root / "pyodide"
    dist.mkdir(parents=True)
    for name in pyodide_dist.CORE_FILES:
        if name != pyodide_lock.LOCK:
            (dist / name).write_bytes(f"core {name}".encode())
    (dist / "console.html").write_text("demo page, not needed")
    packages = {
        "micropip": [],
        "ipython": ["traitlets", "Pygments"],
        "traitlets": [],
        "pygments": [],
        "jedi": ["parso"],
        "parso": [],
        "numpy": [],
        "scipy": ["numpy"],
        "pandas": ["numpy"],
    }
    lock = {"info": {"python": "3.14.2"}, "packages": {}}
    for key, depends in packages.items():
        file_name = f"{key}-1.0-py3-none-any.whl"
        (dist / file_name).write_bytes(f"wheel {key}".encode())
        lock["packages"][key] = {
            "name": key,
            "version": "1.0",
            "file_name": file_name,
            "depends": depends,
            "sha256": hashlib.sha256(f"wheel {key}".encode()).hexdigest(),
            "imports": [key],
        }
    (dist / pyodide_lock.LOCK).write_text(json.dumps(lock))
    return dist


@pytest.mark.parametrize("as_tarball", [False, True])
def test_a_full_distribution_is_trimmed_to_the_course(tmp_path, as_tarball):
    dist = _fake_distribution(tmp_path / "release")
    source = str(dist)
    if as_tarball:
        source = str(tmp_path / "pyodide-test.tar.bz2")
        with tarfile.open(source, "w:bz2") as tar:
            tar.add(dist, arcname="pyodide")
    dest = tmp_path / "static" / "pyodide"
    report = pyodide_dist.prepare(dest, settings.cache_root() / "pyodide", source)
    shipped = sorted(p.name for p in dest.iterdir())
    lock = json.loads((dest / pyodide_lock.LOCK).read_text())
    assert sorted(lock["packages"]) == ["comm", "ipython", "micropip", "numpy", "pygments", "traitlets"]
    assert report.numpy_self_hosted and report.from_cdn == []
    assert report.version == "unknown"  # the miniature release names no version; a real one does
    assert "scipy-1.0-py3-none-any.whl" not in shipped and "console.html" not in shipped
    for entry in lock["packages"].values():
        assert sha256(dest / entry["file_name"]) == entry["sha256"]


def test_a_distribution_without_numpy_is_a_clear_error(tmp_path):
    dist = _fake_distribution(tmp_path / "release")
    lock = json.loads((dist / pyodide_lock.LOCK).read_text())
    del lock["packages"]["numpy"]
    lock["packages"]["scipy"]["depends"] = []
    (dist / pyodide_lock.LOCK).write_text(json.dumps(lock))
    with pytest.raises(KeyError, match="numpy"):
        pyodide_dist.prepare(tmp_path / "out", settings.cache_root() / "pyodide", str(dist))


def test_the_deploy_workflow_builds_like_everyone_and_checks_before_publishing():
    workflow = (REPO / ".github" / "workflows" / "deploy.yml").read_text()
    runs = re.findall(r"run: (.+)", workflow)
    assert any(r.startswith("python -m coursetools build") for r in runs), runs
    assert "python -m coursetools check site" in runs, (
        "the deploy must fail when the site lacks numpy or ships a solution"
    )
    assert runs.index("python -m coursetools check site") > next(
        i for i, r in enumerate(runs) if "coursetools build" in r
    )
    assert ".tar.bz2" not in workflow and "--numpy-from-cdn" not in workflow and "--pyodide" not in workflow
