"""tinytorch.kernels: every matmul backend computes the same numbers, and the choice is right.

The "wasm" backend is what the browser (Pyodide) runs without tinytorch's SIMD module, "einsum"
what a native numpy without BLAS runs, "blas" what a normal numpy runs. All three are tested
here on every machine by forcing the backend, so a bug in the browser path cannot hide behind a
BLAS install. The fourth, "simd" (the WebAssembly module), runs only in Pyodide: its checks are
in test_wasm_kernels.py.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import kernels

REPO = Path(__file__).resolve().parents[2]
#: the backends that run natively (numpy only)
NUMPY_BACKENDS = [name for name in kernels.BACKENDS if name != "simd"]
#: A Python whose numpy has no BLAS, like Pyodide's (optional; see benchmarks/README.md).
NOBLAS_PYTHON = Path(os.environ.get("TINYGPT_NOBLAS_PYTHON", "no-BLAS python not configured"))


@pytest.fixture
def restore_backend():
    previous = kernels.backend()
    yield
    kernels.set_backend(previous)


def reference(name, a, b):
    """The product each kernel promises, computed in float64 the obvious way."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    if name == "matmul":
        return np.matmul(a, b)
    if name == "matmul_tn":
        return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])
    if name == "matmul_nt":
        return np.matmul(a, b.T)
    if name == "bmm":
        return np.matmul(a, b)
    if name == "bmm_nt":
        return np.matmul(a, np.swapaxes(b, -1, -2))
    if name == "bmm_tn":
        return np.matmul(np.swapaxes(a, -1, -2), b)
    raise AssertionError(name)


# (kernel, shape of a, shape of b): 2-D and batched (leading dims), as the engine uses them
CASES = [
    ("matmul", (7, 5), (5, 3)),
    ("matmul", (2, 7, 5), (5, 3)),  # (B, T, C) @ (C, N): leading dims flattened
    ("matmul", (2, 3, 4, 5), (5, 6)),
    ("matmul_tn", (7, 5), (7, 3)),  # weight gradient X.T @ dY
    ("matmul_tn", (2, 7, 5), (2, 7, 3)),  # summed over every leading dim
    ("matmul_nt", (7, 3), (5, 3)),  # input gradient dY @ W.T
    ("matmul_nt", (2, 7, 3), (5, 3)),
    ("bmm", (4, 6, 5), (4, 5, 3)),
    ("bmm", (2, 3, 6, 5), (2, 3, 5, 4)),  # (B, H, T, d) attention shapes
    ("bmm_nt", (2, 3, 6, 5), (2, 3, 4, 5)),
    ("bmm_tn", (2, 3, 6, 5), (2, 3, 6, 4)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, shape_a, shape_b", CASES)
def test_backends_agree_with_reference_and_each_other(name, shape_a, shape_b, dtype, restore_backend):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype)
    want = reference(name, a, b)
    results = {}
    for backend in NUMPY_BACKENDS:
        kernels.set_backend(backend)
        out = getattr(kernels, name)(a, b)
        assert out.shape == want.shape, (backend, out.shape, want.shape)
        assert out.dtype == dtype, f"{name} on {backend} changed dtype to {out.dtype}"
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol, err_msg=f"{name} on {backend}")
        results[backend] = out
    for backend in NUMPY_BACKENDS:
        np.testing.assert_allclose(results["blas"], results[backend], rtol=tol, atol=tol, err_msg=backend)


def test_kernels_accept_strided_views(restore_backend):
    """Attention feeds q, k, v as transposed views of one qkv array; both paths must handle them."""
    rng = np.random.default_rng(1)
    qkv = rng.standard_normal((2, 6, 3, 2, 4)).astype(np.float32)  # (B, T, 3, H, d)
    q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (B, H, T, d), not contiguous
    for backend in NUMPY_BACKENDS:
        kernels.set_backend(backend)
        np.testing.assert_allclose(kernels.bmm_nt(q, k), reference("bmm_nt", q, k), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(kernels.bmm_tn(q, v), reference("bmm_tn", q, v), rtol=1e-5, atol=1e-6)
        kt = k.swapaxes(-1, -2)  # (B, H, d, T), a transposed view
        np.testing.assert_allclose(kernels.bmm(q, kt), reference("bmm", q, kt), rtol=1e-5, atol=1e-6)


def test_tensor_matmul_gradients_identical_under_every_backend(restore_backend):
    """The engine's @ (forward and both input gradients) gives the same numbers on every backend."""
    rng = np.random.default_rng(2)
    x_data = rng.standard_normal((3, 4, 5))
    w_data = rng.standard_normal((5, 6))
    grads = {}
    for backend in NUMPY_BACKENDS:
        kernels.set_backend(backend)
        x = tt.Tensor(x_data, requires_grad=True, dtype=np.float64)
        w = tt.Tensor(w_data, requires_grad=True, dtype=np.float64)
        out = x @ w
        (out * out).sum().backward()
        grads[backend] = (out.data, x.grad, w.grad)
    for backend in NUMPY_BACKENDS:
        for blas_arr, other in zip(grads["blas"], grads[backend]):
            np.testing.assert_allclose(blas_arr, other, rtol=1e-12, atol=1e-12, err_msg=backend)
    np.testing.assert_allclose(grads["blas"][2], 2 * np.einsum("btk,btn->kn", x_data, x_data @ w_data))


def test_set_backend_switches_and_auto_follows_numpy_build(restore_backend):
    assert kernels.set_backend("einsum") == "einsum"
    assert kernels.backend() == "einsum"
    assert kernels.set_backend("BLAS") == "blas"
    assert kernels.backend() == "blas"
    assert kernels.set_backend("wasm") == "wasm"
    assert kernels.set_backend("auto") == ("blas" if kernels.numpy_has_blas() else "einsum")


def test_auto_picks_wasm_kernels_in_pyodide(restore_backend, monkeypatch):
    """In the browser (sys.platform "emscripten") auto chooses the kernels measured there."""
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(kernels.wasm, "_reason", "not loaded yet")  # restored after: a real try to load
    monkeypatch.setattr(kernels.wasm, "_exports", None)
    assert kernels.set_backend("auto") == "wasm"  # the SIMD module cannot load here (no js): numpy's wasm kernels


def test_unknown_backend_is_a_clear_error(restore_backend):
    before = kernels.backend()
    with pytest.raises(ValueError, match="'blas', 'einsum', 'wasm', 'simd' or 'auto'"):
        kernels.set_backend("cuda")
    assert kernels.backend() == before


@pytest.mark.parametrize(
    "name, shape_a, shape_b",
    [
        ("matmul", (4, 5), (6, 3)),
        ("matmul_tn", (4, 5), (7, 3)),
        ("matmul_nt", (4, 5), (3, 6)),
        ("bmm", (2, 4, 5), (2, 6, 3)),
        ("bmm_nt", (2, 4, 5), (2, 3, 6)),
        ("bmm_tn", (2, 4, 5), (2, 6, 3)),
    ],
)
def test_shape_mismatch_names_both_shapes(name, shape_a, shape_b):
    with pytest.raises(ValueError) as info:
        getattr(kernels, name)(np.ones(shape_a, np.float32), np.ones(shape_b, np.float32))
    message = str(info.value)
    assert name in message and str(shape_a) in message and str(shape_b) in message


def _run(python, code, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("TINYGPT_MATMUL", "TINYTORCH_MATMUL")}
    environment.update(PYTHONPATH=str(REPO), **env)
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_environment_variable_forces_backend_at_import():
    code = "import tinytorch.kernels as k; print(k.backend())"
    assert _run(sys.executable, code, TINYGPT_MATMUL="einsum") == "einsum"
    assert _run(sys.executable, code, TINYGPT_MATMUL="blas") == "blas"
    assert _run(sys.executable, code, TINYGPT_MATMUL="wasm") == "wasm"
    assert _run(sys.executable, code, TINYTORCH_MATMUL="einsum") == "einsum"  # the old name still works


def test_auto_picks_blas_on_this_numpy_with_blas():
    if not kernels.numpy_has_blas():
        pytest.skip("this numpy has no BLAS; the no-BLAS case is covered by the next test")
    assert _run(sys.executable, "import tinytorch.kernels as k; print(k.backend())") == "blas"


def test_auto_picks_einsum_on_a_numpy_without_blas():
    if not NOBLAS_PYTHON.is_file():
        pytest.skip(
            "set TINYGPT_NOBLAS_PYTHON to a python whose numpy has no BLAS (benchmarks/README.md "
            "says how to build one) to test that choice natively; Pyodide's own numpy is tested below"
        )
    code = (
        "import numpy as np, tinytorch.kernels as k;"
        "print(np.__config__.CONFIG['Build Dependencies']['blas'].get('name'), k.numpy_has_blas(), k.backend())"
    )
    blas_name, has_blas, backend = _run(NOBLAS_PYTHON, code).split()
    assert blas_name.lower() == "none", f"{NOBLAS_PYTHON} is not a no-BLAS numpy (BLAS: {blas_name})"
    assert (has_blas, backend) == ("False", "einsum")


NODE_RUNNER = REPO / "benchmarks" / "pyodide_run.mjs"


def test_in_real_pyodide_auto_picks_simd_kernels_and_wasm_ones_agree_with_float64():
    """Run in Pyodide (Node + the browser's numpy wheel): the backend chosen there is "simd" (the
    module; test_wasm_kernels.py checks it), and the numpy "wasm" kernels, its fallback, match
    a float64 reference on the shapes the engine uses."""
    wheel = os.environ.get("TINYGPT_NUMPY_WHEEL", "")
    node = shutil.which("node")
    if not (node and wheel and Path(wheel).is_file() and (REPO / "node_modules" / "pyodide").is_dir()):
        pytest.skip("needs node, npm ci (node_modules/pyodide) and TINYGPT_NUMPY_WHEEL (Pyodide's numpy wheel)")
    code = (
        "import sys, numpy as np, tinytorch.kernels as k\n"
        "auto = k.backend()\n"
        "k.set_backend('wasm')\n"
        "r = np.random.default_rng(0)\n"
        "f = lambda *s: r.standard_normal(s).astype(np.float32)\n"
        "a, b, g, w = f(2, 6, 5), f(5, 3), f(2, 6, 3), f(4, 3)\n"
        "q, kk = f(2, 3, 6, 4), f(2, 3, 6, 4)\n"
        "D = lambda x: x.astype(np.float64)\n"
        "checks = [(k.matmul(a, b), D(a) @ D(b)), (k.matmul_tn(a, g), np.einsum('bti,bto->io', D(a), D(g))),\n"
        "          (k.matmul_nt(g, w), D(g) @ D(w).T), (k.bmm_nt(q, kk), D(q) @ D(kk).swapaxes(-1, -2)),\n"
        "          (k.bmm_tn(q, kk), D(q).swapaxes(-1, -2) @ D(kk)),\n"
        "          (k.bmm(q, kk.swapaxes(-1, -2)), D(q) @ D(kk).swapaxes(-1, -2))]\n"
        "err = max(float(np.abs(got - want).max()) for got, want in checks)\n"
        "dtypes = {str(got.dtype) for got, _ in checks}\n"
        "print(sys.platform, auto, k.backend(), err < 1e-5, dtypes)\n"
    )
    done = subprocess.run(
        [node, str(NODE_RUNNER), "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k not in ("TINYGPT_MATMUL", "TINYTORCH_MATMUL")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2].strip() == "emscripten simd wasm True {'float32'}", done.stdout
