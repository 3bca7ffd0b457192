"""Short training runs for notebook 4's experiments: ablations, the loss ladder one component at a
time, and three "mystery" GPTs with a planted bug each, to diagnose from their symptoms.

    run = train_briefly(config, steps, training_step, loss_fn, train_data, val_data)
    compare_curves({"full": run, "no residual": other}, ladder={"bigram": 2.5})   # an SVG View

`train_briefly` is a plain loop around the student's own training step (no trainer), so the runs
are small, seeded and independent of the trainer's settings.
"""

import dataclasses

import numpy as np

from ..models import TinyGPT
from ..nn.attention import MultiHeadAttention, causal_mask
from ..nn.module import eval_mode
from ..tensor import Tensor, no_grad
from ..text.batches import get_batch

COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#57606a"]


def train_briefly(
    config_or_model, steps, training_step, loss_fn, train_data, val_data, batch_size=16, lr=3e-3, eval_batches=8, seed=0
) -> dict:
    """Train a fresh TinyGPT(config) (or the given model) for `steps` steps with `training_step`.

    Returns {"steps": [1..steps], "train": [loss per step], "val": validation loss at the end,
    "grad_norms": {parameter name: gradient norm at the last step}, "model": the model}."""
    from .. import manual_seed

    manual_seed(seed)
    model = TinyGPT(config_or_model) if not hasattr(config_or_model, "parameters") else config_or_model
    optimizer = model.configure_optimizers(weight_decay=0.01, lr=lr)
    T = model.config.block_size
    train = [
        float(training_step(model, loss_fn, optimizer, *get_batch(train_data, batch_size, T), max_norm=1.0))
        for _ in range(steps)
    ]
    grad_norms = {
        name: (0.0 if p.grad is None else float(np.linalg.norm(p.grad))) for name, p in model.named_parameters()
    }
    generator = np.random.default_rng(1234)
    losses = []
    with no_grad(), eval_mode(model):
        for _ in range(eval_batches):
            starts = generator.integers(0, len(val_data) - T - 1, size=batch_size)
            idx = np.stack([val_data[s : s + T] for s in starts]).astype(np.int64)
            targets = np.stack([val_data[s + 1 : s + T + 1] for s in starts]).astype(np.int64)
            losses.append(float(loss_fn(model(idx), targets).item()))
    return {
        "steps": list(range(1, steps + 1)),
        "train": train,
        "val": float(np.mean(losses)),
        "grad_norms": grad_norms,
        "model": model,
    }


def _smooth(values, window=10):
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    head = [values[: i + 1].mean() for i in range(window - 1)]
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])


def compare_curves(runs: dict, ladder: dict = None, title: str = "Training loss", width=760, height=300):
    """One SVG with the (smoothed) training loss of every run, its final validation loss in the legend,
    and the ladder's levels as dashed lines. runs: {name: train_briefly(...) result}."""
    from ..viz import svg as S
    from ..viz.view import View

    ladder = dict(ladder or {})
    curves = {name: _smooth(run["train"]) for name, run in runs.items()}
    ys = [v for c in curves.values() for v in c] + list(ladder.values())
    lo, hi = min(ys), max(ys)
    lo, hi = max(0.0, lo - 0.05 * (hi - lo)), hi + 0.05 * (hi - lo)
    left, top, plot_w, plot_h = 50, 30, width - 260, height - 60
    steps = max(len(c) for c in curves.values())

    def xy(i, v):
        return left + plot_w * i / max(steps - 1, 1), top + plot_h * (hi - v) / (hi - lo or 1.0)

    parts = [S.svg_open(width, height, title), S.text(left, 18, title, size=13)]
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d0d7de"/>')
    for tick in S.nice_ticks(lo, hi):
        _, y = xy(0, tick)
        if top <= y <= top + plot_h:
            parts.append(S.text(left - 6, y + 4, S.fmt(tick, 3), size=10, anchor="end"))
    for name, level in ladder.items():
        _, y = xy(0, level)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#8c959f" '
            f'stroke-dasharray="4 3"/>'
        )
        parts.append(S.text(left + plot_w - 4, y - 3, f"{name} {level:.2f}", size=10, anchor="end"))
    for k, (name, curve) in enumerate(curves.items()):
        color = COLORS[k % len(COLORS)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(curve)))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        ly = top + 14 + 18 * k
        parts.append(
            f'<line x1="{left + plot_w + 16}" y1="{ly - 4}" x2="{left + plot_w + 36}" y2="{ly - 4}" '
            f'stroke="{color}" stroke-width="3"/>'
        )
        parts.append(S.text(left + plot_w + 42, ly, f"{name}: val {runs[name]['val']:.3f}", size=11))
    parts.append(S.text(left + plot_w / 2, height - 8, "step (training loss, smoothed)", size=11, anchor="middle"))
    parts.append("</svg>")
    markup = "".join(parts)
    return View(f'<div class="tt-compare">{markup}</div>', svg=markup, title=title)


class AttentionOnlyGPT(TinyGPT):
    """The ladder's first rung above the bigram: embeddings, attention and the head, no MLP.

    Built from a config with residual=False and layer_norm=False: each block is attention alone."""

    def forward(self, idx, targets=None):
        idx = np.asarray(idx, dtype=np.int64)
        x = self.token_embedding(idx) + self.position_embedding.weight[: idx.shape[1]]
        for block in self.blocks:
            x = block.attn(x)
        return self.lm_head(x)


# --------------------------------------------------------------------------- the ladder

#: Steps each rung of the ladder trains. At the ablations' 150 steps "+ MLP" and "+ attention" were within
#: seed noise of each other (a bare block's MLP sits on the only path of the signal, with no residual around
#: it, and starts slower); after LADDER_STEPS steps, each at its own learning rate, every rung up to a full
#: block is clearly below the one before, and the second block still trails one block in every seed: two
#: blocks start more slowly (benchmarks/course_ladder.py, results/course_ladder.json; the notebook says so).
LADDER_STEPS = 400

#: Each rung's peak learning rate: the best of benchmarks/course_ladder.py's grid for that rung after
#: LADDER_STEPS steps (mean over seeds), so no rung loses for want of a learning rate that suits it.
LADDER_LR = {"+ attention": 1e-2, "+ MLP": 1e-2, "+ residual, LayerNorm": 1e-2, "+ a second block": 6e-3}


def ladder_rungs(config, seed=0) -> dict:
    """The ladder above the bigram, one component at a time, from a two-block `config`:
    {name: (fresh model, its learning rate)}, each model initialised from `seed`.

    + attention             embeddings, one attention layer, the head (no MLP, no residual, no LayerNorm)
    + MLP                   a bare block: attention, then the MLP
    + residual, LayerNorm   one full block
    + a second block        `config` itself (two full blocks)"""
    from .. import manual_seed

    bare = dataclasses.replace(config, n_layer=1, residual=False, layer_norm=False)
    builders = {
        "+ attention": lambda: AttentionOnlyGPT(bare),
        "+ MLP": lambda: TinyGPT(bare),
        "+ residual, LayerNorm": lambda: TinyGPT(dataclasses.replace(config, n_layer=1)),
        "+ a second block": lambda: TinyGPT(config),
    }
    rungs = {}
    for name, build in builders.items():
        manual_seed(seed)
        rungs[name] = (build(), LADDER_LR[name])
    return rungs


# --------------------------------------------------------------------------- mystery models


class _LeakyAttention(MultiHeadAttention):
    """Multi-head attention whose mask was forgotten: every position also sees the future."""

    def forward(self, x, cache=None):
        B, T, C = x.shape
        H, d = self.num_heads, C // self.num_heads
        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))
        weights = ((q @ k.transpose(0, 1, 3, 2)) * (1.0 / np.sqrt(d))).softmax(axis=-1)
        self.attention_weights = weights.data
        return self.proj((weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C))


class _MaskedAttention(_LeakyAttention):
    """The same attention with its mask (what the leaky one should have been); keeps weights for the views."""

    def forward(self, x, cache=None):
        B, T, C = x.shape
        H, d = self.num_heads, C // self.num_heads
        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))
        scores = ((q @ k.transpose(0, 1, 3, 2)) * (1.0 / np.sqrt(d))).masked_fill(causal_mask(T), -np.inf)
        weights = scores.softmax(axis=-1)
        self.attention_weights = weights.data
        return self.proj((weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C))


class MysteryGPT(TinyGPT):
    """A TinyGPT with one planted bug (which one is the puzzle). Its forward is written out, like yours."""

    def __init__(self, config, bug: str):
        super().__init__(config)
        self.bug = bug
        for block in self.blocks:
            attention = (_LeakyAttention if bug == "future" else _MaskedAttention)(config.n_embd, config.n_head)
            attention.load_state_dict(block.attn.state_dict())
            block.attn = attention

    def forward(self, idx, targets=None):
        idx = np.asarray(idx, dtype=np.int64)
        T = idx.shape[1]
        tokens = self.token_embedding(idx)
        if self.bug == "frozen":
            tokens = Tensor(tokens.data)  # the embedding's gradient path is cut
        x = tokens if self.bug == "positions" else tokens + self.position_embedding.weight[:T]
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def attention_maps(self, idx) -> np.ndarray:
        ids = np.asarray(idx, dtype=np.int64).reshape(1, -1)
        with no_grad(), eval_mode(self):
            self(ids)
        return np.stack([block.attn.attention_weights[0] for block in self.blocks])

    def __repr__(self) -> str:
        return f"MysteryGPT({self.num_parameters():,} parameters, one planted bug)"


BUGS = ("future", "positions", "frozen")


def mystery_models(config, seed=0) -> dict:
    """{"A", "B", "C"}: three GPTs, each with one of BUGS planted, in an order fixed by `seed` (not by name)."""
    from .. import manual_seed

    order = np.random.default_rng(seed).permutation(len(BUGS))
    models = {}
    for label, k in zip("ABC", order):
        manual_seed(0)
        models[label] = MysteryGPT(config, BUGS[k])
    return models
