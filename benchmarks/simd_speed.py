"""Tokens per second of a training step with tinytorch's WebAssembly SIMD kernels, before and after.

    node benchmarks/pyodide_run.mjs benchmarks/simd_speed.py          # in Pyodide (Node): numpy vs SIMD
    node benchmarks/pyodide_run.mjs benchmarks/simd_speed.py --profile
    python benchmarks/simd_speed.py                                   # native numpy, for reference

One step is what the course's trainer does (LanguageModelTrainer.fit(1): batch, forward,
cross-entropy, backward, gradient clipping, AdamW). In Pyodide the same model and trainer run
with the "wasm" backend (Pyodide's numpy only: before) and the "simd" backend (the module:
after), alternating step by step so both see the same machine load. Models: the issue's GPT
(2 layers x 4 heads x 128 channels, context 64, batch 12, MLP 4x: 0.41M parameters) and the
course's `browser` preset. The anchor is TinyGPT (tinygpt.pages.dev): 10.1k tokens/s for a
0.37M-parameter context-64 model with WebAssembly SIMD on 4 threads, on an Apple M-series laptop.
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import time

import numpy as np

ANCHOR_TOKENS_PER_SECOND = 10_100


def models():
    from tinytorch.models import TinyGPTConfig, preset

    browser = preset("browser")
    return {
        "gpt 2x4x128 T64 B12": (TinyGPTConfig(vocab_size=65, block_size=64, n_layer=2, n_head=4, n_embd=128), 12,
                                dict(learning_rate=1e-3, betas=(0.9, 0.99), weight_decay=0.1)),
        "browser preset": (browser.config, browser.batch_size,
                           dict(learning_rate=browser.learning_rate, betas=browser.betas,
                                weight_decay=browser.weight_decay)),
    }


def trainer_for(config, batch):
    import tinytorch
    from tinytorch.models import TinyGPT
    from tinytorch.training import LanguageModelTrainer

    tinytorch.manual_seed(0)
    model = TinyGPT(config)
    optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))
    tokens = np.random.default_rng(0).integers(0, config.vocab_size, size=200_000)
    return LanguageModelTrainer(model, optimizer, tokens, None, block_size=config.block_size, batch_size=batch,
                                lr_schedule="cosine", warmup_steps=10, max_steps=10_000, grad_clip=1.0,
                                progress=None)


def use(backend):
    """Switch to `backend`; "simd+2threads" is "simd" with the helper thread for large products."""
    from tinytorch import kernels
    from tinytorch.wasm import threads

    threads.enabled = backend == "simd+2threads"
    kernels.set_backend(backend.split("+")[0])


def time_backends(config, batch, backends, steps):
    """{backend: [seconds per step]}: one trainer, backends alternating step by step."""
    from tinytorch import kernels

    trainer = trainer_for(config, batch)
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


def profile(config, batch, backend, steps):
    """Where a step's time goes under `backend` (profile_step.py's groups)."""
    from profile_step import kind_of

    from tinytorch import kernels

    trainer = trainer_for(config, batch)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per backend and model")
    parser.add_argument("--profile", action="store_true", help="also profile both backends")
    parser.add_argument("--threads", action="store_true",
                        help='in Pyodide, also "simd+2threads" (a helper thread for large products, threads.py)')
    args = parser.parse_args()
    from tinytorch import kernels

    in_pyodide = sys.platform == "emscripten"
    backends = ["wasm", "simd"] if in_pyodide and kernels.simd_available() else [kernels.backend()]
    if args.threads and "simd" in backends:
        from tinytorch.wasm import threads

        threads.start()
        for _ in range(100):  # the helper gets ready in the background
            if threads.pool() is not None:
                break
            time.sleep(0.02)
        backends.append("simd+2threads") if threads.pool() is not None else print("no helper thread:", threads.reason())
    print(f"{sys.platform}, numpy {np.__version__}, backends {backends}; anchor (TinyGPT, 4 threads, M-series): "
          f"{ANCHOR_TOKENS_PER_SECOND:,} tokens/s")
    for label, (config, batch, _) in models().items():
        times = time_backends(config, batch, backends, args.steps)
        cells = []
        for b in backends:
            med, best = statistics.median(times[b]), min(times[b])
            cells.append(f"{b}: {1000 * med:6.1f} ms/step (best {1000 * best:.1f}), "
                         f"{batch * config.block_size / med:7,.0f} tokens/s")
        for b in backends[1:]:
            cells.append(f"{b} speed-up {statistics.median(times['wasm']) / statistics.median(times[b]):.2f}x")
        print(f"{label:22s} " + " | ".join(cells), flush=True)
        if args.profile:
            for b in backends:
                profile(config, batch, b, max(3, args.steps // 2))


if __name__ == "__main__":
    main()
