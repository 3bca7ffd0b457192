"""Tokens per second of a training step in the built site's own kernel, in headless Chromium.

    python benchmarks/site_tokens.py site --steps 30

What a student's notebook gets: the course site served as GitHub Pages serves it (plain static
server, cross-origin isolated by its service worker after one reload), a notebook's JupyterLite
kernel, `tinytorch` from the site's wheel. Times simd_speed.py's two models (the issue's GPT,
2 x 4 x 128, context 64, batch 12, and the browser preset) with the trainer's whole step, one
thread against two (tinytorch.wasm.threads), alternated step by step; prints medians, the best
step and tokens/s next to the anchor's figure (simd_speed.ANCHOR_TOKENS_PER_SECOND).
"""

import argparse
import json
from pathlib import Path

from course_page import RUN, course_kernel
from simd_speed import ANCHOR_TOKENS_PER_SECOND

# Runs in the kernel: simd_speed.models() and trainer_for(), written out (the kernel has the wheel,
# not this folder), then `steps` alternated steps per thread setting.
IN_THE_KERNEL = """
import json, statistics, time
import numpy as np, tinytorch
from tinytorch.models import preset
from tinytorch.wasm import threads
browser = preset("browser")
gpt = browser.replace(n_layer=2, n_head=4, n_embd=128, block_size=64, mlp_ratio=4, init_std=0.02, batch_size=12)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    with course_kernel(args.site) as page:
        printed = page.evaluate(RUN, IN_THE_KERNEL.replace("STEPS", str(args.steps)))
    result = json.loads(printed.strip().splitlines()[-1])
    print(
        f"the site's kernel in Chromium: cross-origin isolated {result['isolated']}; helper thread: {result['helper']}"
    )
    for label in ("gpt 2x4x128 T64 B12", "browser preset"):
        for n, r in result[label].items():
            print(
                f"  {label}, {n} thread{'s' if n != '1' else ''}: {r['median_ms']:.1f} ms/step "
                f"(best {r['best_ms']:.1f}), {r['tokens_per_s']:,.0f} tokens/s "
                f"({r['tokens_per_s'] / ANCHOR_TOKENS_PER_SECOND:.2f}x the anchor's {ANCHOR_TOKENS_PER_SECOND:,})"
            )


if __name__ == "__main__":
    main()
