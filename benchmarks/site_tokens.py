"""Tokens per second of a training step in the built site's own kernel, in headless Chromium.

    python benchmarks/site_tokens.py site --steps 30
    python benchmarks/site_tokens.py site --breakdown    # + where the GPT's step goes (two threads)
    python benchmarks/site_tokens.py before/site site --rounds 3   # two builds alternated, a fresh kernel each
    python benchmarks/site_tokens.py site --ablate       # + this round's two changes off and on, step by step

What a student's notebook gets: the course site served as GitHub Pages serves it (plain static
server, cross-origin isolated by its service worker after one reload), a notebook's JupyterLite
kernel, `tinytorch` from the site's wheel. Times simd_speed.py's two models (the issue's GPT,
2 x 4 x 128, context 64, batch 12, and the browser preset) with the trainer's whole step, one
thread against two (tinytorch.wasm.threads), alternated step by step; prints medians, the best
step and tokens/s next to the anchor's figure (simd_speed.ANCHOR_TOKENS_PER_SECOND).
"""

import argparse
import json
import statistics
from pathlib import Path

from course_page import RUN, course_kernel
from simd_speed import ANCHOR_TOKENS_PER_SECOND

# The GPT (2 x 4 x 128, context 64, batch 12), as simd_speed.models() makes it.
THE_GPT = (
    'preset("browser").replace(n_layer=2, n_head=4, n_embd=128, block_size=64, mlp_ratio=4, init_std=0.02, '
    "batch_size=12)"
)

# Runs in the kernel: simd_speed.models() and trainer_for(), written out (the kernel has the wheel,
# not this folder), then `steps` alternated steps per thread setting.
IN_THE_KERNEL = """
import json, statistics, time
import numpy as np, tinytorch
from tinytorch.models import preset
from tinytorch.wasm import threads
browser = preset("browser")
gpt = THE_GPT
out = {"isolated": bool(__import__("js").crossOriginIsolated), "helper": threads.reason() or "ready"}
for label, p in {"gpt 2x4x128 T64 B12": gpt, "browser preset": browser}.items():
    tinytorch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, p.config.vocab_size, size=200_000)
    _, _, trainer = p.build(p.config.vocab_size, tokens, None, progress=None)
    times = {1: [], 2: []}
    for threads_on in (False, True):
        threads.enabled = threads_on
        trainer.fit(2)  # warm-up (the helper thread gets ready in the background)
    time.sleep(0.5)
    for _ in range(STEPS):
        for n in (1, 2):
            threads.enabled = n == 2
            t = time.perf_counter()
            trainer.fit(1)
            times[n].append(time.perf_counter() - t)
    per_step = p.batch_size * p.config.block_size
    out[label] = {n: {"median_ms": 1000 * statistics.median(t), "best_ms": 1000 * min(t),
                      "tokens_per_s": per_step / statistics.median(t)} for n, t in times.items()}
print(json.dumps(out))
"""

# The start of BREAKDOWN and ABLATE: a trainer of the GPT on random tokens, the helper thread on, warmed up.
GPT_TRAINER = f"""
import json, statistics, time
import numpy as np, tinytorch
from tinytorch.models import preset
from tinytorch.wasm import threads
p = {THE_GPT}
tinytorch.manual_seed(0)
tokens = np.random.default_rng(0).integers(0, p.config.vocab_size, size=200_000)
_, _, trainer = p.build(p.config.vocab_size, tokens, None, progress=None)
threads.enabled = True
trainer.fit(4)
"""

# Where the GPT's step goes (two threads), by wall clock: the kernels' entry points wrapped with a
# timer (outermost call only); "the rest" is the graph, Python and the numpy left between them.
BREAKDOWN = (
    GPT_TRAINER
    + """
import functools
from tinytorch import optim
from tinytorch.wasm import attention, elementwise, products
parts, busy = {}, [False]
def timed(owner, name, part):
    f = getattr(owner, name)
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if busy[0]:
            return f(*args, **kwargs)
        busy[0], start = True, time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            parts[part] = parts.get(part, 0.0) + time.perf_counter() - start
            busy[0] = False
    setattr(owner, name, wrapper)
timed(products, "nn", "matrix products, forward (rows split between the threads)")
timed(products, "nn_pair", "matrix products, backward (dx here while the helper computes dW)")
timed(attention, "forward", "attention core, forward")
timed(attention, "backward", "attention core, backward")
for name in ("gelu_forward", "gelu_backward", "layer_norm", "layer_norm_backward", "column_sums"):
    timed(elementwise, name, "GELU, LayerNorm, bias gradients")
timed(trainer.optimizer, "step", "AdamW step")
timed(optim, "clip_grad_norm_", "gradient clipping")
start = time.perf_counter()
trainer.fit(STEPS)
step = (time.perf_counter() - start) / STEPS
out = {"step_ms": 1000 * step, "parts_ms": {k: 1000 * v / STEPS for k, v in parts.items()}}
out["parts_ms"]["the rest: the graph, Python, numpy"] = out["step_ms"] - sum(out["parts_ms"].values())
print(json.dumps(out))
"""
)

# This round's two changes switched off and on, step by step in one kernel (what separate builds
# cannot show on a noisy host): attention's core back on its numpy code (kernels.fused refuses
# qkv), and a linear layer's dW computed after its dx on the one thread that asks (the
# helper still splits the rows of each). The functions are swapped here, the library is not.
ABLATE = (
    GPT_TRAINER
    + """
from tinytorch import kernels
fused, linear_grads = kernels.fused, kernels.linear_grads
def numpy_attention(*arrays):
    return fused(*arrays) and not (len(arrays) == 1 and arrays[0].shape[-1:] == (3 * p.config.n_embd,))
def dx_then_dw(dy, x, w, take_dw):
    dx = kernels.matmul_nt(dy, w)
    take_dw(kernels.matmul_tn(x, dy))
    return dx
variants = {
    "attention on numpy, dW after dx (before)": (numpy_attention, dx_then_dw),
    "+ the SIMD attention core": (fused, dx_then_dw),
    "+ dW on the helper while dx runs (after)": (fused, linear_grads),
}
times = {name: [] for name in variants}
for round_ in range(STEPS + 2):
    for name, (attention_check, backward_products) in variants.items():
        kernels.fused, kernels.linear_grads = attention_check, backward_products
        start = time.perf_counter()
        trainer.fit(1)
        if round_ >= 2:
            times[name].append(time.perf_counter() - start)
kernels.fused, kernels.linear_grads = fused, linear_grads
per_step = p.batch_size * p.config.block_size
out = {name: {"median_ms": 1000 * statistics.median(t), "best_ms": 1000 * min(t),
              "tokens_per_s": per_step / statistics.median(t)} for name, t in times.items()}
print(json.dumps(out))
"""
)


def run_site(site: Path, steps: int, breakdown: bool, ablate: bool):
    """One kernel of `site`: (timings, breakdown or None), as IN_THE_KERNEL and BREAKDOWN print them."""
    with course_kernel(site) as page:
        printed = page.evaluate(RUN, IN_THE_KERNEL.replace("STEPS", str(steps)).replace("THE_GPT", THE_GPT))
        ablation = page.evaluate(RUN, ABLATE.replace("STEPS", str(steps))) if ablate else None
        parts = page.evaluate(RUN, BREAKDOWN.replace("STEPS", str(steps))) if breakdown else None  # wraps, so last
    last = lambda text: json.loads(text.strip().splitlines()[-1])  # noqa: E731
    return last(printed), parts and last(parts), ablation and last(ablation)


def report(title: str, result: dict, breakdown, ablation) -> None:
    print(f"{title}: cross-origin isolated {result['isolated']}; helper thread: {result['helper']}")
    anchor = ANCHOR_TOKENS_PER_SECOND
    for label in ("gpt 2x4x128 T64 B12", "browser preset"):
        for n, r in result[label].items():
            print(
                f"  {label}, {n} thread{'s' if n != '1' else ''}: {r['median_ms']:.1f} ms/step "
                f"(best {r['best_ms']:.1f}), {r['tokens_per_s']:,.0f} tokens/s "
                f"({r['tokens_per_s'] / anchor:.2f}x the anchor's {anchor:,})"
            )
    if breakdown:
        print(f"  where the GPT's step goes, two threads ({breakdown['step_ms']:.1f} ms/step on average):")
        for part, ms in sorted(breakdown["parts_ms"].items(), key=lambda item: -item[1]):
            print(f"    {part:66s} {ms:5.1f} ms  {100 * ms / breakdown['step_ms']:4.1f}%")
    if ablation:
        print("  this round's changes, the GPT's step with two threads, alternated step by step in this kernel:")
        for name, r in ablation.items():
            print(
                f"    {name:44s} {r['median_ms']:5.1f} ms (best {r['best_ms']:.1f}), {r['tokens_per_s']:,.0f} tokens/s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", type=Path, nargs="+", help="built sites (several: e.g. before and after)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1, help="sites alternated this many times, a fresh kernel each")
    parser.add_argument("--breakdown", action="store_true", help="also: where the GPT's step goes, two threads")
    parser.add_argument("--ablate", action="store_true", help="also: this round's changes off and on, step by step")
    args = parser.parse_args()
    runs = {site: [] for site in args.sites}
    for round_ in range(args.rounds):
        for site in args.sites:
            result, breakdown, ablation = run_site(site, args.steps, args.breakdown, args.ablate)
            runs[site].append(result)
            report(f"round {round_ + 1}, {site}", result, breakdown, ablation)
    if args.rounds > 1:
        print(f"medians over {args.rounds} rounds (each a median of {args.steps} steps):")
        for site, results in runs.items():
            cells = []
            for label in ("gpt 2x4x128 T64 B12", "browser preset"):
                for n in ("1", "2"):
                    ms = statistics.median(r[label][n]["median_ms"] for r in results)
                    first = results[0][label][n]
                    tokens = first["tokens_per_s"] * first["median_ms"] / 1000  # per step
                    cells.append(f"{label}, {n} thread(s): {ms:.1f} ms ({1000 * tokens / ms:,.0f} tokens/s)")
            print(f"  {site}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
