"""Matrix-product kernels, chosen once for the numpy we run on.

With BLAS (a normal numpy wheel), `@` on 2-D operands is fastest, and BLAS reads a
transposed operand for free. Without BLAS (Pyodide in the browser, or a no-BLAS build),
numpy's `@` falls back to a slow loop while `np.einsum` uses vectorised kernels: 4-9x faster
on our shapes, and it also avoids materialising a transposed copy for `X.T @ dY` (measured
3.7x slower in Pyodide). So every matrix product in tinytorch goes through this module.

In the browser itself (Pyodide: numpy compiled to wasm, no BLAS, no SIMD kernels) the costs
differ again, so it gets a third family, "wasm", measured there (benchmarks/wasm_kernels.py,
run in Pyodide under Node): einsum is fastest when the summed index is the last, contiguous
axis of *both* operands (an inner loop of dot products), 1.3-2x faster than any other order,
so the wasm kernels copy the small operand (a weight) or both operands of a weight gradient
into that layout first; and for attention's small batched products numpy's own `@` loop beats
einsum by 1.5-2x. A TinyGPT browser-preset step: 26-30% faster than the "einsum" family.

In Pyodide the fourth family, "simd", is chosen whenever tinytorch's own WebAssembly module
loads (tinytorch/wasm: SIMD128 products on numpy's buffers, 13-20 G multiply-adds/s against
Pyodide numpy's 1-2.5); "wasm" is its fallback. `fused(...)` tells the elementwise ops when the
same module runs them too. Only float32 goes to the module; float64 takes the "wasm" path.

The choice is made at import from the platform and numpy's build configuration (no timing,
so it is deterministic), can be forced with the environment variable
TINYGPT_MATMUL=einsum|blas|wasm|simd (tinytorch.settings), or changed at run time with
`set_backend("einsum" | "blas" | "wasm" | "simd" | "auto")`.

Shapes: `matmul(a (..., K), b (K, N)) -> (..., N)` flattens the leading dims of `a` into one
2-D product; `matmul_tn(a (..., I), b (..., O)) -> (I, O)` is `a.T @ b` over all leading dims
(weight gradients); `matmul_nt(a (..., O), b (I, O)) -> (..., I)` is `a @ b.T`; `bmm`,
`bmm_nt`, `bmm_tn` are the same on the last two dims of batched arrays (attention).

The einsum path copies strided batched operands into contiguous arrays first: attention's
q, k, v are transposed views of one qkv array, and einsum on those views (or on a transposed
left operand) measured 1.6-2x slower than a copy plus einsum on the no-BLAS numpy
(benchmarks/matmul_kernels.py). The copy is O(size); the product is O(size * K).
"""

import sys

import numpy as np

from . import settings, wasm
from .wasm import elementwise, products, threads

BACKENDS = ("einsum", "blas", "wasm", "simd")


def numpy_has_blas() -> bool:
    """True when this numpy was built against a BLAS library (False in Pyodide)."""
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
    except (AttributeError, KeyError, TypeError):
        return True  # numpy < 1.26 has no CONFIG; every such wheel shipped OpenBLAS
    return bool(blas.get("found")) and str(blas.get("name", "")).lower() not in ("", "none")


def simd_available() -> bool:
    """True when tinytorch's WebAssembly SIMD module runs here (Pyodide only; tinytorch.wasm.reason() says why not)."""
    return sys.platform == "emscripten" and wasm.load() is not None


def _auto_backend() -> str:
    if sys.platform == "emscripten":
        return "simd" if simd_available() else "wasm"
    return "blas" if numpy_has_blas() else "einsum"


def _initial_backend() -> str:
    forced = settings.matmul_backend()
    if forced == "simd" and not simd_available():
        return _auto_backend()  # asked for where it cannot run: the best that can
    if forced in BACKENDS:
        return forced
    return _auto_backend()


_backend = _initial_backend()


def backend() -> str:
    """The kernel family in use: "blas" (`@`), "einsum" (no BLAS), "wasm" (Pyodide's numpy) or "simd"
    (Pyodide with tinytorch's WebAssembly module)."""
    return _backend


def set_backend(name: str) -> str:
    """Choose the matmul kernels: "blas", "einsum", "wasm", "simd", or "auto" (decide from platform and numpy)."""
    global _backend
    name = str(name).lower()
    if name == "auto":
        _backend = _auto_backend()
    elif name == "simd" and not simd_available():
        raise ValueError(f"the 'simd' kernels cannot run here: {wasm.reason()}; use 'auto'")
    elif name in BACKENDS:
        _backend = name
    else:
        raise ValueError(f"unknown matmul backend {name!r}: use 'blas', 'einsum', 'wasm', 'simd' or 'auto'")
    return _backend


def fused(*arrays) -> bool:
    """True when the SIMD module's fused elementwise kernels (tinytorch.wasm.elementwise) should run on
    these arrays: the backend is "simd" and every array is float32 and C-contiguous. Ops keep their
    numpy code, the reference, for every other case."""
    return _backend == "simd" and elementwise.ready(*arrays)


def _simd(*arrays) -> bool:
    """Use the SIMD module for this call: the backend is "simd" and every operand is float32."""
    return _backend == "simd" and all(x.dtype == np.float32 for x in arrays)


def _check(a, b, a_dim, b_dim, op):
    if a.shape[a_dim] != b.shape[b_dim]:
        raise ValueError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not line up "
            f"(dimension {a.shape[a_dim]} vs {b.shape[b_dim]})"
        )


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (..., K) @ b (K, N) -> (..., N), as one flattened 2-D product."""
    _check(a, b, -1, 0, "matmul")
    lead = a.shape[:-1]
    a2 = a.reshape(-1, a.shape[-1])
    if _simd(a2, b):
        out = products.nn(a2, b)
    elif _backend == "blas":
        out = a2 @ b
    elif _backend in ("wasm", "simd"):  # sum over the contiguous last axis of both: b.T copied (a weight, small)
        out = np.einsum("ik,nk->in", a2, np.ascontiguousarray(b.T))
    else:
        out = np.einsum("ik,kn->in", a2, b)
    return out.reshape(*lead, b.shape[-1])


def matmul_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b summed over all leading dims: a (..., I), b (..., O) -> (I, O)."""
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    _check(a2, b2, 0, 0, "matmul_tn")
    if _simd(a2, b2):
        return products.nn(a2.T, b2)
    if _backend == "blas":
        return a2.T @ b2
    if _backend in ("wasm", "simd"):  # both transposed copies (O(size)) so the long sum over rows is contiguous
        return np.einsum("in,on->io", np.ascontiguousarray(a2.T), np.ascontiguousarray(b2.T))
    return np.einsum("ni,no->io", a2, b2)


def matmul_nt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b.T: a (..., O), b (I, O) -> (..., I) (input gradient of a linear layer)."""
    _check(a, b, -1, -1, "matmul_nt")
    lead = a.shape[:-1]
    a2 = a.reshape(-1, a.shape[-1])
    if _simd(a2, b):
        out = products.nt(a2, b)
    else:
        out = a2 @ b.T if _backend == "blas" else np.einsum("no,io->ni", a2, b)
    return out.reshape(*lead, b.shape[0])


def linear_grads(dy: np.ndarray, x: np.ndarray, w: np.ndarray, take_dw) -> np.ndarray:
    """A linear layer's input gradient dy @ w.T, returned, and weight gradient x.T @ dy, handed to
    `take_dw`; dy (N, out), x (N, in), w (in, out).

    Everywhere but in Pyodide with the helper thread these are matmul_nt and matmul_tn, and
    take_dw runs at once. There dW is computed on the helper while this thread computes dx and
    goes on with the backward pass; take_dw(dW) runs at `settle()`, which backward() calls
    before it returns (tinytorch.wasm.products.nn_pair)."""
    if _simd(dy, x, w):
        _check(dy, w, -1, -1, "matmul_nt")
        _check(x, dy, 0, 0, "matmul_tn")
        return products.nn_pair(dy, np.ascontiguousarray(w.T), x.T, dy, take_dw)
    dx = matmul_nt(dy, w)
    take_dw(matmul_tn(x, dy))
    return dx


def settle() -> None:
    """Finish the weight gradients still on the helper thread (see linear_grads); a no-op elsewhere."""
    threads.settle()


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched a @ b on the last two dims: (..., M, K), (..., K, N) -> (..., M, N)."""
    _check(a, b, -1, -2, "bmm")
    if _simd(a, b):
        return products.nn(a, b)
    if _backend != "einsum":
        return a @ b
    return np.einsum("...mk,...kn->...mn", np.ascontiguousarray(a), np.ascontiguousarray(b))


def bmm_nt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched a @ b^T: (..., M, K), (..., N, K) -> (..., M, N) (attention scores q k^T)."""
    _check(a, b, -1, -1, "bmm_nt")
    if _simd(a, b):
        return products.nt(a, b)
    if _backend != "einsum":
        return a @ np.swapaxes(b, -1, -2)
    return np.einsum("...mk,...nk->...mn", np.ascontiguousarray(a), np.ascontiguousarray(b))


def bmm_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched a^T @ b: (..., K, M), (..., K, N) -> (..., M, N)."""
    _check(a, b, -2, -2, "bmm_tn")
    if _simd(a, b):
        return products.nn(np.swapaxes(a, -1, -2), b)
    if _backend != "einsum":
        return np.swapaxes(a, -1, -2) @ b
    # einsum reading a transposed operand is ~1.6x slower than copying it first
    a_t = np.ascontiguousarray(np.swapaxes(a, -1, -2))
    return np.einsum("...mk,...kn->...mn", a_t, np.ascontiguousarray(b))
