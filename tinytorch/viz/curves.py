"""Training curves: train and validation loss against step and against elapsed time, with
optional "loss ladder" reference lines (e.g. {"uniform": 4.17, "bigram": 2.5}), and a
`LiveLossCurve` that redraws one notebook output in place while `fit` runs."""

from __future__ import annotations

import math

import numpy as np

from . import svg as S
from .view import View

TRAIN_COLOR, VAL_COLOR, LADDER_COLOR = "#1f77b4", "#d62728", "#777"
MAX_POINTS = 600  # a polyline needs no more points than a panel has pixels


def history_rows(history) -> list[dict]:
    """Per-step dicts from a trainer (anything with `.history`) or a list of dicts or StepRecords."""
    rows = getattr(history, "history", history)
    if rows is None:
        return []
    if isinstance(rows, dict):
        raise TypeError(
            "history must be a list of dicts (one per logged step), e.g. trainer.history, not a single dict"
        )
    rows = [row.as_dict() if hasattr(row, "as_dict") else row for row in rows]  # a trainer's StepRecords
    for k, row in enumerate(rows):
        if not isinstance(row, dict) or "step" not in row:
            raise TypeError(f"history[{k}] must be a dict with at least 'step' and 'train_loss', got {row!r}")
    return rows


def _series(rows, xkey, ykey):
    """(x, y) float arrays of the rows where both keys hold finite numbers."""
    xs, ys = [], []
    for row in rows:
        x, y = row.get(xkey), row.get(ykey)
        if x is None or y is None:
            continue
        x, y = float(x), float(y)
        if math.isfinite(x) and math.isfinite(y):
            xs.append(x)
            ys.append(y)
    return np.asarray(xs), np.asarray(ys)


def _thin(x, y, limit=MAX_POINTS):
    if len(x) <= limit:
        return x, y
    keep = np.unique(np.r_[np.linspace(0, len(x) - 1, limit).astype(np.int64), len(x) - 1])
    return x[keep], y[keep]


LABEL_GAP = 12  # pixels between two reference labels (10 px text)


def _spread(ys: list[float], gap: float) -> list[float]:
    """Label heights near `ys` but at least `gap` apart (close losses would overlap), order kept."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [float(ys[i]) for i in order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    # Centre the moved group on the original levels rather than pushing everything down.
    shift = (sum(placed) - sum(ys[i] for i in order)) / max(len(placed), 1)
    out = [0.0] * len(ys)
    for k, i in enumerate(order):
        out[i] = placed[k] - shift
    return out


def _panel(ox, oy, w, h, rows, xkey, xlabel, ladder, ylo, yhi, xscale=1.0):
    """One loss-vs-x panel at (ox, oy) of size (w, h) as SVG."""
    tx, ty = _series(rows, xkey, "train_loss")
    vx, vy = _series(rows, xkey, "val_loss")
    allx = np.r_[tx, vx] * xscale
    xlo, xhi = (float(allx.min()), float(allx.max())) if len(allx) else (0.0, 1.0)
    if xhi <= xlo:
        xhi = xlo + 1.0

    def X(v):  # data x -> pixels
        return ox + (v * xscale - xlo) / (xhi - xlo) * w

    def Y(v):  # loss -> pixels
        return oy + h - (v - ylo) / (yhi - ylo) * h

    out = [
        f'<g class="tt-curve-panel" data-x="{xkey}">',
        f'<rect x="{ox}" y="{oy}" width="{w}" height="{h}" fill="#fafafa" stroke="#bbb" stroke-width="0.6"/>',
    ]
    for t in S.nice_ticks(ylo, yhi, 5):
        out.append(f'<line x1="{ox}" x2="{ox + w}" y1="{S.coord(Y(t))}" y2="{S.coord(Y(t))}" stroke="#e4e4e4"/>')
        out.append(S.text(ox - 5, Y(t), S.fmt(t), size=10, anchor="end", baseline="middle", fill="#444"))
    for t in S.nice_ticks(xlo, xhi, 5):
        x = X(t / xscale)
        out.append(f'<line x1="{S.coord(x)}" x2="{S.coord(x)}" y1="{oy + h}" y2="{oy + h + 4}" stroke="#888"/>')
        out.append(S.text(x, oy + h + 15, S.fmt(t, 4), size=10, anchor="middle", fill="#444"))
    out.append(S.text(ox + w / 2, oy + h + 31, xlabel, size=11, anchor="middle", fill="#333"))
    names = list(ladder or {})
    label_ys = _spread([Y(float(ladder[name])) for name in names], LABEL_GAP)
    for name, label_y in zip(names, label_ys):
        value = float(ladder[name])
        y = S.coord(Y(value))
        out.append(
            f'<g class="tt-ladder"><line x1="{ox}" x2="{ox + w}" y1="{y}" y2="{y}" stroke="{LADDER_COLOR}" '
            f'stroke-dasharray="5 4" stroke-width="1"/>'
            + S.text(ox + w + 4, label_y, f"{name[:12]} {S.fmt(value)}", size=10, baseline="middle", fill="#555")
            + "</g>"
        )
    if len(tx):
        px, py = _thin(tx, ty)
        pts = " ".join(f"{S.coord(X(a))},{S.coord(Y(b))}" for a, b in zip(px, py))
        out.append(
            f'<polyline class="tt-train" points="{pts}" fill="none" stroke="{TRAIN_COLOR}" stroke-width="1.5" '
            f'stroke-linejoin="round"/>'
        )
    if len(vx):
        px, py = _thin(vx, vy)
        pts = " ".join(f"{S.coord(X(a))},{S.coord(Y(b))}" for a, b in zip(px, py))
        out.append(f'<polyline class="tt-val" points="{pts}" fill="none" stroke="{VAL_COLOR}" stroke-width="1.5"/>')
        if len(px) <= 60:
            out.extend(
                f'<circle cx="{S.coord(X(a))}" cy="{S.coord(Y(b))}" r="2.5" fill="{VAL_COLOR}"/>'
                for a, b in zip(px, py)
            )
    out.append("</g>")
    return "".join(out)


def loss_curves(
    history, ladder: dict | None = None, title: str | None = None, width: int = 820, height: int = 300
) -> View:
    """Train/validation loss against step (left) and elapsed seconds (right).

    Args:
        history: `trainer.history` (a list of dicts with step, train_loss, val_loss (None
            when not evaluated), elapsed) or the trainer itself.
        ladder: optional reference levels {"name": loss}, drawn as dashed lines, e.g.
            {"uniform": math.log(65), "bigram": 2.5}.

    Returns a View (static SVG). The right panel is left out when no row has `elapsed`.
    """
    rows = history_rows(history)
    if ladder is not None and not isinstance(ladder, dict):
        raise TypeError(f'ladder must be a dict like {{"bigram": 2.5}}, got {type(ladder).__name__}')
    ladder = {str(k): float(v) for k, v in (ladder or {}).items()}
    ys = [v for key in ("train_loss", "val_loss") for v in _series(rows, "step", key)[1]] + list(ladder.values())
    if ys:
        ylo, yhi = min(ys), max(ys)
        pad = 0.06 * (yhi - ylo or 1.0)
        ylo, yhi = max(0.0, ylo - pad), yhi + pad
    else:
        ylo, yhi = 0.0, 1.0
    has_time = any(r.get("elapsed") is not None for r in rows)
    last = rows[-1] if rows else {}
    last_val = next((r["val_loss"] for r in reversed(rows) if r.get("val_loss") is not None), None)
    if title is None:
        title = "Training loss"
    summary = (
        "no steps logged yet"
        if not rows
        else (
            f"step {last.get('step')} \u00b7 train {S.fmt(last.get('train_loss'), 4)}"
            + (f" \u00b7 val {S.fmt(last_val, 4)}" if last_val is not None else "")
            + (f" \u00b7 {_duration(last.get('elapsed'))}" if last.get("elapsed") is not None else "")
        )
    )

    left, top, ph = 48, 50, height - 110
    gap = 100 if ladder else 60  # ladder labels sit right of each panel
    n = 2 if has_time else 1
    pw = (width - left - (gap - 5 if ladder else 20) - (n - 1) * gap) / n
    about = (
        f"{title}: loss against {'step and elapsed time' if has_time else 'step'}; {summary}"
        + ("; reference levels " + ", ".join(f"{k} {S.fmt(v)}" for k, v in ladder.items()) if ladder else "")
        + "."
    )
    parts = [
        S.svg_open(width, height, about, class_="tt-loss-curves", data_panels=n),
        S.text(left, 18, title, size=14, fill="#111", font_weight="600", class_="tt-title"),
        S.text(left, 36, summary, size=11, fill="#555", class_="tt-summary"),
        S.text(
            14,
            top + ph / 2,
            "loss",
            size=11,
            anchor="middle",
            fill="#333",
            transform=f"rotate(-90 14 {S.coord(top + ph / 2)})",
        ),
    ]
    parts.append(_panel(left, top, round(pw, 1), ph, rows, "step", "step", ladder, ylo, yhi))
    if has_time:
        secs = [r["elapsed"] for r in rows if r.get("elapsed") is not None]
        minutes = bool(secs) and max(secs) > 180
        parts.append(
            _panel(
                round(left + pw + gap, 1),
                top,
                round(pw, 1),
                ph,
                rows,
                "elapsed",
                "elapsed time (min)" if minutes else "elapsed time (s)",
                ladder,
                ylo,
                yhi,
                xscale=1 / 60 if minutes else 1.0,
            )
        )
    ly = height - 12

    def legend_line(x, color, style):  # a 22-pixel sample of one series' line
        return f'<line x1="{x}" x2="{x + 22}" y1="{ly}" y2="{ly}" stroke="{color}" {style}/>'

    parts.append(
        '<g class="tt-legend">'
        + legend_line(left, TRAIN_COLOR, 'stroke-width="2"')
        + S.text(left + 27, ly + 4, "train", size=11)
        + legend_line(left + 80, VAL_COLOR, 'stroke-width="2"')
        + f'<circle cx="{left + 91}" cy="{ly}" r="2.5" fill="{VAL_COLOR}"/>'
        + S.text(left + 107, ly + 4, "validation", size=11)
        + (
            legend_line(left + 190, LADDER_COLOR, 'stroke-dasharray="5 4"')
            + S.text(left + 217, ly + 4, "reference (loss ladder)", size=11)
            if ladder
            else ""
        )
        + "</g>"
    )
    parts.append("</svg>")
    svg = "".join(parts)
    view = View(f'<div class="tt-viz tt-loss">{svg}</div>', svg, title)
    view.summary = summary
    return view


def _duration(seconds) -> str:
    s = float(seconds)
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _text_row(row) -> str:
    parts = [f"step {row.get('step'):>6}", f"train {float(row.get('train_loss', float('nan'))):.4f}"]
    if row.get("val_loss") is not None:
        parts.append(f"val {float(row['val_loss']):.4f}")
    if row.get("elapsed") is not None:
        parts.append(_duration(row["elapsed"]))
    return " | ".join(parts)


class LiveLossCurve:
    """A loss plot that updates in place: one notebook output, redrawn on every `update`.

        live = LiveLossCurve(ladder={"bigram": 2.5})
        for chunk in range(10):
            trainer.fit(steps=100)
            live.update(trainer.history)

    Uses an IPython display handle when running under IPython/Jupyter/JupyterLite; elsewhere
    (a plain script, IPython absent) it prints the newest history row as one text line instead.
    """

    def __init__(self, ladder: dict | None = None, title: str | None = None):
        # A copy: the notebook later adds its own result to its `ladder` dict ("TinyGPT"),
        # which must not appear as a stale reference line when training continues.
        self.ladder = dict(ladder) if ladder is not None else None
        self.title = title
        self.view = loss_curves([], ladder, title)
        self._handle = None
        self._printed = 0

    @staticmethod
    def _ipython_display():
        """IPython's (display, HTML) when a kernel/shell is running, else None."""
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            return None
        return (display, HTML) if get_ipython() is not None else None

    def update(self, history) -> LiveLossCurve:
        """Redraw from `history` (trainer.history or the trainer). Returns self."""
        rows = history_rows(history)
        self.view = loss_curves(rows, self.ladder, self.title)
        ipy = self._ipython_display()
        if ipy is None:  # one line per update (not per step: fit calls this at each evaluation)
            if len(rows) > self._printed:
                print(_text_row(rows[-1]), flush=True)
            self._printed = len(rows)
            return self
        display, HTML = ipy
        if self._handle is None:
            self._handle = display(HTML(self.view.html), display_id=True)
        else:
            self._handle.update(HTML(self.view.html))
        return self

    __call__ = update  # so it can be passed wherever a callback(history) is expected

    @property
    def html(self) -> str:
        return self.view.html

    def _repr_html_(self) -> str:
        return self.view.html
