"""Positional encodings: the (T, d_model) matrix as a heatmap, and the dot-product
similarity between positions (T, T), which shows that nearby positions look alike.

Works on the fixed sinusoidal table (default) or on any (T, C) position matrix, e.g. a
trained model's learned position embedding, to compare the two."""

from __future__ import annotations

import numpy as np

from . import svg as S
from ._inputs import to_numpy
from .view import View

PANEL = 320  # pixels per heatmap side


def sinusoidal_table(T: int, d_model: int) -> np.ndarray:
    """(T, d_model) sinusoidal encodings: tinytorch.nn.sinusoidal_positions when available,
    else the same formula here (PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...))."""
    try:
        from tinytorch.nn import sinusoidal_positions
    except Exception:  # an older or half-built tinytorch.nn: the formula below is the same
        sinusoidal_positions = None
    if callable(sinusoidal_positions):
        return np.asarray(to_numpy(sinusoidal_positions(T, d_model)), dtype=np.float64)
    pos = np.arange(T, dtype=np.float64)[:, None]
    freq = np.exp(-np.log(10000.0) * np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    table = np.empty((T, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: d_model // 2])
    return table


def _matrix(source, T, d_model):
    if source is None:
        return sinusoidal_table(T, d_model), "sinusoidal"
    if isinstance(source, (int, np.integer)):
        return sinusoidal_table(int(source), d_model), "sinusoidal"
    if hasattr(source, "table") and not isinstance(source, np.ndarray):  # PositionalEncoding
        return np.asarray(to_numpy(source.table), dtype=np.float64)[:T], "sinusoidal"
    if hasattr(source, "weight") and not isinstance(source, np.ndarray):  # a learned Embedding
        return np.asarray(to_numpy(source.weight), dtype=np.float64), "learned"
    m = np.asarray(to_numpy(source, "positional encodings"), dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"positional encodings must be a (T, d_model) matrix, got shape {m.shape}")
    return m, "given"


def _axis_ticks(x, y, length, n, vertical, label):
    """Tick labels every few positions along one side of a panel."""
    out = []
    ticks = S.nice_ticks(0, max(n - 1, 1), 6)
    step = max(1, int(round(ticks[1] - ticks[0]))) if len(ticks) > 1 else 1
    for k in range(0, n, step):
        t = (k + 0.5) / n * length
        if vertical:
            out.append(S.text(x - 4, y + t, str(k), size=9, anchor="end", baseline="middle", fill="#444"))
        else:
            out.append(S.text(x + t, y + 12, str(k), size=9, anchor="middle", fill="#444"))
    if vertical:
        out.append(
            S.text(
                x - 30,
                y + length / 2,
                label,
                size=11,
                anchor="middle",
                fill="#333",
                transform=f"rotate(-90 {S.coord(x - 30)} {S.coord(y + length / 2)})",
            )
        )
    else:
        out.append(S.text(x + length / 2, y + 28, label, size=11, anchor="middle", fill="#333"))
    return "".join(out)


def positional_view(
    source=None, *, T: int = 64, d_model: int = 64, normalize: bool = False, title: str | None = None
) -> View:
    """Heatmap of positional encodings (T, d_model) and their similarity PE @ PE.T (T, T).

    Args:
        source: None (sinusoidal, T x d_model), an int T, a (T, d_model) array/Tensor, a
            PositionalEncoding (its table), or a learned position Embedding (its weight).
        normalize: cosine similarity instead of the raw dot product.

    Returns a View (static SVG) with `.encodings` (T, d) and `.similarity` (T, T) attached.
    """
    pe, kind = _matrix(source, int(T), int(d_model))
    n, d = pe.shape
    if n == 0 or d == 0:
        raise ValueError(f"positional encodings are empty (shape {pe.shape}): use T >= 1 and d_model >= 1")
    vecs = pe / np.maximum(np.linalg.norm(pe, axis=1, keepdims=True), 1e-12) if normalize else pe
    sim = vecs @ vecs.T
    if title is None:
        title = f"Positional encodings ({kind}, {n} positions \u00d7 {d} dimensions)"

    left, top, gap = 56, 58, 150
    x2 = left + PANEL + gap
    width, height = x2 + PANEL + 80, top + PANEL + 50
    amp = float(np.abs(pe).max()) or 1.0
    lo, hi = float(sim.min()), float(sim.max())
    scale = max(1, min(4, PANEL // max(n, d)))
    about = (
        f"{title}. Left: each position's encoding as a row of colours, blue negative, red positive "
        f"(values {S.fmt(-amp)} to {S.fmt(amp)}). Right: how similar two positions' encodings are "
        f"({S.fmt(lo)} to {S.fmt(hi)}); nearby positions are most alike."
    )
    parts = [
        S.svg_open(width, height, about, class_="tt-positional"),
        S.text(left, 18, title, size=14, fill="#111", font_weight="600", class_="tt-title"),
        S.text(left, top - 8, "encoding PE[position, dimension]", size=12, fill="#333"),
        S.text(
            x2,
            top - 8,
            "similarity " + ("cos(PE[i], PE[j])" if normalize else "PE[i] \u00b7 PE[j]"),
            size=12,
            fill="#333",
        ),
        S.image(
            left,
            top,
            PANEL,
            PANEL,
            S.heatmap_data_uri(pe, -amp, amp, "diverging", scale=scale),
            class_="tt-pe",
            data_rows=n,
            data_cols=d,
        ),
        S.image(
            x2,
            top,
            PANEL,
            PANEL,
            S.heatmap_data_uri(sim, lo, hi, "viridis", scale=scale),
            class_="tt-similarity",
            data_rows=n,
            data_cols=n,
        ),
        _axis_ticks(left, top, PANEL, n, True, "position"),
        _axis_ticks(left, top + PANEL, PANEL, d, False, "dimension"),
        _axis_ticks(x2, top, PANEL, n, True, "position i"),
        _axis_ticks(x2, top + PANEL, PANEL, n, False, "position j"),
        S.colorbar(left + PANEL + 10, top + 16, 140, -amp, amp, "diverging", label="value"),
        S.colorbar(x2 + PANEL + 10, top + 16, 140, lo, hi, "viridis", label="similarity"),
        "</svg>",
    ]
    svg = "".join(parts)
    view = View(f'<div class="tt-viz tt-positional-view">{svg}</div>', svg, title)
    view.encodings, view.similarity = pe, sim
    return view
