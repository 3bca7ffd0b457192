"""tinytorch's own WebAssembly SIMD kernels, for Pyodide (the browser) only.

Pyodide's numpy has no BLAS and no SIMD matrix product. `kernels.wasm` (built from
`kernels.c` by `source/build.py`, both kept out of the wheel) computes float32 products with WebAssembly SIMD128,
directly on numpy's buffers: it imports Pyodide's own `WebAssembly.Memory` (the heap numpy
allocates from) as `env.memory`, and is called with the arrays' addresses. Nothing is copied.

`load()` instantiates it once and returns its exports, or None when it cannot run here
(not Pyodide, no `_module.memory`, no SIMD): then `reason()` says why, and tinytorch uses
numpy exactly as before. Natively this module is never loaded (`import tinytorch` needs numpy only).

    products.py     float32 matrix products (what tinytorch.kernels calls under the "simd" backend)
    elementwise.py  fused GELU, causal softmax, LayerNorm, bias gradients, Adam(W) step
    attention.py    causal multi-head attention's core, forward and backward, a call each
    threads.py      a helper Worker for the large products, where SharedArrayBuffer is
"""

import sys
from pathlib import Path

WASM_FILE = Path(__file__).with_name("kernels.wasm")

_exports = None
_reason = "not loaded yet"


def load():
    """The module's exports (a JsProxy with gemm_nn, gemm_nt, ...), or None; see `reason()`."""
    global _exports, _reason
    if _exports is not None or _reason != "not loaded yet":
        return _exports
    if sys.platform != "emscripten":
        _reason = f"WebAssembly kernels run only in Pyodide (sys.platform is {sys.platform!r})"
        return None
    try:
        _exports = _instantiate(WASM_FILE.read_bytes())
        _reason = ""
    except Exception as error:  # any failure means: numpy runs, as it always did
        _reason = f"could not load {WASM_FILE.name}: {type(error).__name__}: {error}"
    return _exports


def reason() -> str:
    """Why `load()` returned None ("" once it loaded)."""
    load()
    return _reason


def address(x) -> int:
    """Where a numpy array's data starts in the heap (what the kernels take): `x.ctypes.data`, 3x
    quicker in Pyodide than `__array_interface__` (a new dict each time)."""
    return x.ctypes.data


def pyodide_memory():
    """Pyodide's `WebAssembly.Memory` (not public API: `pyodide._module.memory`; tested in Pyodide)."""
    import pyodide_js

    memory = getattr(pyodide_js._module, "memory", None)
    if memory is None:
        raise RuntimeError("this Pyodide has no _module.memory to share with the kernels")
    return memory


def _instantiate(binary: bytes):
    import js
    from pyodide.ffi import to_js

    if not js.WebAssembly.validate(to_js(binary)):
        raise RuntimeError("this engine does not accept the module (no WebAssembly SIMD?)")
    imports = to_js({"env": {"memory": pyodide_memory()}}, dict_converter=js.Object.fromEntries)
    module = js.WebAssembly.Module.new(to_js(binary))
    return js.WebAssembly.Instance.new(module, imports).exports
