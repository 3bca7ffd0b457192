"""Bytecode beside the sources the kernel imports (coursetools/bytecode.py).

The archive rewrite is tested here with this Python (it is the same code the build runs inside
Pyodide); the built site is checked for bytecode from Pyodide itself (its magic number), and
test_browser.py checks in Chromium that a kernel start imports every module from bytecode.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from coursetools import bytecode


def _wheel(path: Path, files: dict[str, str]) -> Path:
    """A wheel with files and a RECORD listing them."""
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, text in files.items():
            data = text.encode()
            wheel.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        wheel.writestr("pkg-1.0.dist-info/RECORD", "\n".join(record + ["pkg-1.0.dist-info/RECORD,,"]) + "\n")
    return path


def _fresh_import(name: str, folder: Path):
    sys.path.insert(0, str(folder))
    try:
        importlib.invalidate_caches()
        for loaded in [m for m in sys.modules if m == name.split(".")[0] or m.startswith(name.split(".")[0] + ".")]:
            del sys.modules[loaded]
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def test_a_wheel_gets_bytecode_beside_its_sources_and_imports_from_it(tmp_path):
    wheel = _wheel(
        tmp_path / "pkg-1.0-py3-none-any.whl",
        {"pkg/__init__.py": "VALUE = 'from the wheel'\n", "pkg/unused.py": "X = 1\n"},
    )
    added = bytecode.rewrite_archive(str(wheel), {"pkg/__init__.py": "/site/pkg/__init__.py"}, zipimport_layout=False)
    assert added == 1
    cached = f"pkg/__pycache__/__init__.{sys.implementation.cache_tag}.pyc"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert {"pkg/__init__.py", "pkg/unused.py", cached} <= set(names), names
        assert not any("unused" in n and n.endswith(".pyc") for n in names), "only imported modules get bytecode"
        pyc = z.read(cached)
        record = z.read("pkg-1.0.dist-info/RECORD").decode()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01, "unchecked-hash bytecode (PEP 552): no source read at import"
    digest = base64.urlsafe_b64encode(hashlib.sha256(pyc).digest()).rstrip(b"=").decode()
    assert f"{cached},sha256={digest},{len(pyc)}" in record.splitlines()
    assert names[-1] == "pkg-1.0.dist-info/RECORD"

    # Installed (unpacked) and with its source changed afterwards: the import runs the bytecode,
    # which proves the source was not compiled again. (The build writes both, so they agree.)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    (site / "pkg" / "__init__.py").write_text("VALUE = 'compiled again'\n")
    assert _fresh_import("pkg", site).VALUE == "from the wheel"


def test_the_standard_library_zip_gets_zipimport_bytecode(tmp_path):
    archive = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("stdmod_for_test.py", "VALUE = 'from the zip'\n")
    assert (
        bytecode.rewrite_archive(
            str(archive), {"stdmod_for_test.py": "/lib/python.zip/stdmod_for_test.py"}, zipimport_layout=True
        )
        == 1
    )
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() == ["stdmod_for_test.py", "stdmod_for_test.pyc"], "the source stays, for tracebacks"
        # the same archive with another source: zipimport must still take the bytecode
        with zipfile.ZipFile(tmp_path / "changed.zip", "w") as changed:
            changed.writestr("stdmod_for_test.py", "VALUE = 'compiled again'\n")
            changed.writestr("stdmod_for_test.pyc", z.read("stdmod_for_test.pyc"))
    assert _fresh_import("stdmod_for_test", tmp_path / "changed.zip").VALUE == "from the zip"


def test_a_second_rewrite_adds_nothing_and_a_broken_source_is_left_alone(tmp_path):
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/__init__.py": "A = 1\n", "pkg/broken.py": "def (:\n"})
    members = {"pkg/__init__.py": "/site/pkg/__init__.py", "pkg/broken.py": "/site/pkg/broken.py"}
    assert bytecode.rewrite_archive(str(wheel), members, zipimport_layout=False) == 1
    before = wheel.read_bytes()
    assert bytecode.rewrite_archive(str(wheel), members, zipimport_layout=False) == 0
    with zipfile.ZipFile(wheel) as z, zipfile.ZipFile(io.BytesIO(before)) as b:
        assert z.namelist() == b.namelist()
        assert z.read("pkg-1.0.dist-info/RECORD") == b.read("pkg-1.0.dist-info/RECORD")


def test_only_packages_the_site_ships_are_loaded_to_compile():
    lock = {
        "packages": {
            "numpy": {
                "file_name": "https://cdn.example/numpy-2.4.3-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
                "depends": [],
            },
            "tinytorch": {"file_name": "tinytorch-0.1.0-py3-none-any.whl", "depends": ["numpy"]},
            "ipython": {"file_name": "ipython-9.12.0-py3-none-any.whl", "depends": ["traitlets"]},
            "traitlets": {"file_name": "traitlets-5.14.3-py3-none-any.whl", "depends": []},
        }
    }
    wanted = ["micropip-not-listed", "ipython", "numpy", "tinytorch"]
    assert bytecode.shipped_here(lock, wanted) == ["ipython"]
    lock["packages"]["numpy"]["file_name"] = "numpy-2.4.3-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert bytecode.shipped_here(lock, wanted) == ["ipython", "numpy", "tinytorch"]


def test_without_node_the_build_says_what_it_loses(tmp_path, monkeypatch):
    (tmp_path / "pyodide-lock.json").write_text(json.dumps({"packages": {}}))
    monkeypatch.setattr(bytecode.shutil, "which", lambda name: None)
    with pytest.raises(bytecode.NoBytecode, match="Node.js is not installed.*kernel start"):
        bytecode.add_bytecode(tmp_path, ["numpy"], tmp_path)


# ----------------------------------------------------------------------------- the built site


def _pyc_headers(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {n: z.read(n)[:8] for n in z.namelist() if n.endswith(".pyc")}


def test_the_built_site_ships_bytecode_from_its_own_pyodide(site_dir):
    pyodide = site_dir / "static" / "pyodide"
    info = json.loads((site_dir / "tinygpt-build.json").read_text())["bytecode"]
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())["packages"]
    stdlib = _pyc_headers(pyodide / "python_stdlib.zip")
    assert len(stdlib) >= 100, "the standard library modules a start imports (asyncio, json, ast, ...) have bytecode"
    assert "asyncio/base_events.pyc" in stdlib and "json/decoder.pyc" in stdlib
    magics = {h[:4] for h in stdlib.values()}
    assert len(magics) == 1, magics
    if sys.version_info[:2] != (3, 14):
        assert magics != {importlib.util.MAGIC_NUMBER}, "compiled by the build machine's Python, not the site's (3.14)"
    for key in ("ipython", "prompt-toolkit", "traitlets", "tinytorch"):
        headers = _pyc_headers(pyodide / lock[key]["file_name"])
        assert headers, f"{key}'s wheel has no bytecode"
        assert {h[:4] for h in headers.values()} == magics and {h[4:8] for h in headers.values()} == {b"\x01\0\0\0"}
    with zipfile.ZipFile(pyodide / lock["ipython"]["file_name"]) as z:
        assert "IPython/core/interactiveshell.py" in z.namelist(), "sources stay beside the bytecode"
    numpy = pyodide / lock["numpy"]["file_name"]
    assert not _pyc_headers(numpy), "numpy's wheel is Pyodide's own, byte for byte"
    assert info["archives"]["python_stdlib.zip"] == len(stdlib)


def test_numpys_bytecode_ships_in_a_wheel_of_its_own(site_dir):
    """numpy's wheel must stay Pyodide's (hash pinned): its bytecode comes with whatever needs numpy."""
    pyodide = site_dir / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())["packages"]
    entry = lock["numpy-bytecode"]
    info = json.loads((site_dir / "tinygpt-build.json").read_text())["bytecode"]
    assert info["bytecode_wheels"] == {"numpy": entry["file_name"]}, "only the site's binary wheels get one"
    assert "numpy" not in info["left_as_source"]
    assert entry["depends"] == ["numpy"] and entry["imports"] == [] and entry["version"] == lock["numpy"]["version"]
    assert "numpy-bytecode" in lock["tinytorch"]["depends"], "loading tinytorch loads numpy's bytecode"
    assert "numpy-bytecode" not in lock["numpy"]["depends"]
    headers = _pyc_headers(pyodide / entry["file_name"])
    stdlib_magic = {h[:4] for h in _pyc_headers(pyodide / "python_stdlib.zip").values()}
    assert {h[:4] for h in headers.values()} == stdlib_magic and {h[4:8] for h in headers.values()} == {b"\x01\0\0\0"}
    assert "numpy/__pycache__/__init__.cpython-314.pyc" in headers
    assert "numpy/_core/__pycache__/multiarray.cpython-314.pyc" in headers
    with zipfile.ZipFile(pyodide / entry["file_name"]) as wheel:
        names = wheel.namelist()
        assert not [n for n in names if n.endswith(".py") or n.endswith(".so")], "bytecode only"
        record = wheel.read(f"numpy_bytecode-{entry['version']}.dist-info/RECORD").decode()
        assert all(n in record for n in names)
