"""How fast is one TinyGPT training step in tinytorch, against a hand-written numpy floor?

    python benchmarks/train_step.py                 # all environments, both configs, both malloc modes (~5-10 min)
    python benchmarks/train_step.py --quick         # fewer steps, for a first look
    python benchmarks/train_step.py --envs blas1    # only OpenBLAS with 1 thread
    node benchmarks/pyodide_run.mjs benchmarks/train_step.py --worker --configs browser --steps 15
                                                    # inside Pyodide (wasm): one JSON line

One step = forward, cross-entropy, backward, AdamW update, at two shapes:

    nanogpt   the nanoGPT CPU config: 4 layers, 4 heads, 128 embd, T=64, B=12, vocab 65
    browser   the course's browser preset shape: 1 layer, 4 heads, 96 embd, MLP 3x, T=24, B=32, vocab 65

Each environment runs in its own child process, because BLAS threads can only be set before
numpy loads and must never be set inside the library:

    blas1     this numpy, OPENBLAS_NUM_THREADS=1
    blas      this numpy, OpenBLAS default threads
    noblas    $TINYGPT_NOBLAS_PYTHON: numpy built without BLAS, the stand-in for Pyodide

Inside a child, tinytorch and the floor (benchmarks/numpy_floor.py) start from the *same
weights* (the first losses must agree, printed as a check) and are timed interleaved step by
step; the table shows medians, the ratio tinytorch / floor, tokens per second, and memory:
the peak bytes allocated during one step (tracemalloc) and each implementation's peak RSS in
a separate process. The machine is shared, so absolute numbers are noisy; the ratio, measured
in the same process at the same moment, is the number to watch.
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    ENVIRONMENTS,
    counting_faults,
    fmt_mib,
    interleaved_medians,
    max_rss_bytes,
    noblas_ready,
    numpy_description,
    peak_traced_bytes,
    spawn,
)

CONFIGS = {
    "nanogpt": dict(n_layer=4, n_head=4, n_embd=128, mlp_ratio=4, block_size=64, batch_size=12, vocab_size=65),
    "browser": dict(n_layer=1, n_head=4, n_embd=96, mlp_ratio=3, block_size=24, batch_size=32, vocab_size=65),
}
LR, WEIGHT_DECAY = 1e-3, 0.01
# --malloc tuned: stop glibc from handing freed heap back to the OS and mapping it in again
# every step (see README, "page faults"). Applied to both sides alike; never set by the library.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(256 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(512 * 2**20)}


# ----------------------------------------------------------------------------- the two steps


def make_batch(spec, seed=0):
    rng = np.random.default_rng(seed)
    shape = (spec["batch_size"], spec["block_size"])
    x = rng.integers(0, spec["vocab_size"], shape, dtype=np.int64)
    y = rng.integers(0, spec["vocab_size"], shape, dtype=np.int64)
    return x, y


def make_tinytorch_step(spec, x, y):
    """tinytorch's TinyGPT + AdamW; returns (step() -> loss, model)."""
    import tinytorch
    from tinytorch.models import TinyGPT, TinyGPTConfig
    from tinytorch.nn import functional as F
    from tinytorch.optim import AdamW

    tinytorch.manual_seed(0)
    config = TinyGPTConfig(
        vocab_size=spec["vocab_size"],
        block_size=spec["block_size"],
        n_layer=spec["n_layer"],
        n_head=spec["n_head"],
        n_embd=spec["n_embd"],
        mlp_ratio=spec["mlp_ratio"],
        dropout=0.0,
    )
    model = TinyGPT(config)
    model.train()
    optimizer = AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)

    def step():
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        return float(loss.data)

    return step, model


def make_floor_step(spec, x, y, params=None):
    """The hand-written numpy floor; returns (step() -> loss, model)."""
    import numpy_floor as floor

    config = floor.FloorConfig(
        vocab_size=spec["vocab_size"],
        block_size=spec["block_size"],
        n_layer=spec["n_layer"],
        n_head=spec["n_head"],
        n_embd=spec["n_embd"],
        mlp_ratio=spec["mlp_ratio"],
    )
    model = floor.NumpyGPT(config, params=params)
    optimizer = floor.AdamW(model.params, lr=LR, weight_decay=WEIGHT_DECAY)
    return (lambda: floor.train_step(model, optimizer, x, y)), model


# ----------------------------------------------------------------------------- child process


def run_timing(name, steps, warmup):
    """Time floor and tinytorch interleaved in this process; returns a dict of results."""
    import numpy_floor as floor

    spec = CONFIGS[name]
    x, y = make_batch(spec)
    result = {"config": name, **numpy_description(), "steps": steps}
    from tinytorch import kernels

    result["kernels"] = kernels.backend()
    tt_step, tt_model = make_tinytorch_step(spec, x, y)
    floor_step, _ = make_floor_step(spec, x, y, params=floor.params_from_tinygpt(tt_model))
    # Same weights, same batch: the first losses must agree, or the comparison is meaningless.
    result["first_loss"] = {"floor": floor_step(), "tinytorch": tt_step()}
    result["peak_step_bytes"] = {"floor": peak_traced_bytes(floor_step), "tinytorch": peak_traced_bytes(tt_step)}
    for _ in range(warmup):
        floor_step(), tt_step()
    faults = {}
    fns = {
        "floor": counting_faults(floor_step, faults, "floor"),
        "tinytorch": counting_faults(tt_step, faults, "tinytorch"),
    }
    timings = interleaved_medians(fns, repeats=steps, warmup=0)
    tokens = spec["batch_size"] * spec["block_size"]
    for impl, t in timings.items():
        result[impl] = {
            "median_ms": 1e3 * t["median"],
            "min_ms": 1e3 * t["min"],
            "tokens_per_s": tokens / t["median"],
            "page_faults_per_step": faults[impl] / steps,
        }
    result["ratio"] = timings["tinytorch"]["median"] / timings["floor"]["median"]
    return result


def run_rss(name, impl, steps=3):
    """Peak RSS of a process that builds one implementation and runs a few steps."""
    spec = CONFIGS[name]
    x, y = make_batch(spec)
    step = make_tinytorch_step(spec, x, y)[0] if impl == "tinytorch" else make_floor_step(spec, x, y)[0]
    for _ in range(steps):
        step()
    return {"config": name, "impl": impl, "max_rss": max_rss_bytes()}


# ----------------------------------------------------------------------------- parent process


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="nanogpt,browser", help="comma list of: " + ",".join(CONFIGS))
    parser.add_argument("--envs", default="blas1,blas,noblas", help="comma list of: " + ",".join(ENVIRONMENTS))
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per implementation (default 30, 10 on noblas)"
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="8 timed steps, no RSS processes")
    parser.add_argument(
        "--malloc",
        choices=("default", "tuned", "both"),
        default="both",
        help="glibc malloc settings of the child processes (tuned: no heap trimming)",
    )
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="time one config in this interpreter only and print one JSON line (how it runs in Pyodide)",
    )
    parser.add_argument("--rss", choices=("floor", "tinytorch"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        name = args.configs
        out = run_rss(name, args.rss) if args.rss else run_timing(name, args.steps, args.warmup)
        print(json.dumps(out))
        return

    results = []
    modes = ("default", "tuned") if args.malloc == "both" else (args.malloc,)
    for env_name in args.envs.split(","):
        label = ENVIRONMENTS[env_name][0]
        if env_name == "noblas" and noblas_ready():
            print(f"\n## {label}: skipped, {noblas_ready()}")
            continue
        steps = args.steps or (8 if args.quick else (10 if env_name == "noblas" else 30))
        for malloc in modes:
            rows = []
            for name in args.configs.split(","):
                worker = ["--configs", name, "--steps", str(steps), "--warmup", str(args.warmup)]
                r = spawn(__file__, env_name, worker, TUNED_MALLOC if malloc == "tuned" else None)
                r["env"], r["malloc"] = env_name, malloc
                if not args.quick:
                    r["max_rss"] = {
                        impl: spawn(
                            __file__,
                            env_name,
                            ["--configs", name, "--rss", impl],
                            TUNED_MALLOC if malloc == "tuned" else None,
                        )["max_rss"]
                        for impl in ("floor", "tinytorch")
                    }
                rows.append(r)
            print_table(f"{label}, {malloc} malloc", rows)
            results += rows
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_table(label, rows):
    if not rows:
        return
    r0 = rows[0]
    print(
        f"\n## {label}: numpy {r0['numpy']} (BLAS: {r0['blas']}), OPENBLAS_NUM_THREADS={r0['OPENBLAS_NUM_THREADS']}, "
        f"tinytorch kernels: {r0['kernels']}, {r0['steps']} timed steps, interleaved medians"
    )
    print(
        f"{'config':8s} {'floor ms':>9s} {'tinytorch ms':>13s} {'ratio':>6s} {'floor tok/s':>12s} {'tt tok/s':>9s}"
        f" {'faults/step floor/tt':>21s} {'step peak floor/tt':>20s} {'max RSS floor/tt':>20s}  first loss floor/tt"
    )
    for r in rows:
        f, t = r["floor"], r["tinytorch"]
        faults = f"{f['page_faults_per_step']:,.0f} / {t['page_faults_per_step']:,.0f}"
        peak = f"{fmt_mib(r['peak_step_bytes']['floor'])} / {fmt_mib(r['peak_step_bytes']['tinytorch'])}"
        rss = r.get("max_rss")
        rss = f"{fmt_mib(rss['floor'])} / {fmt_mib(rss['tinytorch'])}" if rss else "-"
        loss = f"{r['first_loss']['floor']:.5f} / {r['first_loss']['tinytorch']:.5f}"
        print(
            f"{r['config']:8s} {f['median_ms']:9.1f} {t['median_ms']:13.1f} {r['ratio']:5.2f}x "
            f"{f['tokens_per_s']:12,.0f} {t['tokens_per_s']:9,.0f} {faults:>21s} {peak:>20s} {rss:>20s}  {loss}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
