"""Next-token probabilities: for a prompt, the top-k next characters and their
probabilities at one or more sampling temperatures (softmax(logits / temperature))."""

from __future__ import annotations

import numpy as np

from . import svg as S
from ._inputs import decode_each, to_numpy
from .view import View

BAR_W = 200  # pixels for probability 1 (or the largest probability shown)
ROW_H = 20


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (V,) from logits (V,) at a temperature; 0 means greedy (all mass on the argmax)."""
    from ..models.generation import next_token_probabilities  # the one numpy softmax: sampling uses it too

    return next_token_probabilities(logits, float(temperature))


def next_logits(model, tokenizer, prompt: str) -> np.ndarray:
    """The model's logits (V,) for the token after `prompt` (cropped to its block_size)."""
    if tokenizer is None:
        raise ValueError("pass the tokenizer that encodes the prompt: next_token_view(model, prompt, tokenizer=tok)")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty str: the model predicts the character that follows it")
    ids = np.asarray(tokenizer.encode(prompt), dtype=np.int64).reshape(-1)
    block = getattr(getattr(model, "config", None), "block_size", None)
    if block is not None:
        ids = ids[-int(block) :]  # the model only sees its last block_size tokens, as when generating
    import tinytorch

    with tinytorch.nn.eval_mode(model), tinytorch.no_grad():  # no dropout while we look
        out = model(ids[None, :])
    out = np.asarray(to_numpy(out, "model output"), dtype=np.float64)
    return out.reshape(-1, out.shape[-1])[-1]


def next_token_view(
    source,
    prompt: str | None = None,
    tokenizer=None,
    *,
    k: int = 10,
    temperature=1.0,
    labels=None,
    title: str | None = None,
) -> View:
    """Bar chart of the top-k next tokens and their probabilities.

    Args:
        source: a model (called on the encoded `prompt`; uses the last position's logits)
            or raw logits: (V,), or (T, V) / (1, T, V) whose last row is used.
        prompt, tokenizer: the text to continue and the tokenizer (labels come from it).
        k: how many of the most likely tokens to show.
        temperature: a float (>= 0; 0, or below 1e-6, = greedy) or a list of them, one panel each.
        labels: the vocabulary as a str/list, when no tokenizer is given for raw logits.

    Returns a View (static SVG) with `.probabilities` {temperature: (V,) array} and `.top`
    {temperature: [(label, p), ...]}.
    """
    is_model = callable(source) and not isinstance(source, np.ndarray) and not hasattr(source, "data")
    if is_model:
        logits = next_logits(source, tokenizer, prompt)
    else:
        logits = np.asarray(to_numpy(source, "logits"), dtype=np.float64)
        logits = logits.reshape(-1, logits.shape[-1])[-1] if logits.ndim > 1 else logits
    V = logits.shape[0]
    if labels is not None:
        vocab = list(labels)
        if len(vocab) != V:
            raise ValueError(f"labels has {len(vocab)} entries but the logits have {V}: pass one label per token")
    else:
        vocab = decode_each(tokenizer, range(V)) if tokenizer is not None else [f"#{i}" for i in range(V)]
    temps = list(temperature) if isinstance(temperature, (list, tuple, np.ndarray)) else [temperature]
    from ..models.generation import GREEDY_TEMPERATURE, check_temperature  # the one home of the rule

    for t in temps:
        try:
            check_temperature(t)
        except ValueError:
            raise ValueError(
                f"temperature={t!r} must be >= 0, a finite number (0 = always the most likely token)"
            ) from None
    if not np.all(np.isfinite(logits)):
        raise ValueError("the logits contain NaN or inf: the model has diverged (check the loss)")
    k = int(max(1, min(k, V)))

    probs = {float(t): softmax_with_temperature(logits, float(t)) for t in temps}
    top = {}
    for t, p in probs.items():
        order = np.argsort(-p, kind="stable")[:k]
        top[t] = [(vocab[i], float(p[i])) for i in order]
    pmax = max(v for rows in top.values() for _, v in rows) or 1.0

    if title is None:
        if prompt:
            tail = S.visible_token(prompt[-30:])
            ellipsis = "\u2026" if len(prompt) > 30 else ""
            title = f"Next token after \u201c{ellipsis}{tail}\u201d"
        else:
            title = "Next-token probabilities"
    label_w = max(70, max(len(S.visible_token(lab)) for lab in vocab) * 8 + 12)
    col_w = label_w + BAR_W + 60
    left, top_y = 16, 62
    # Wide enough for the title too (a long prompt's title was cut at the panel's edge).
    width = max(left + col_w * len(temps) + 10, left + S.text_width(title, 14) + 10)
    height = top_y + ROW_H * (k + 1) + 16
    about = f"{title}. " + "; ".join(
        f"temperature {S.fmt(t)}: " + ", ".join(f"{S.visible_token(lab)} {p:.3f}" for lab, p in rows)
        for t, rows in top.items()
    )
    parts = [
        S.svg_open(width, height, about, class_="tt-next-token", data_panels=len(temps), data_k=k),
        S.text(left, 20, title, size=14, fill="#111", font_weight="600", class_="tt-title"),
    ]
    for c, (t, rows) in enumerate(top.items()):
        x0 = left + c * col_w
        rest = 1.0 - sum(p for _, p in rows)
        parts.append(f'<g class="tt-temperature" data-temperature="{S.fmt(t)}">')
        greedy = " (greedy)" if t < GREEDY_TEMPERATURE else ""
        parts.append(S.text(x0, 46, f"temperature {S.fmt(t)}{greedy}", size=12, fill="#333"))
        for r, (lab, p) in enumerate(rows):
            y = top_y + r * ROW_H
            bar = max(0.0, p / pmax * BAR_W)
            parts.append(
                f'<g class="tt-bar" data-p="{p:.4f}">'
                + S.text(
                    x0 + label_w - 8,
                    y + ROW_H / 2,
                    S.visible_token(lab),
                    size=13,
                    anchor="end",
                    baseline="middle",
                    family=S.FONT,
                    class_="tt-token",
                )
                + f'<rect x="{S.coord(x0 + label_w)}" y="{S.coord(y + 3)}" width="{S.coord(bar)}" '
                f'height="{ROW_H - 6}" fill="{S.SERIES[0]}" fill-opacity="0.85"/>'
                + S.text(x0 + label_w + bar + 5, y + ROW_H / 2, f"{p:.3f}", size=11, baseline="middle", fill="#333")
                + "</g>"
            )
        if V > k:
            y = top_y + k * ROW_H
            parts.append(
                S.text(
                    x0 + label_w - 8,
                    y + ROW_H / 2,
                    f"other {V - k}",
                    size=11,
                    anchor="end",
                    baseline="middle",
                    fill="#666",
                )
                + S.text(
                    x0 + label_w + 5, y + ROW_H / 2, f"{max(rest, 0.0):.3f}", size=11, baseline="middle", fill="#666"
                )
            )
        parts.append("</g>")
    parts.append("</svg>")
    svg = "".join(parts)
    view = View(f'<div class="tt-viz tt-next-token-view">{svg}</div>', svg, title)
    view.probabilities, view.top, view.logits = probs, top, logits
    return view
