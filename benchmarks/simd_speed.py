"""Tokens per second of a training step with tinytorch's WebAssembly SIMD kernels, before and after.

    node benchmarks/pyodide_run.mjs benchmarks/simd_speed.py          # in Pyodide (Node): numpy vs SIMD
    node benchmarks/pyodide_run.mjs benchmarks/simd_speed.py --profile
    node benchmarks/pyodide_run.mjs benchmarks/simd_speed.py --full     # the browser preset's real run (corpus)
    python benchmarks/pyodide_browser.py --isolated benchmarks/simd_speed.py --threads --only simd,simd+2threads
                                                                      # Chromium: one thread against two, nothing else
    python benchmarks/simd_speed.py                                   # native numpy, for reference

One step is what the course's trainer does (LanguageModelTrainer.fit(1): batch, forward,
cross-entropy, backward, gradient clipping, AdamW). In Pyodide the same model and trainer run
with the "wasm" backend (Pyodide's numpy only: before) and the "simd" backend (the module:
after), alternating step by step so both see the same machine load. Models: the issue's GPT
(2 layers x 4 heads x 128 channels, context 64, batch 12, MLP 4x: 0.41M parameters, trained
with the browser recipe) and the course's `browser` preset. The anchor is TinyGPT
(tinygpt.pages.dev): 10.1k tokens/s for a 0.37M-parameter context-64 model with WebAssembly
SIMD on 4 threads, on an Apple M-series laptop.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy as np

ANCHOR_TOKENS_PER_SECOND = 10_100


def models():
    """{label: Preset}: the issue's GPT (the browser recipe at that shape) and the browser preset."""
    from tinytorch.models import preset

    browser = preset("browser")
    gpt = browser.replace(n_layer=2, n_head=4, n_embd=128, block_size=64, mlp_ratio=4, init_std=0.02, batch_size=12)
    return {"gpt 2x4x128 T64 B12": gpt, "browser preset": browser}


def trainer_for(p):
    """The preset's own trainer (its recipe: AdamW, schedule, clipping) on random tokens, no validation."""
    import tinytorch

    tinytorch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, p.config.vocab_size, size=200_000)
    _, _, trainer = p.build(p.config.vocab_size, tokens, None, progress=None)
    return trainer


def use(backend):
    """Switch to `backend`; "simd+2threads" is "simd" with the helper thread for large products."""
    from tinytorch import kernels
    from tinytorch.wasm import threads

    threads.enabled = backend == "simd+2threads"
    kernels.set_backend(backend.split("+")[0])


def time_backends(p, backends, steps):
    """{backend: [seconds per step]}: one trainer, backends alternating step by step."""
    from tinytorch import kernels

    trainer = trainer_for(p)
    times = {b: [] for b in backends}
    for round_ in range(steps + 2):
        for b in backends:
            use(b)
            start = time.perf_counter()
            trainer.fit(1)
            if round_ >= 2:  # the first two rounds warm up (allocations, the engine's compiler tiers)
                times[b].append(time.perf_counter() - start)
    kernels.set_backend("auto")
    return times


def profile(p, backend, steps):
    """Where a step's time goes under `backend` (profile_step.py's groups)."""
    from profile_step import kind_of

    from tinytorch import kernels

    trainer = trainer_for(p)
    use(backend)
    trainer.fit(2)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.fit(steps)
    profiler.disable()
    kernels.set_backend("auto")
    stats = pstats.Stats(profiler).stats
    total = sum(row[2] for row in stats.values())
    by_kind = {}
    for (filename, _, name), row in stats.items():
        kind = "SIMD module calls (products and fused ops)" if "/wasm/" in filename else kind_of(filename, name)
        by_kind[kind] = by_kind.get(kind, 0.0) + row[2]
    print(f"  profile, {backend}: {1000 * total / steps:.1f} ms/step under the profiler")
    for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"    {kind:46s} {100 * seconds / total:5.1f}%")


def full_run(target: float, eval_batches: int = 20) -> None:
    """The browser preset's whole recipe on the corpus (as notebook 4): when val <= target, final val."""
    import tinytorch
    from tinytorch.models import preset
    from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split
    from tinytorch.training import Validation

    p = preset("browser")
    text = load_shakespeare(os.environ.get("TINYGPT_CORPUS") or None)
    tokenizer = CharTokenizer().fit(text)
    train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.9)
    tinytorch.manual_seed(0)
    _, _, trainer = p.build(
        tokenizer.vocab_size,
        train_ids,
        val_ids,
        progress=None,
        validation=Validation(every=p.eval_interval, batches=eval_batches),
    )
    reached, started = None, time.perf_counter()
    while trainer.step < p.max_steps:
        trainer.fit(min(p.eval_interval, p.max_steps - trainer.step))
        val = trainer.history.last_validation()[1]
        elapsed = time.perf_counter() - started
        print(f"  step {trainer.step:5d}  val {val:.4f}  {elapsed:6.1f} s", flush=True)
        if reached is None and val is not None and val <= target:
            reached = (trainer.step, elapsed)
    wall = time.perf_counter() - started
    print(
        f"browser preset, full run ({p.max_steps} steps, validation every {p.eval_interval} on {eval_batches} "
        f"batches, kernels {tinytorch.kernels.backend()}): val <= {target} at step {reached and reached[0]} after "
        f"{reached and round(reached[1], 1)} s; whole run {wall:.1f} s ({1000 * wall / p.max_steps:.1f} ms/step "
        f"with validations); final val (50 batches) {trainer.evaluate(batches=50):.4f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per backend and model")
    parser.add_argument("--profile", action="store_true", help="also profile both backends")
    parser.add_argument("--full", action="store_true", help="only the browser preset's full run on the corpus")
    parser.add_argument("--target", type=float, default=1.90, help="the validation loss --full reports reaching")
    parser.add_argument(
        "--threads",
        action="store_true",
        help='in Pyodide, also "simd+2threads" (a helper thread for large products, threads.py)',
    )
    parser.add_argument(
        "--only",
        help='comma-separated backends to time (e.g. "simd,simd+2threads": skips the slow numpy steps); '
        "speed-ups are then against the first",
    )
    parser.add_argument("--model", choices=("gpt", "preset", "both"), default="both")
    args = parser.parse_args()
    from tinytorch import kernels

    if args.full:
        return full_run(args.target)
    in_pyodide = sys.platform == "emscripten"
    backends = ["wasm", "simd"] if in_pyodide and kernels.simd_available() else [kernels.backend()]
    if args.threads and "simd" in backends:
        from tinytorch.wasm import threads

        threads.enabled = True
        threads.start()
        for _ in range(100):  # the helper gets ready in the background
            if threads.pool() is not None:
                break
            time.sleep(0.02)
        backends.append("simd+2threads") if threads.pool() is not None else print("no helper thread:", threads.reason())
    if args.only:
        backends = [b for b in args.only.split(",") if b in backends]
    print(
        f"{sys.platform}, numpy {np.__version__}, backends {backends}; anchor (TinyGPT, 4 threads, M-series): "
        f"{ANCHOR_TOKENS_PER_SECOND:,} tokens/s"
    )
    chosen = {"gpt": 1, "preset": 2, "both": 3}[args.model]
    for i, (label, p) in enumerate(models().items()):
        if not chosen & (1 << i):
            continue
        times = time_backends(p, backends, args.steps)
        cells = []
        for b in backends:
            med, best = statistics.median(times[b]), min(times[b])
            cells.append(
                f"{b}: {1000 * med:6.1f} ms/step (best {1000 * best:.1f}), {p.tokens_per_step / med:7,.0f} tokens/s"
            )
        for b in backends[1:]:
            cells.append(f"{b} speed-up {statistics.median(times[backends[0]]) / statistics.median(times[b]):.2f}x")
        print(f"{label:22s} " + " | ".join(cells), flush=True)
        if args.profile:
            for b in backends:
                profile(p, b, max(3, args.steps // 2))


if __name__ == "__main__":
    main()
