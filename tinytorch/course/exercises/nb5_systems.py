"""Notebook 5 · ML systems: parameters, training memory and FLOPs from a config alone."""

import dataclasses

from ...nn.transformer import GPT_MLP_RATIO
from .registry import register
from .verdicts import check_equal, check_true, tripwire


def _configs():
    from ...models import TinyGPTConfig

    return [
        TinyGPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64),
        TinyGPTConfig(vocab_size=50, block_size=8, n_layer=3, n_head=2, n_embd=16),
        TinyGPTConfig(vocab_size=67, block_size=24, n_layer=1, n_head=4, n_embd=96, mlp_ratio=3),
    ]


def _gpt_mlp_only(count, config):
    """What `count` gives for `config` had its MLP been GPT's 4C wide: a formula that ignores mlp_ratio."""
    return count(dataclasses.replace(config, mlp_ratio=GPT_MLP_RATIO))


# --------------------------------------------------------------------------- 5.1 count_parameters

HINTS_COUNT = [
    "Go through the table above row by row; which rows depend on L?",
    "Two tables at the bottom, L identical blocks in the middle (each with its LayerNorms, attention and MLP, "
    "biases included; the MLP's width comes from the config), one LayerNorm and the head at the top.",
]

_CP = "_cp = count_parameters\ndef count_parameters(c):\n"
WRONG_COUNT = [
    (_CP + "    return _cp(c) - c.block_size * c.n_embd", "position embedding"),
    (_CP + "    return _cp(c) - c.n_layer * (5 + c.mlp_ratio) * c.n_embd", "biases"),
    (_CP + "    return _cp(c) - c.n_embd * c.vocab_size", "head"),
    (
        "def count_parameters(c):\n    V, T, C, L = c.vocab_size, c.block_size, c.n_embd, c.n_layer\n"
        "    return V * C + T * C + L * (4 * C + 4 * C * C + 4 * C + 8 * C * C + 5 * C) + 2 * C + C * V",
        "mlp_ratio",
    ),
    ("def count_parameters(c):\n    return tt.models.TinyGPT(c).num_parameters()", "builds"),
]


def _library_count(config):
    """From the config alone (a GPT-3 config must not build a 175-billion-parameter model)."""
    V, T, C, L, r = config.vocab_size, config.block_size, config.n_embd, config.n_layer, config.mlp_ratio
    return V * C + T * C + L * (4 * C + 4 * C * C + 4 * C + 2 * r * C * C + r * C + C) + 2 * C + C * V


@register("5.1", "count_parameters", HINTS_COUNT, WRONG_COUNT, library=lambda: _library_count)
def check_count(count_parameters):
    from ...models import TinyGPT

    for cfg in _configs():
        V, T, C, L, r = cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer, cfg.mlp_ratio
        want = TinyGPT(cfg).num_parameters()
        with tripwire({"TinyGPT(...)": (TinyGPT, "__init__")}) as called:
            got = count_parameters(cfg)
        if called:
            raise AssertionError(
                "count_parameters builds the model (TinyGPT(config)): count from the config's fields "
                "alone, so that it also works for a GPT-3 config that would never fit in memory"
            )
        what = f"count_parameters(n_layer={L}, n_embd={C}, mlp_ratio={r}, vocab={V}, block={T})"
        for wrong, message in [
            (want - T * C, "the position embedding (T·C) is missing"),
            (
                want - L * (4 * C + 4 * C + (r + 1) * C) - 2 * C,
                "the biases and LayerNorm parameters are missing: "
                "count every bias and every LayerNorm's weight and bias",
            ),
            (
                want - L * (4 + r + 1) * C,
                f"the biases are missing (4C in attention and {r + 1}C in the MLP, per block)",
            ),
            (want - C * V, "the head (C·V) is missing"),
            (want - V * C, "the token embedding (V·C) is missing"),
            (
                _gpt_mlp_only(_library_count, cfg) if r != GPT_MLP_RATIO else None,
                f"this config's MLP is {r}C wide, not 4C: use r = config.mlp_ratio",
            ),
        ]:
            if got == wrong:
                raise AssertionError(f"{what} = {got:,}, expected {want:,}: {message}")
        check_equal(got, want, what)


# --------------------------------------------------------------------------- 5.2 adamw_memory_bytes

HINTS_MEMORY = [
    "How many numbers does AdamW keep for every weight, besides the weight itself?",
    "Count the numbers kept per parameter during training (the weight, its gradient, the optimizer's running "
    "averages), then turn numbers into bytes with the given size.",
]

_MEM = "def adamw_memory_bytes(n, bytes_per_number=4):\n    w = n * bytes_per_number\n"
WRONG_MEMORY = [
    (_MEM + "    return {'weights': w, 'gradients': w, 'optimizer': w, 'total': 3 * w}", "TWO running averages"),
    (
        "def adamw_memory_bytes(n, bytes_per_number=4):\n    w = n * 4\n"
        "    return {'weights': w, 'gradients': w, 'optimizer': 2 * w, 'total': 4 * w}",
        "bytes_per_number",
    ),
    (_MEM + "    return {'weights': w, 'gradients': w, 'optimizer': 2 * w, 'total': 3 * w}", "total"),
    (_MEM + "    return {'weights': w, 'gradients': 0, 'optimizer': 2 * w, 'total': 3 * w}", "gradient"),
]


def _library_memory(n_params, bytes_per_number=4):
    each = n_params * bytes_per_number
    return {"weights": each, "gradients": each, "optimizer": 2 * each, "total": 4 * each}


@register("5.2", "adamw_memory_bytes", HINTS_MEMORY, WRONG_MEMORY, library=lambda: _library_memory)
def check_memory(adamw_memory_bytes):
    n = 1237
    m = adamw_memory_bytes(n)
    check_true(isinstance(m, dict), f"return a dict, got {type(m).__name__}")
    missing = {"weights", "gradients", "optimizer", "total"} - set(m)
    check_true(not missing, f"the dict is missing {sorted(missing)}")
    check_equal(m["weights"], 4 * n, f"weights for {n} float32 parameters (bytes)")
    if m["gradients"] != 4 * n:
        raise AssertionError(f"gradients is {m['gradients']}: training keeps one gradient per weight, {4 * n} bytes")
    if m["optimizer"] == 4 * n:
        raise AssertionError(f"optimizer is {4 * n} bytes: AdamW keeps TWO running averages per weight (m and v)")
    check_equal(m["optimizer"], 8 * n, f"AdamW's two moments for {n} float32 parameters")
    parts = m["weights"] + m["gradients"] + m["optimizer"]
    check_true(m["total"] == parts, f"the total is {m['total']}, but weights + gradients + optimizer = {parts}")
    check_equal(
        adamw_memory_bytes(10, bytes_per_number=2)["total"],
        80,
        "the total for 10 float16 parameters (use bytes_per_number)",
    )


# --------------------------------------------------------------------------- 5.3 forward_flops_per_token

HINTS_FLOPS = [
    "How many FLOPs is one multiply-add? Which term depends on the context?",
    "Every weight that takes part in a matrix product costs one multiply-add per token (embeddings are "
    "lookups); attention adds work proportional to the number of keys it looks at.",
]

_FL = "def forward_flops_per_token(c, context=None):\n    T = c.block_size if context is None else context\n"
WRONG_FLOPS = [
    (
        _FL + "    w = c.n_layer * (4 + 2 * c.mlp_ratio) * c.n_embd ** 2\n"
        "    return w + c.n_embd * c.vocab_size + c.n_layer * 2 * T * c.n_embd",
        "2 FLOPs",
    ),
    (
        "def forward_flops_per_token(c, context=None):\n    T = c.block_size\n"
        "    w = c.n_layer * (4 + 2 * c.mlp_ratio) * c.n_embd ** 2\n"
        "    return 2 * (w + c.n_embd * c.vocab_size) + c.n_layer * 4 * T * c.n_embd",
        "context=1",
    ),
    (
        _FL
        + "    return 2 * (c.n_layer * 12 * c.n_embd ** 2 + c.n_embd * c.vocab_size) + c.n_layer * 4 * T * c.n_embd",
        "mlp_ratio",
    ),
    (
        _FL + "    w = c.n_layer * (4 + 2 * c.mlp_ratio) * c.n_embd ** 2\n"
        "    return 2 * w + c.n_layer * 4 * T * c.n_embd",
        "head",
    ),
]


def _library_flops(config, context=None):
    T = config.block_size if context is None else context
    C, L, V, r = config.n_embd, config.n_layer, config.vocab_size, config.mlp_ratio
    return 2 * (L * (4 + 2 * r) * C * C + C * V) + L * 4 * T * C


@register("5.3", "forward_flops_per_token", HINTS_FLOPS, WRONG_FLOPS, library=lambda: _library_flops)
def check_flops(forward_flops_per_token):
    for cfg in (_configs()[0], _configs()[2]):
        C, L, V, T, r = cfg.n_embd, cfg.n_layer, cfg.vocab_size, cfg.block_size, cfg.mlp_ratio
        want = _library_flops(cfg)
        got = forward_flops_per_token(cfg)
        weights = L * (4 + 2 * r) * C * C
        for wrong, message in [
            (weights + C * V + L * 2 * T * C, "half the expected count: a multiply-add is 2 FLOPs"),
            (2 * weights + L * 4 * T * C, "the head's C·V product is missing"),
            (2 * (weights + C * V), "attention's 4·T·C per layer is missing"),
            (
                2 * (weights + C * V + V * C) + L * 4 * T * C,
                "the token embedding is counted as a product: it is a lookup (no multiply-adds)",
            ),
            (
                _gpt_mlp_only(_library_flops, cfg) if r != GPT_MLP_RATIO else None,
                f"this config's MLP is {r}C wide, not 4C: its two products are 2·r·C² with r = config.mlp_ratio",
            ),
        ]:
            if got == wrong:
                raise AssertionError(f"forward_flops_per_token = {got:,}, expected {want:,}: {message}")
        check_equal(
            got, want, f"forward_flops_per_token(config with C={C}, L={L}, V={V}, block_size={T}, mlp_ratio={r})"
        )
    cfg = _configs()[0]
    got1 = forward_flops_per_token(cfg, context=1)
    if got1 == _library_flops(cfg):
        raise AssertionError("context=1 gave the same count as the full block: use T = context when it is given")
    check_equal(got1, _library_flops(cfg, 1), "forward_flops_per_token(config, context=1)")
