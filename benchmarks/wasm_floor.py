"""What one multiply-add, one elementwise op and one Python loop cost here: the floor under a step.

    python benchmarks/wasm_floor.py                                   # this numpy
    PYTHONPATH=. $TINYGPT_NOBLAS_PYTHON benchmarks/wasm_floor.py      # numpy built without BLAS
    node benchmarks/pyodide_run.mjs benchmarks/wasm_floor.py          # Pyodide's numpy (wasm)

Run it in all three and compare line by line. On this project's machine (2026-11-30, quiet):

                                          Pyodide (wasm)   no-BLAS native   OpenBLAS 1 thread
    einsum ik,nk->in, ns per multiply-add      0.35             0.18             0.17
    einsum ik,kn->in                           0.48             0.16             0.15
    a @ b                                      4.6              4.5              0.014
    multiply / add, ns per element             0.70-0.73        0.52             0.50
    exp / tanh, ns per element                 8.2 / 20.7       0.47 / 0.37      0.45 / 0.37
    a pure-Python loop, 2M iterations          0.30 s           0.135 s          0.134 s
    a tiny numpy call                          1.1 us           0.41 us          0.42 us

(The native interpreter here is CPython 3.11, Pyodide's is 3.14.)

A training step is three quarters matrix products, so in a browser tab it costs what its
multiply-adds cost at the first line's rate: Pyodide's numpy runs einsum as scalar loops where
a native numpy (even without BLAS) has SIMD, its exp and tanh are 20-50x slower, and its
interpreter is ~2x slower. That gap is the runtime's (the official numpy wheel, which the site
ships unchanged), not tinytorch's: `train_step.py` shows tinytorch at the hand-written floor's
speed natively, and a wasm step is these costs times the step's work.
"""

import time

import numpy as np


def fastest(f, repeats=10):
    f()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - started)
    return best


def main():
    rng = np.random.default_rng(0)
    a = rng.random((256, 1024), dtype=np.float32)
    b = rng.random((1024, 1024), dtype=np.float32)
    bt = np.ascontiguousarray(b.T)
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    ns = 1e9
    rows = [  # (what, value, unit)
        (
            "einsum ik,nk->in (sum over the contiguous axis of both)",
            fastest(lambda: np.einsum("ik,nk->in", a, bt), 3) * ns / macs,
            "ns/MAC",
        ),
        ("einsum ik,kn->in", fastest(lambda: np.einsum("ik,kn->in", a, b), 3) * ns / macs, "ns/MAC"),
        ("a @ b", fastest(lambda: a @ b, 2) * ns / macs, "ns/MAC"),
    ]
    n = 1 << 20
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    out = np.empty_like(x)
    for name, op in (("multiply", np.multiply), ("add", np.add)):
        rows.append(
            (f"np.{name}(x, y, out=out), float32", fastest(lambda op=op: op(x, y, out=out)) * ns / n, "ns/element")
        )
    for name, op in (("exp", np.exp), ("tanh", np.tanh)):
        rows.append((f"np.{name}(x, out=out), float32", fastest(lambda op=op: op(x, out=out)) * ns / n, "ns/element"))

    def python_loop():
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        return total

    small = np.ones((4, 4), dtype=np.float32)
    rows.append(("a pure-Python loop, 2M iterations", fastest(python_loop, 3), "s"))
    rows.append(
        (
            "a tiny numpy call (4x4 add)",
            fastest(lambda: [small + small for _ in range(10_000)], 3) * ns / 10_000,
            "ns/call",
        )
    )
    for what, value, unit in rows:
        print(f"{what:60s} {value:10.3f} {unit}")


if __name__ == "__main__":
    main()
