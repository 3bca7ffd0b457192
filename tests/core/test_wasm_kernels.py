"""tinytorch's WebAssembly SIMD kernels, run where they run: real Pyodide (Node) with the built wheel.

One Node process installs Pyodide's numpy wheel and a tinytorch wheel built from this tree,
then runs tests/core/wasm_checks.py: every kernel against numpy (odd shapes, strided views,
broadcast batch dims, a grown heap), a whole TinyGPT step's loss and gradients against the
numpy path, and the fallback when Pyodide's memory is not reachable. Natively the module never
loads; that side is tested here too.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch import kernels, wasm

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "benchmarks" / "pyodide_run.mjs"


def _pyodide_ready() -> str:
    wheel = os.environ.get("TINYGPT_NUMPY_WHEEL", "")
    if not shutil.which("node"):
        return "node is not installed"
    if not (REPO / "node_modules" / "pyodide").is_dir():
        return "node_modules/pyodide is missing (npm ci)"
    if not (wheel and Path(wheel).is_file()):
        return "TINYGPT_NUMPY_WHEEL does not name Pyodide's numpy wheel"
    return ""


@pytest.fixture(scope="module")
def pyodide_report(tmp_path_factory):
    missing = _pyodide_ready()
    if missing:
        pytest.skip(f"needs Pyodide in Node: {missing}")
    sys.path.insert(0, str(REPO))
    from coursetools.wheel import build_wheel

    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_MATMUL", "TINYGPT_MATMUL")}
    env["TINYGPT_TINYTORCH_WHEEL"] = str(wheel)
    done = subprocess.run(
        ["node", str(RUNNER), "tests/core/wasm_checks.py"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_wheel_brings_the_module_and_pyodide_picks_it(pyodide_report):
    assert pyodide_report["platform"] == "emscripten"
    assert "site-packages" in pyodide_report["tinytorch"], "tinytorch must come from the wheel, not the repo"
    assert pyodide_report["reason"] == "", pyodide_report["reason"]
    assert pyodide_report["backend"] == "simd" and pyodide_report["auto"] == "simd"


def test_pyodide_module_memory_is_its_heap(pyodide_report):
    """`pyodide._module.memory` is not public API: this pins that it is the WebAssembly.Memory numpy lives in."""
    assert pyodide_report["memory"] == "[object WebAssembly.Memory]"
    assert pyodide_report["memory_is_pyodides_heap"] is True
    assert pyodide_report["heap_grew"] is True  # and the products after the growth were checked


def test_every_kernel_agrees_with_numpy_in_pyodide(pyodide_report):
    assert pyodide_report["failures"] == []


def test_the_helper_thread_starts_in_node_and_its_products_were_checked(pyodide_report):
    assert pyodide_report["threads"] is True, pyodide_report["threads_reason"]


def test_without_pyodides_memory_numpy_runs_as_before(pyodide_report):
    backend, reason = pyodide_report["without_memory"]
    assert backend == "wasm"
    assert "_module.memory" in reason


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(
    "browser, isolated",
    [("chromium", False), ("chromium", True), ("firefox", False), ("firefox", True), ("webkit", False)],
)
def test_every_kernel_agrees_with_numpy_in_a_browser_worker(browser, isolated):
    """The same checks in Pyodide inside a real browser's Worker (where the course's kernel runs);
    on a cross-origin isolated page the helper thread starts and its products are checked too."""
    missing = _pyodide_ready()
    if missing:
        pytest.skip(f"needs Pyodide: {missing}")
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "tests" / "site"))
    import _browsers
    import _engines

    if browser == "chromium" and not _browsers.CHROMIUM:
        pytest.skip(_browsers.CHROMIUM_HELP)
    if browser != "chromium" and _engines.missing(browser):
        pytest.skip(_engines.missing(browser))
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_MATMUL", "TINYGPT_MATMUL")}
    command = [sys.executable, str(REPO / "benchmarks" / "pyodide_browser.py"), "--browser", browser]
    command += ["--isolated"] if isolated else []
    done = subprocess.run(
        command + ["tests/core/wasm_checks.py"], capture_output=True, text=True, cwd=REPO, env=env, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))
    assert report["platform"] == "emscripten" and "site-packages" in report["tinytorch"]
    assert report["backend"] == "simd", report["reason"]
    assert report["memory_is_pyodides_heap"] is True
    assert report["failures"] == []
    if isolated:  # COOP/COEP headers: SharedArrayBuffer, so a helper Worker splits the large products
        assert report["threads"] is True, report["threads_reason"]
    else:  # no isolation headers: one thread, and it says why
        assert report["threads"] is False and "cross-origin isolated" in report["threads_reason"]


def test_natively_the_module_is_never_loaded(monkeypatch):
    monkeypatch.setattr(wasm, "_reason", "not loaded yet")  # forget what earlier tests (faking the platform) left
    monkeypatch.setattr(wasm, "_exports", None)
    assert not kernels.simd_available()
    assert wasm.load() is None and "only in Pyodide" in wasm.reason()
    before = kernels.backend()
    with pytest.raises(ValueError, match="cannot run here.*only in Pyodide"):
        kernels.set_backend("simd")
    assert kernels.backend() == before
    code = (
        "import sys, numpy as np, tinytorch as tt, tinytorch.nn.functional as F\n"
        "x = tt.Tensor(np.ones((4, 8), np.float32), requires_grad=True)\n"
        "F.gelu(F.layer_norm(x @ tt.Tensor(np.ones((8, 8), np.float32)))).sum().backward()\n"
        "print(sorted(m for m in ('js', 'pyodide', 'pyodide_js') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # natively nothing of Pyodide is even imported


def test_asking_for_simd_natively_falls_back_to_the_best_numpy_backend():
    env = {**os.environ, "PYTHONPATH": str(REPO), "TINYGPT_MATMUL": "simd"}
    done = subprocess.run(
        [sys.executable, "-c", "import tinytorch.kernels as k; print(k.backend())"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("blas" if kernels.numpy_has_blas() else "einsum")
    np.testing.assert_equal(kernels.matmul(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32)), np.eye(2))
