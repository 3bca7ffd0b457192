"""The build fails closed, early and clearly: numpy, the corpus, leaked solutions, a busy port,
an upgraded service worker. Fast: no full site build (the session build is in test_build.py).

Downloads that must fail are pointed at a closed port on 127.0.0.1 (a real refused
connection), so these tests behave the same with or without internet access.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import json
import re
import shutil
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from coursetools import (
    kernel_patches,
    pyodide_dist,
    pyodide_fetch,
    pyodide_lock,
    service_worker,
    site,
    site_check,
    site_inputs,
)
from coursetools.__main__ import main
from coursetools.cells import cell_source, nbgrader_meta
from tinytorch import settings

REPO = Path(__file__).resolve().parents[2]
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
THREE_WAYS = ("--numpy-wheel", "TINYGPT_NUMPY_WHEEL", "internet")


def _fake_wheel(folder: Path, name: str = "numpy-9.9-cp314-cp314-pyemscripten_2026_0_wasm32.whl") -> tuple[Path, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / name
    wheel.write_bytes(b"a numpy wheel for this test")
    entry = {
        "name": "numpy",
        "version": "9.9",
        "file_name": name,
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
    }
    return wheel, entry


@pytest.fixture
def no_numpy_env(monkeypatch):
    monkeypatch.delenv(pyodide_fetch.NUMPY_WHEEL_ENV, raising=False)
    monkeypatch.setattr(pyodide_lock, "PYODIDE_CDN_URL", CLOSED)


@pytest.fixture
def local_http(tmp_path):
    """A static server for tmp_path/www on 127.0.0.1: a stand-in CDN that really serves bytes."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# ----------------------------------------------------------------------------- numpy


def test_numpy_wheel_comes_from_the_flag_then_the_env_then_the_cache(tmp_path, no_numpy_env, monkeypatch):
    wheel, entry = _fake_wheel(tmp_path / "given")
    assert pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache", str(wheel)) == wheel.resolve()
    monkeypatch.setenv(pyodide_fetch.NUMPY_WHEEL_ENV, str(wheel))
    assert pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache") == wheel.resolve()
    monkeypatch.delenv(pyodide_fetch.NUMPY_WHEEL_ENV)
    cached = tmp_path / "cache" / "numpy" / entry["file_name"]
    cached.parent.mkdir(parents=True)
    shutil.copy2(wheel, cached)
    assert pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache") == cached


def test_a_wrong_numpy_wheel_is_refused_not_skipped(tmp_path, no_numpy_env, monkeypatch):
    _, entry = _fake_wheel(tmp_path / "right")
    wrong = tmp_path / "wrong.whl"
    wrong.write_bytes(b"something else")
    with pytest.raises(pyodide_fetch.NumpyWheelMissing) as error:
        pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache", str(wrong))
    assert "--numpy-wheel" in str(error.value) and entry["sha256"] in str(error.value)
    monkeypatch.setenv(pyodide_fetch.NUMPY_WHEEL_ENV, str(tmp_path / "missing.whl"))
    with pytest.raises(pyodide_fetch.NumpyWheelMissing, match="no file at"):
        pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache")


def test_numpy_is_downloaded_checked_and_cached(tmp_path, no_numpy_env, monkeypatch, local_http):
    root, url = local_http
    wheel, entry = _fake_wheel(root)
    monkeypatch.setattr(pyodide_lock, "PYODIDE_CDN_URL", url)
    got = pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache")
    assert got == tmp_path / "cache" / "numpy" / entry["file_name"] and got.read_bytes() == wheel.read_bytes()
    wheel.unlink()  # the second build needs no network
    assert pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache") == got
    # a URL given explicitly, with the wrong bytes behind it: refused, nothing cached
    (root / "bad.whl").write_bytes(b"tampered")
    got.unlink()
    with pytest.raises(pyodide_fetch.NumpyWheelMissing, match="sha256"):
        pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache", f"{url}/bad.whl")
    assert not got.exists()


def test_no_numpy_anywhere_fails_naming_the_three_ways(tmp_path, no_numpy_env):
    _, entry = _fake_wheel(tmp_path / "elsewhere")
    with pytest.raises(pyodide_fetch.NumpyWheelMissing) as error:
        pyodide_fetch.find_numpy_wheel(entry, tmp_path / "cache")
    message = str(error.value)
    for way in THREE_WAYS:
        assert way in message, f"{way!r} not named in: {message}"
    assert CLOSED in message and entry["file_name"] in message


def _npm_cache(tmp_path: Path) -> Path:
    """A cache holding only Pyodide's npm core and the kernel's PyPI wheels (no numpy)."""
    real = settings.cache_root() / "pyodide"
    pyodide_fetch.npm_core(real)  # fetched once, like a first build
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"pyodide-npm-{pyodide_lock.PYODIDE_VERSION}").symlink_to(
        real / f"pyodide-npm-{pyodide_lock.PYODIDE_VERSION}"
    )
    if (real / "pypi-wheels").is_dir():
        (cache / "pypi-wheels").symlink_to(real / "pypi-wheels")
    return cache


def test_the_pinned_pyodide_lock_lists_numpy_with_its_official_hash(tmp_path):
    core = pyodide_fetch.npm_core(settings.cache_root() / "pyodide")
    entry = json.loads((core / pyodide_lock.LOCK).read_text())["packages"]["numpy"]
    assert entry["file_name"].endswith(".whl") and len(entry["sha256"]) == 64
    assert str(core).endswith(pyodide_lock.PYODIDE_VERSION)


def test_prepare_without_numpy_fails_and_numpy_from_cdn_is_deliberate(tmp_path, no_numpy_env):
    cache = _npm_cache(tmp_path)
    with pytest.raises(pyodide_fetch.NumpyWheelMissing) as error:
        pyodide_dist.prepare(tmp_path / "out", cache)
    assert all(way in str(error.value) for way in THREE_WAYS)
    dest = tmp_path / "cdn-site" / "static" / "pyodide"
    report = pyodide_dist.prepare(dest, cache, numpy_from_cdn=True)
    lock = json.loads((dest / pyodide_lock.LOCK).read_text())
    assert report.from_cdn == ["numpy"] and not report.numpy_self_hosted
    assert lock["packages"]["numpy"]["file_name"].startswith(CLOSED + "/")
    assert "not self-hosted" in site_check.numpy_problems(tmp_path / "cdn-site")[0]


def test_the_cli_build_without_numpy_exits_1_with_the_fix(tmp_path, no_numpy_env, capsys):
    cache = _npm_cache(tmp_path)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("To be, or not to be: that is the question.\n" * 50)
    code = main(["build", "--out", str(tmp_path / "site"), "--cache", str(cache), "--corpus", str(corpus)])
    err = capsys.readouterr().err
    assert code == 1 and "build failed" in err
    assert all(way in err for way in THREE_WAYS), err
    assert not (tmp_path / "site").exists(), "a failed build must not leave a site behind"


def test_the_cdn_note_tells_the_student_the_first_import_needs_the_internet(tmp_path):
    notebook = tmp_path / "n.ipynb"
    shutil.copy2(sorted((REPO / "content").glob("*.ipynb"))[0], notebook)
    site_inputs.add_cdn_note(notebook)
    first = json.loads(notebook.read_text())["cells"][0]
    assert first["cell_type"] == "markdown" and "internet" in first["source"] and "import tinytorch" in first["source"]


def test_check_finds_a_site_without_numpy(tmp_path):
    lock_dir = tmp_path / "static" / "pyodide"
    lock_dir.mkdir(parents=True)
    wheel, entry = _fake_wheel(lock_dir)
    (lock_dir / pyodide_lock.LOCK).write_text(json.dumps({"packages": {"numpy": entry}}))
    assert site_check.numpy_problems(tmp_path) == []
    assert main(["check", str(tmp_path)]) == 0
    wheel.unlink()
    assert "missing" in site_check.numpy_problems(tmp_path)[0]
    assert main(["check", str(tmp_path)]) == 1
    entry = dict(entry, file_name=f"{CLOSED}/{entry['file_name']}")
    (lock_dir / pyodide_lock.LOCK).write_text(json.dumps({"packages": {"numpy": entry}}))
    assert "not self-hosted" in site_check.numpy_problems(tmp_path)[0]
    assert main(["check", str(tmp_path), "--numpy-from-cdn"]) == 0


# ----------------------------------------------------------------------------- leaks


def _content_with(tmp_path: Path, change) -> Path:
    """A copy of content/ whose first notebook with an exercise is changed by `change(cells)`."""
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    for path in sorted(content.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if any(nbgrader_meta(c).get("grade") for c in nb["cells"]):
            change(nb["cells"])
            path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
            return content
    raise AssertionError("content/ has no notebook with a test cell")


def _first_test_cell(cells) -> int:
    return next(i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade") and c["cell_type"] == "code")


def _add_hidden_tests(cells):
    i = _first_test_cell(cells)
    cells[i]["source"] = (
        cell_source(cells[i]) + "\n### BEGIN HIDDEN TESTS\nassert True  # graded only\n### END HIDDEN TESTS\n"
    )


def _add_instructor_cell(cells):
    cell = copy.deepcopy(cells[0])
    cell["metadata"] = {"tags": ["instructor-only"]}
    cell["id"] = "instructor-notes"
    cell["source"] = "Grading notes for instructors."
    cells.insert(1, cell)


@pytest.mark.parametrize(
    "change, expected", [(_add_hidden_tests, "BEGIN HIDDEN TESTS"), (_add_instructor_cell, "instructor only")]
)
def test_a_leak_in_content_fails_the_build_naming_file_and_cell(tmp_path, change, expected):
    content = _content_with(tmp_path, change)
    with pytest.raises(RuntimeError) as error:
        site.build_site(
            out=tmp_path / "site",
            content_dir=content,
            corpus=str(REPO / "pyproject.toml"),
            cache_dir=tmp_path / "cache",
        )
    message = str(error.value)
    assert expected in message and ".ipynb cell " in message, message
    assert not (tmp_path / "site").exists()
    assert not (tmp_path / "cache" / "pyodide").exists(), "the leak must stop the build before any download"


def test_every_copy_in_a_built_site_is_scanned(tmp_path):
    """A source notebook (solutions in) planted in files/, in a contents listing, and as a .py twin."""
    source = sorted((REPO / "content").glob("*.ipynb"))[1]
    nb = json.loads(source.read_text(encoding="utf-8"))
    (tmp_path / "files").mkdir()
    shutil.copy2(source, tmp_path / "files" / source.name)
    listing = tmp_path / "api" / "contents" / "all.json"
    listing.parent.mkdir(parents=True)
    listing.write_text(json.dumps({"content": [{"name": source.name, "path": source.name, "content": nb}]}))
    snippets = site_check.solution_snippets(REPO / "content")
    line = next(s for s, where in snippets.items() if where == source.name)
    (tmp_path / "files" / "twin.py").write_text(f"def f():\n    {line}\n")
    leaks = site_check.find_leaks(tmp_path, REPO / "content")
    assert any(l.startswith(f"files/{source.name} cell ") and "BEGIN SOLUTION" in l for l in leaks), leaks[:5]
    assert any(l.startswith(f"api/contents/all.json ({source.name}) cell ") for l in leaks), leaks[:5]
    assert any(l.startswith("files/twin.py") and "reference solution" in l for l in leaks), leaks[:5]


def test_student_notebooks_are_clean(tmp_path):
    from coursetools.notebooks import build_notebooks

    build_notebooks(REPO / "content", tmp_path / "files", version="student")
    assert site_check.find_leaks(tmp_path, REPO / "content") == []


# ----------------------------------------------------------------------------- corpus, port


def test_a_failed_corpus_download_names_the_url_and_the_fix_before_anything_else(tmp_path, monkeypatch):
    import tinytorch.text.corpus as corpus_module

    real = corpus_module.download_shakespeare
    monkeypatch.setattr(
        corpus_module, "download_shakespeare", lambda dest: real(dest, url=CLOSED + "/input.txt", timeout=5)
    )
    monkeypatch.delenv("TINYGPT_CORPUS", raising=False)
    with pytest.raises(RuntimeError) as error:
        site.build_site(out=tmp_path / "site", cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert corpus_module.SHAKESPEARE_URL in message and "--corpus" in message and "TINYGPT_CORPUS" in message
    assert not (tmp_path / "cache" / "pyodide").exists(), "the corpus must be found before the other downloads"


def test_serve_on_a_busy_port_says_so_and_names_the_option(tmp_path, capsys):
    (tmp_path / "index.html").write_text("<!doctype html>")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--out", str(tmp_path), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port}" in err and "--port" in err, err


# ----------------------------------------------------------------------------- service worker


def _stock_service_worker() -> str:
    import jupyterlite_core

    app = next(Path(jupyterlite_core.__file__).parent.glob("jupyterlite-app-*.tgz"))
    with tarfile.open(app) as tar:
        return tar.extractfile("package/service-worker.js").read().decode()


def _tiny_site(root: Path, worker: str) -> Path:
    (root / "static" / "pyodide").mkdir(parents=True)
    (root / "static" / "pyodide" / pyodide_lock.LOCK).write_text(json.dumps({"packages": {}}))
    (root / "service-worker.js").write_text(worker)
    return root


def test_the_stock_service_worker_takes_every_patch(tmp_path):
    service_worker.patch_service_worker(_tiny_site(tmp_path, _stock_service_worker()))
    patched = (tmp_path / "service-worker.js").read_text()
    for _, new in service_worker.SW_PATCHES:
        assert new in patched
    for header, value in service_worker.ISOLATION_HEADERS.items():
        assert f'h.set("{header}","{value}")' in patched


@pytest.mark.parametrize("index", range(len(service_worker.SW_PATCHES)))
def test_an_upgrade_that_breaks_a_service_worker_patch_fails_the_build(tmp_path, index):
    old = service_worker.SW_PATCHES[index][0]
    worker = _stock_service_worker().replace(old, "/* changed upstream */")
    with pytest.raises(RuntimeError, match="cannot patch service-worker.js"):
        service_worker.patch_service_worker(_tiny_site(tmp_path, worker))


def _stock_kernel(root: Path) -> Path:
    """The stock kernel extension and the stock app's build/ (the one app script Stop goes through)."""
    import jupyterlite_core

    shutil.copytree(site_inputs.kernel_extension_dir() / "static", root / kernel_patches.KERNEL_EXTENSION_STATIC)
    app = next(Path(jupyterlite_core.__file__).parent.glob("jupyterlite-app-*.tgz"))
    (root / kernel_patches.APP_BUILD).mkdir(parents=True)
    with tarfile.open(app) as tar:
        for member in tar.getmembers():
            if member.name.startswith("package/build/") and member.name.endswith(".js") and member.name.count("/") == 2:
                (root / kernel_patches.APP_BUILD / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    return root


def test_the_stock_kernel_takes_every_patch(tmp_path):
    patched = kernel_patches.patch_kernel(_stock_kernel(tmp_path))
    workers = [name for name in patched if ".worker." in name]
    assert len(workers) == 2, patched  # comlink and coincident: one per browser set-up
    for name in workers:
        text = (tmp_path / name).read_text()
        assert "del sys.path[0]" in text and "Completer.use_jedi = False" in text and '"jedi"' not in text
        assert (
            "setInterruptBuffer(self.tinygptInterrupt)" in text and "Atomics.store(self.tinygptInterrupt,0,0)" in text
        )
    for name, patch in kernel_patches.KERNEL_PATCHES.items():
        for script in kernel_patches.targets(tmp_path, patch.where):
            assert not patch.pattern.search(script.read_text()), f"{name} still matches {script.name}"
    app = [name for name in patched if name.startswith(kernel_patches.APP_BUILD + "/")]
    assert len(app) == 1 and kernel_patches.STOP_UNAVAILABLE_EVENT in (tmp_path / app[0]).read_text(), patched


# what an upgrade might change, for each patch: the code it anchors on
UPSTREAM_CHANGES = {
    "sys.path": ("await this.initFilesystem(", "await this.initDrive("),
    "no jedi": ('"jedi","ipython"]', '"ipython","jedi"]'),
    "isolated means shared memory": ("crossOriginIsolated?", "isolated?"),
    "interrupt buffer": ("initWorker(e){", "makeWorker(e){"),
    "interrupt receive": ("constructor(){this._options=null,", "constructor(){this._opts=null,"),
    "interrupt install": ("this._pyodide._api.on_fatal=", "this._pyodide._api.onFatal="),
    "interrupt clear": ("{await this.setup(t);", "{await this.prepare(t);"),
    "interrupt": ("async interrupt(e){", "async interruptKernel(e){"),
    "coincident: an answer at once": ("?c(t,0):", "?c(t,1):"),
    "coincident: a whole answer": (".charCodeAt(", ".codePointAt("),
    "drive mounted": ("enabled)||crossOriginIsolated)", "enabled)||self.crossOriginIsolated)"),
}


def test_every_kernel_patch_has_an_upstream_change_test():
    assert sorted(UPSTREAM_CHANGES) == sorted(kernel_patches.KERNEL_PATCHES)


@pytest.mark.parametrize("patch", sorted(kernel_patches.KERNEL_PATCHES))
def test_an_upgrade_that_breaks_a_kernel_patch_fails_the_build(tmp_path, patch):
    root = _stock_kernel(tmp_path)
    old, new = UPSTREAM_CHANGES[patch]
    for script in [
        *(root / kernel_patches.KERNEL_EXTENSION_STATIC).glob("*.js"),
        *(root / kernel_patches.APP_BUILD).glob("*.js"),
    ]:
        text = script.read_text()
        if old in text:
            script.write_text(text.replace(old, new))
    with pytest.raises(RuntimeError, match=f"cannot patch the Pyodide kernel: .*{re.escape(patch)} \\("):
        kernel_patches.patch_kernel(root)


def test_a_wheel_that_does_not_match_its_lock_hash_fails_the_check(tmp_path):
    root = _tiny_site(tmp_path, "")
    wheel = root / "static" / "pyodide" / "ipython-9.0-py3-none-any.whl"
    wheel.write_bytes(b"rebuilt after the lock was written")
    lock = {
        "packages": {
            "ipython": {"file_name": wheel.name, "sha256": "0" * 64},
            "gone": {"file_name": "gone-1.0-py3-none-any.whl", "sha256": "0" * 64},
        }
    }
    (root / "static" / "pyodide" / pyodide_lock.LOCK).write_text(json.dumps(lock))
    problems = site_check.lock_problems(root)
    assert len(problems) == 2
    assert "ipython-9.0-py3-none-any.whl does not have the sha256" in problems[1] and "refuse" in problems[1]
    assert "gone-1.0-py3-none-any.whl, which is missing" in problems[0]


def test_the_node_tests_use_the_pyodide_the_site_ships():
    """package.json's pyodide (Node tests of the wheel in real wasm) is the version the site pins."""
    package = json.loads((REPO / "package.json").read_text())
    wanted = {**package.get("dependencies", {}), **package.get("devDependencies", {})}.get("pyodide")
    assert wanted is not None and wanted.lstrip("^~=") == pyodide_lock.PYODIDE_VERSION, wanted
