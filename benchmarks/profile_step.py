"""Where a training step of the browser preset spends its time: cProfile, grouped.

    python benchmarks/profile_step.py                                  # this numpy
    PYTHONPATH=. $TINYGPT_NOBLAS_PYTHON benchmarks/profile_step.py     # numpy built without BLAS
    node benchmarks/pyodide_run.mjs benchmarks/profile_step.py         # Pyodide's numpy (wasm)

Runs the trainer (forward, cross-entropy, backward, gradient clipping, AdamW) on random tokens
for `--steps` steps under cProfile, then prints the share of the time in each kind of work
(matrix products, numpy reductions and copies, the rest of each op's code) and the functions
that cost most.
Profiling slows the Python part a little (each call is recorded), so read the shares, not the
milliseconds; browser_training.py gives the unprofiled ms/step.
"""

import argparse
import cProfile
import pstats
import sys

import numpy as np

PRODUCTS = ("einsum", "matmul", "dot", "tensordot")


def kind_of(filename: str, name: str) -> str:
    """cProfile sees Python functions and C functions called by name ("{built-in method ...einsum}",
    "<method 'reduce' of ...>"), not operators or plain ufunc calls (`a @ b`, `np.exp(a)`, `a * b`):
    their time counts as the own time of the function whose line runs them."""
    if filename.endswith("kernels.py") or (filename == "~" and any(w in name for w in PRODUCTS)):
        return "matrix products (tinytorch/kernels.py)"
    if filename == "~":
        return "numpy calls by name (reductions, copies)"
    return "ops' own lines (elementwise numpy, Python)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="browser")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=12, help="functions to list")
    args = parser.parse_args()

    import tinytorch
    from tinytorch.models import preset

    p = preset(args.preset)
    tinytorch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, p.config.vocab_size, size=200_000)
    _, _, trainer = p.build(p.config.vocab_size, tokens, None, progress=None)
    trainer.fit(2)  # warm-up: first allocations, imports

    profiler = cProfile.Profile()
    profiler.enable()
    trainer.fit(args.steps)
    profiler.disable()

    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, primitive calls, tottime, cumtime, callers)
    total = sum(row[2] for row in stats.values())
    by_kind = {}
    for (filename, _, name), row in stats.items():
        kind = kind_of(filename, name)
        by_kind[kind] = by_kind.get(kind, 0.0) + row[2]

    c = p.config
    print(
        f"{args.preset} preset ({c.n_layer} x {c.n_head} x {c.n_embd}, block {c.block_size}, batch {p.batch_size}), "
        f"{args.steps} profiled steps on {sys.platform}, numpy {np.__version__}, "
        f"kernels {tinytorch.kernels.backend()}: {1000 * total / args.steps:.1f} ms/step under the profiler"
    )
    for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"  {kind:44s} {100 * seconds / total:5.1f}%")
    print(f"the {args.top} functions with the most time of their own:")
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[: args.top]
    for (filename, line, name), row in rows:
        where = name if filename == "~" else f"{filename.rsplit('/', 1)[-1]}:{line} {name}"
        print(f"  {100 * row[2] / total:5.1f}%  {row[0] // args.steps:5d} calls/step  {where}")


if __name__ == "__main__":
    main()
