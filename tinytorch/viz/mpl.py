"""matplotlib versions of the main figures, for local Jupyter and papers (optional extra:
`pip install tinytorch[plot]`). The course itself never needs this module.

Each function takes the same inputs as its SVG twin and returns a matplotlib Figure (closed
in pyplot, so a notebook shows it once: when it is the cell's result, or via display(fig)).
"""

from __future__ import annotations

import numpy as np

try:
    import matplotlib
    import matplotlib.pyplot as plt
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tinytorch.viz.mpl needs matplotlib (pip install matplotlib); the SVG views in tinytorch.viz work without it"
    ) from exc

from ._inputs import attention_source, is_causal, pick
from .curves import _series, history_rows
from .positional import positional_view
from .probabilities import next_token_view
from .svg import token_labels


def _done(fig):
    plt.close(fig)  # keep pyplot from showing it a second time
    return fig


def _cmap(name, bad="#e8e8e8"):
    return matplotlib.colormaps[name].with_extremes(bad=bad)


def attention_heatmap(
    source,
    tokens=None,
    *,
    text=None,
    tokenizer=None,
    layer=None,
    head=None,
    batch=0,
    vmax=None,
    causal=None,
    cell_inches: float | None = None,
):
    """Attention heatmap(s) with matplotlib: one head, or a layers x heads grid of axes.

    Same inputs as tinytorch.viz.attention_heatmap. Returns a Figure; the grid's axes are in
    `fig.axes` (one per (layer, head), row-major) plus the colour bar.
    """
    weights, labels, _ = attention_source(source, tokens, text=text, tokenizer=tokenizer, batch=batch)
    L, H, T, _ = weights.shape
    layers, heads = pick(L, layer, "layer"), pick(H, head, "head")
    W = weights[np.ix_(layers, heads)].astype(np.float64)
    causal = is_causal(W) if causal is None else causal
    top = float(W.max()) if vmax is None else float(vmax)
    if causal:
        W = np.where(np.triu(np.ones((T, T), dtype=bool), 1), np.nan, W)
    nr, nc = len(layers), len(heads)
    size = cell_inches or (6.0 if nr * nc == 1 else min(3.0, 12.0 / nc))
    fig, axes = plt.subplots(nr, nc, figsize=(size * nc + 1.2, size * nr + 0.6), squeeze=False, constrained_layout=True)
    labs = token_labels(labels)
    show_ticks = T <= 64
    im = None
    for r, l in enumerate(layers):
        for c, h in enumerate(heads):
            ax = axes[r, c]
            im = ax.imshow(W[r, c], cmap=_cmap("viridis"), vmin=0.0, vmax=top or 1.0, interpolation="nearest")
            ax.set_title(f"layer {l} \u00b7 head {h}", fontsize=9)
            if show_ticks:
                ax.set_xticks(range(T))
                ax.set_yticks(range(T))
                fs = max(3.0, min(9.0, 400.0 / (T * max(nr, nc))))
                ax.set_xticklabels(labs if r == nr - 1 else [], fontsize=fs, family="monospace")
                ax.set_yticklabels(labs if c == 0 else [], fontsize=fs, family="monospace")
                ax.tick_params(length=0)
            if r == nr - 1:
                ax.set_xlabel("key (looked at)")
            if c == 0:
                ax.set_ylabel("query (looking)")
    fig.colorbar(im, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle("Attention" + (" (causal: grey = masked future)" if causal else ""))
    return _done(fig)


def loss_curves(history, ladder: dict | None = None):
    """Train/val loss against step and elapsed time, with dashed loss-ladder lines."""
    rows = history_rows(history)
    has_time = any(r.get("elapsed") is not None for r in rows)
    fig, axes = plt.subplots(
        1, 2 if has_time else 1, figsize=(11 if has_time else 6, 3.6), squeeze=False, constrained_layout=True
    )
    for ax, key, label in zip(axes[0], ("step", "elapsed"), ("step", "elapsed time (s)")):
        tx, ty = _series(rows, key, "train_loss")
        vx, vy = _series(rows, key, "val_loss")
        ax.plot(tx, ty, color="#1f77b4", lw=1.2, label="train")
        if len(vx):
            ax.plot(vx, vy, color="#d62728", marker="o", ms=3, lw=1.2, label="validation")
        for name, value in (ladder or {}).items():
            ax.axhline(float(value), color="#777", ls="--", lw=1)
            ax.annotate(
                f"{name} {float(value):.3g}",
                (1.0, float(value)),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color="#555",
            )
        ax.set_xlabel(label)
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right")
    fig.suptitle("Training loss")
    return _done(fig)


def positional(source=None, *, T: int = 64, d_model: int = 64, normalize: bool = False):
    """Positional encodings (T, d_model) and their similarity (T, T), side by side."""
    view = positional_view(source, T=T, d_model=d_model, normalize=normalize)
    pe, sim = view.encodings, view.similarity
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    amp = float(np.abs(pe).max()) or 1.0
    fig.colorbar(a.imshow(pe, cmap="RdBu_r", vmin=-amp, vmax=amp, aspect="auto", interpolation="nearest"), ax=a)
    a.set_title("encoding PE[position, dimension]")
    a.set_xlabel("dimension")
    a.set_ylabel("position")
    fig.colorbar(b.imshow(sim, cmap="viridis", interpolation="nearest"), ax=b)
    b.set_title("cosine similarity" if normalize else "dot-product similarity PE[i]\u00b7PE[j]")
    b.set_xlabel("position j")
    b.set_ylabel("position i")
    fig.suptitle(view.title)
    return _done(fig)


def next_token(source, prompt=None, tokenizer=None, *, k: int = 10, temperature=1.0, labels=None):
    """Horizontal bars of the top-k next tokens, one panel per temperature."""
    view = next_token_view(source, prompt, tokenizer, k=k, temperature=temperature, labels=labels)
    temps = list(view.top)
    fig, axes = plt.subplots(
        1,
        len(temps),
        figsize=(3.6 * len(temps) + 0.5, 0.32 * len(view.top[temps[0]]) + 1.4),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, t in zip(axes[0], temps):
        rows = view.top[t]
        names = token_labels([lab for lab, _ in rows])
        probs = [p for _, p in rows]
        ax.barh(range(len(rows)), probs, color="#1f77b4")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(names, family="monospace")
        ax.invert_yaxis()
        ax.set_xlim(0, max(1e-9, max(probs)) * 1.25)
        for y, p in enumerate(probs):
            ax.text(p, y, f" {p:.3f}", va="center", fontsize=8)
        ax.set_title(f"temperature {t:g}" + (" (greedy)" if t == 0 else ""), fontsize=10)
        ax.set_xlabel("probability")
    fig.suptitle(view.title)
    return _done(fig)


__all__ = ["attention_heatmap", "loss_curves", "positional", "next_token"]
