"""Render time and HTML size of every tinytorch.viz view at the issue's size:
T=64 tokens, 4 layers x 4 heads (targets: <= 1 s natively, <= 300 KB of HTML each).

For scale, the same run also times the naive way to draw the attention grid (one SVG
<rect> with a fill colour per cell) and prints each view's time and size against it.

    python benchmarks/viz_render.py
    PYTHONPATH=. $TINYGPT_NOBLAS_PYTHON benchmarks/viz_render.py   # numpy without BLAS (browser stand-in)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinytorch import viz  # noqa: E402
from tinytorch.viz import svg as S  # noqa: E402

L, H, T = 4, 4, 64
TIME_LIMIT, SIZE_LIMIT = 1.0, 300_000
TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 2)[:T]


def attention(seed: int, sharpness: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(L, H, T, T)) * sharpness
    s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def naive_rect_grid(w: np.ndarray) -> str:
    """The reference: one <rect> per cell, colour computed per cell."""
    table = S.colormap_table("viridis", 256)
    top = float(w.max())
    out = [S.svg_open(L * T * 4, H * T * 4)]
    for l in range(L):
        for h in range(H):
            q = S.quantize(w[l, h], 0.0, top, 256)
            for i in range(T):
                for j in range(T):
                    out.append(
                        f'<rect x="{h * T * 4 + j * 4}" y="{l * T * 4 + i * 4}" width="4" height="4" '
                        f'fill="{S.hex_color(table[q[i, j]])}"/>'
                    )
    out.append("</svg>")
    return "".join(out)


def main(repeats: int = 5):
    w = attention(0)
    snapshots = [(step, attention(k, sharpness=0.3 * k)) for k, step in enumerate(range(0, 2400, 200))]
    history = [
        {
            "step": s,
            "train_loss": 4.2 * np.exp(-s / 800) + 1.5,
            "elapsed": 0.2 * s,
            "val_loss": 4.2 * np.exp(-s / 800) + 1.6 if s % 100 == 0 else None,
        }
        for s in range(1, 3001)
    ]
    logits = np.random.default_rng(1).normal(size=65) * 2
    vocab = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    views = {
        "reference: naive <rect> grid": lambda: naive_rect_grid(w),
        "attention_heatmap (4x4 grid)": lambda: viz.attention_heatmap(w, TEXT).html,
        "attention_heatmap (one head)": lambda: viz.attention_heatmap(w, TEXT, layer=3, head=1).html,
        "head_view (4x4)": lambda: viz.head_view(w, TEXT).html,
        "attention_timelapse (8 of 12 snapshots)": lambda: viz.attention_timelapse(snapshots, TEXT).html,
        "timelapse_small_multiples (6 x 4)": lambda: viz.timelapse_small_multiples(snapshots, TEXT).html,
        "loss_curves (3000 steps, ladder)": lambda: viz.loss_curves(history, ladder={"bigram": 2.5}).html,
        "positional_view (64 x 64)": lambda: viz.positional_view(T=T, d_model=64).html,
        "next_token_view (3 temperatures)": lambda: (
            viz.next_token_view(logits, prompt=TEXT, labels=vocab, temperature=[0.5, 1.0, 2.0]).html
        ),
    }
    times = {name: [] for name in views}
    sizes = {}
    for name, fn in views.items():  # warm-up (imports, caches)
        sizes[name] = len(fn().encode("utf-8"))
    for _ in range(repeats):  # interleaved, so load from other processes hits every view alike
        for name, fn in views.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)

    ref_t = statistics.median(times["reference: naive <rect> grid"])
    ref_s = sizes["reference: naive <rect> grid"]
    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, T={T}, {L} layers x {H} heads, "
        f"median of {repeats} interleaved runs"
    )
    print(f"{'view':42s} {'time ms':>9s} {'x naive':>8s} {'size KB':>9s} {'x naive':>8s}  target")
    ok = True
    for name in views:
        t, s = statistics.median(times[name]), sizes[name]
        reference = name.startswith("reference")
        good = reference or (t <= TIME_LIMIT and s <= SIZE_LIMIT)
        ok &= good
        print(
            f"{name:42s} {t * 1e3:9.1f} {t / ref_t:8.3f} {s / 1e3:9.1f} {s / ref_s:8.3f}  "
            f"{'-' if reference else ('ok' if good else 'OVER')}"
        )
    print("all views within 1 s and 300 KB" if ok else "SOME VIEWS ARE OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
