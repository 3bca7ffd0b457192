"""Notebook 3 · The transformer block: LayerNorm, GELU, a pre-LN block, sinusoidal positions."""

import math

import numpy as np

from .registry import register
from .verdicts import (
    backward_with,
    check_shape,
    check_true,
    compare,
    compare_gradients,
    compare_module_gradients,
    delegated,
    float64,
    needs_tensor,
    randomize,
    refuse_library,
    run_like_reference,
    tensor64,
    tripwire,
)

# --------------------------------------------------------------------------- 3.1 layer_norm

HINTS_LAYER_NORM = [
    "Over which axis do you normalise: the batch, the time steps, or each token's channels?",
    "Each token vector is centred and rescaled to unit spread using its own statistics (the plain mean over "
    "its C channels); eps keeps a constant vector from dividing by zero; then the learned scale and shift.",
]

_LN = "def layer_norm(x, weight, bias, eps=1e-5):\n"
WRONG_LAYER_NORM = [
    (
        _LN + "    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
        "    var = (c * c).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)\n"
        "    return c / (var + eps).sqrt() * weight + bias",
        "unbiased",
    ),
    (
        _LN + "    m = x.mean(axis=0, keepdims=True); c = x - m\n"
        "    var = (c * c).mean(axis=0, keepdims=True)\n    return c / (var + eps).sqrt() * weight + bias",
        "axis 0",
    ),
    (
        _LN + "    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
        "    var = (c * c).mean(axis=-1, keepdims=True)\n    return c / (var + eps) * weight + bias",
        "standard deviation",
    ),
    (
        _LN + "    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
        "    var = (c * c).mean(axis=-1, keepdims=True)\n    return c / (var.sqrt() + eps) * weight + bias",
        "outside",
    ),
    (
        _LN + "    m = tt.Tensor(x.data.mean(axis=-1, keepdims=True)); c = x - m\n"
        "    var = (c * c).mean(axis=-1, keepdims=True)\n    return c / (var + eps).sqrt() * weight + bias",
        "gradient of",
    ),
    (_LN + "    return tt.nn.functional.layer_norm(x, weight, bias, eps)", "library"),
    (
        _LN + "    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
        "    var = (c * c).mean(axis=-1, keepdims=True)\n    return (c / (var + eps).sqrt() + bias) * weight",
        "shift",
    ),
]


def _np_layer_norm(x, w, b, eps=1e-5, axis=-1, ddof=0):
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _library_layer_norm():
    from ...nn import functional as F

    return F.layer_norm


@register("3.1", "layer_norm", HINTS_LAYER_NORM, WRONG_LAYER_NORM, library=_library_layer_norm, keep=True)
def check_layer_norm(layer_norm):
    rng = np.random.default_rng(31)
    data = rng.standard_normal((2, 3, 8)) * 5 + 3
    data[0, 1] = 2.5  # a constant token vector: its variance is 0
    data[1, 2] = 0.7 + rng.standard_normal(8) * 1e-3  # a nearly constant one: eps matters
    w, b = 1 + rng.standard_normal(8) * 0.5, rng.standard_normal(8)
    x, wt, bt = tensor64(data), tensor64(w), tensor64(b)
    with float64():
        out = layer_norm(x, wt, bt)
    needs_tensor(out, "layer_norm")
    refuse_library(out, {"layer_norm": "tinytorch's fused layer_norm"})
    check_shape(out, (2, 3, 8), "the output")
    got = np.asarray(out.data)
    if not np.all(np.isfinite(got[0, 1])):
        raise AssertionError(
            "a constant token vector gave nan: its variance is 0, so add eps INSIDE the square root "
            "(sqrt(var + eps)) before dividing"
        )
    centred = data - data.mean(-1, keepdims=True)
    compare(
        out,
        _np_layer_norm(data, w, b),
        "layer_norm (compared with a reference)",
        [
            (
                _np_layer_norm(data, w, b, ddof=1),
                "the variance is the unbiased one (divides by C - 1): LayerNorm "
                "divides by C (the plain mean of the squared deviations)",
            ),
            (
                _np_layer_norm(data, w, b, axis=0),
                "normalised over axis 0 (the batch): normalise each token vector, the LAST axis",
            ),
            (
                centred / ((centred**2).mean(-1, keepdims=True) + 1e-5) * w + b,
                "divided by the variance: divide by the standard deviation, sqrt(var + eps)",
            ),
            (
                centred / (np.sqrt((centred**2).mean(-1, keepdims=True)) + 1e-5) * w + b,
                "eps is added outside the "
                "square root: sqrt(var + eps), as in the formula (it matters for nearly constant vectors)",
            ),
            (
                (centred / np.sqrt((centred**2).mean(-1, keepdims=True) + 1e-5) + b) * w,
                "the shift is scaled too: scale first, then add bias",
            ),
            (_np_layer_norm(data, w, b) - b, "the shift (bias) is missing"),
            (_np_layer_norm(data, 1.0, b), "the scale (weight) is missing"),
            (
                centred * np.sqrt((centred**2).mean(-1, keepdims=True) + 1e-5) * w + b,
                "multiplied by the standard deviation: divide by it",
            ),
        ],
        atol=1e-4,
    )
    backward_with(out)
    with float64():
        from ...nn import functional as F

        xr, wr, br = tensor64(data), tensor64(w), tensor64(b)
        backward_with(F.layer_norm(xr, wr, br))
    compare_gradients(
        {"x": x.grad, "weight": wt.grad, "bias": bt.grad},
        {"x": xr.grad, "weight": wr.grad, "bias": br.grad},
        "layer_norm",
    )


# --------------------------------------------------------------------------- 3.2 gelu

HINTS_GELU = [
    "Transcribe the formula factor by factor: which parts are constants, which Tensor operations?",
    "Every factor of the formula must be a Tensor operation on x (constants can be plain floats), so that "
    "backward sees the whole expression; the tanh exists as a Tensor method.",
]

WRONG_GELU = [
    ("def gelu(x):\n    return x * 0.5 * ((x + x * x * x * 0.044715).tanh() + 1.0)", "√(2/π)"),
    ("def gelu(x):\n    return x * 0.5 * (((x + x * x * 0.044715) * float(np.sqrt(2 / np.pi))).tanh() + 1.0)", "x²"),
    ("def gelu(x):\n    return x * (((x + x * x * x * 0.044715) * float(np.sqrt(2 / np.pi))).tanh() + 1.0)", "½ x"),
    (
        "def gelu(x):\n    t = np.tanh((x.data + 0.044715 * x.data ** 3) * np.sqrt(2 / np.pi))\n"
        "    return x * 0.5 * (t + 1.0)",
        "gradient of",
    ),
    ("def gelu(x):\n    return x.gelu()", "library"),
    ("def gelu(x):\n    return x * (x * 1.702).sigmoid()", "sigmoid"),
    ("def gelu(x):\n    return x.relu()", "ReLU"),
]


def _np_gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def _library_gelu():
    from ...nn import functional as F

    return F.gelu


@register("3.2", "gelu", HINTS_GELU, WRONG_GELU, library=_library_gelu, keep=True)
def check_gelu(gelu):
    xs = np.concatenate([np.linspace(-5, 5, 21), np.random.default_rng(32).standard_normal(11) * 2]).reshape(4, 8)
    x = tensor64(xs)
    with float64():
        y = gelu(x)
    needs_tensor(y, "gelu")
    refuse_library(y, {"gelu": "tinytorch's fused gelu (Tensor.gelu / F.gelu)"})
    check_shape(y, xs.shape, "gelu of a (4, 8) Tensor")
    c = np.sqrt(2.0 / np.pi)
    exact = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))(xs)
    compare(
        y,
        _np_gelu(xs),
        "gelu on [-5, 5]",
        [
            (xs * (1.0 + np.tanh(c * (xs + 0.044715 * xs**3))), "twice too large: the formula starts with ½ x"),
            (0.5 * xs * (1.0 + np.tanh(c * (xs + 0.044715 * xs**2))), "x² where the formula has x³"),
            (0.5 * xs * (1.0 + np.tanh(xs + 0.044715 * xs**3)), "the factor √(2/π) inside the tanh is missing"),
            (np.maximum(xs, 0), "that is ReLU: GELU is its smooth version, slightly negative for small negative x"),
            (xs / (1 + np.exp(-1.702 * xs)), "that is the sigmoid approximation x·σ(1.702x): write GPT-2's tanh form"),
            (exact, "that is the exact GELU with erf: this course uses GPT-2's tanh form, as in the formula"),
        ],
        atol=1e-6,
    )
    backward_with(y)
    xr = tensor64(xs)
    with float64():
        from ...nn import functional as F

        backward_with(F.gelu(xr))
    compare_gradients({"x": x.grad}, {"x": xr.grad}, "gelu")


# --------------------------------------------------------------------------- 3.3 the block

HINTS_BLOCK = [
    "Pre-LN: where exactly is each LayerNorm, and what is added to what?",
    "The stream x is only ever added to; each sublayer reads its own normalised copy of the stream as it "
    "is at that moment, and its output joins the stream.",
]

_BL = "class MyBlock(MyBlock):\n    def forward(self, x):\n"
WRONG_BLOCK = [
    (_BL + "        x = self.ln1(x + self.attn(x))\n        return self.ln2(x + self.mlp(x))", "post-LN"),
    (_BL + "        x = x + self.attn(self.ln1(x))\n        return self.mlp(self.ln2(x))", "second residual"),
    (_BL + "        h = x + self.attn(self.ln1(x))\n        return h + self.mlp(self.ln2(x))", "ORIGINAL x"),
    (_BL + "        x = x + self.attn(self.ln1(x))\n        return x + self.mlp(self.ln1(x))", "ln1"),
    (_BL + "        x = x + self.mlp(self.ln2(x))\n        return x + self.attn(self.ln1(x))", "order"),
    (
        _BL + "        self.residual = self.layer_norm = True\n        return tt.nn.TransformerBlock.forward(self, x)",
        "library",
    ),
]


def _library_block():
    from ...nn import TransformerBlock

    return TransformerBlock


@register("3.3", "MyBlock.forward", HINTS_BLOCK, WRONG_BLOCK, library=_library_block, keep=True)
def check_block(MyBlock):
    from ... import manual_seed
    from ...nn import TransformerBlock
    from ...tensor import Tensor

    C, H, B, T = 12, 3, 2, 5
    manual_seed(0)
    r = TransformerBlock(C, H)
    randomize(r, 33)  # LayerNorms no longer the identity: ln1 and ln2 cannot stand in for each other
    mine = MyBlock(C, H)
    data = np.random.default_rng(33).standard_normal((B, T, C))
    x, out = run_like_reference(mine, r, "MyBlock", data)
    check_shape(out, (B, T, C), "the output")
    xr = Tensor(data, requires_grad=True)
    want = r(xr)
    a = r.attn(r.ln1(x)).data
    h = data + a
    post = r.ln1(x + r.attn(x)).data
    mistakes = [
        (
            r.ln2(Tensor(post) + r.mlp(Tensor(post))).data,
            "that is post-LN (x = LN(x + f(x))): this block is pre-LN, "
            "x = x + f(LN(x)), and the residual stream itself is never normalised",
        ),
        (a + r.mlp(r.ln2(Tensor(a))).data, "the first residual addition is missing: x = x + attn(ln1(x))"),
        (h + r.mlp(r.ln2(x)).data, "the MLP reads ln2 of the ORIGINAL x: it must read the x updated by attention"),
        (r.mlp(r.ln2(Tensor(h))).data, "the second residual addition is missing: x = x + mlp(ln2(x))"),
        (
            h + r.mlp(r.ln1(Tensor(h))).data,
            "the MLP reads ln1: each sublayer has its own LayerNorm (ln2 before the MLP)",
        ),
    ]
    h_swap = data + r.attn(r.ln2(x)).data
    mistakes.append(
        (
            h_swap + r.mlp(r.ln1(Tensor(h_swap))).data,
            "ln1 and ln2 are swapped: ln1 before the attention, ln2 before the MLP",
        )
    )
    h_raw = data + r.attn(x).data
    mistakes.append(
        (
            h_raw + r.mlp(Tensor(h_raw)).data,
            "the LayerNorms are missing: each sublayer reads a normalised "
            "copy of the stream, attn(ln1(x)) and mlp(ln2(x))",
        )
    )
    hm = data + r.mlp(r.ln2(x)).data
    mistakes.append(
        (
            hm + r.attn(r.ln1(Tensor(hm))).data,
            "the order is swapped: attention first (tokens gather information), then the MLP",
        )
    )
    compare(out, want, "MyBlock (compared with tinytorch.nn.TransformerBlock)", mistakes, atol=1e-4)
    compare_module_gradients(out, want, mine, r, "MyBlock", seed=3, x=x, xr=xr)


# --------------------------------------------------------------------------- 3.4 sinusoidal positions

HINTS_SINUSOIDAL = [
    "Which columns are sines, which cosines, and which frequency does each pair share?",
    "All the angles form a (T, d_model / 2) grid: positions down, one frequency per channel pair across; "
    "the sines and cosines of that grid interleave into the table's columns.",
]

_SN = "def sinusoidal(T, d):\n    pos = np.arange(T)[:, None]; two_i = np.arange(0, d, 2)[None, :]\n"
WRONG_SINUSOIDAL = [
    (
        "_s = sinusoidal\ndef sinusoidal(T, d):\n    t = _s(T, d); out = t.copy()\n"
        "    out[:, 0::2], out[:, 1::2] = t[:, 1::2], t[:, 0::2]\n    return out",
        "swapped",
    ),
    (
        _SN + "    a = pos * 10000.0 ** (-two_i.astype(float)); t = np.zeros((T, d))\n"
        "    t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)\n    return t",
        "not divided by d_model",
    ),
    (
        _SN + "    a = pos * 10000.0 ** (two_i / d); t = np.zeros((T, d))\n"
        "    t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)\n    return t",
        "sign",
    ),
    (
        _SN + "    a = (pos + 1) * 10000.0 ** (-two_i / d); t = np.zeros((T, d))\n"
        "    t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)\n    return t",
        "start at 0",
    ),
    (
        "def sinusoidal(T, d):\n    pos = np.arange(T)[:, None]; i = np.arange(d // 2)[None, :]\n"
        "    a = pos * 10000.0 ** (-i / d); t = np.zeros((T, d))\n"
        "    t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)\n    return t",
        "2i",
    ),
    ("def sinusoidal(T, d):\n    return tt.nn.sinusoidal_positions(T, d)", "library"),
]


def _library_sinusoidal():
    from ...nn import sinusoidal_positions

    return sinusoidal_positions


def _table(T, d, angles):
    table = np.zeros((T, d))
    table[:, 0::2], table[:, 1::2] = np.sin(angles), np.cos(angles)
    return table


@register("3.4", "sinusoidal", HINTS_SINUSOIDAL, WRONG_SINUSOIDAL, library=_library_sinusoidal)
def check_sinusoidal(sinusoidal):
    from ... import nn
    from ...nn import positional

    T, d = 11, 12
    with tripwire(
        {
            "tinytorch.nn.sinusoidal_positions": (nn, "sinusoidal_positions"),
            "tinytorch.nn.positional.sinusoidal_positions": (positional, "sinusoidal_positions"),
        }
    ) as called:
        table = sinusoidal(T, d)
    delegated(called, "sinusoidal")
    check_shape(table, (T, d), f"sinusoidal({T}, {d}) (T, d_model)")
    pos = np.arange(T, dtype=np.float64)[:, None]
    two_i = np.arange(0, d, 2, dtype=np.float64)[None, :]
    want = _table(T, d, pos * 10000.0 ** (-two_i / d))
    swapped = np.empty((T, d))
    swapped[:, 0::2], swapped[:, 1::2] = want[:, 1::2], want[:, 0::2]
    per_channel = np.empty((T, d))
    angles = pos * 10000.0 ** (-np.arange(d)[None, :] / d)
    per_channel[:, 0::2], per_channel[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    compare(
        table,
        want,
        "the table (compared with tinytorch.nn.sinusoidal_positions)",
        [
            (swapped, "sin and cos are swapped: even channels (0, 2, ...) hold the sines"),
            (
                _table(T, d, pos * 10000.0 ** (-two_i)),
                "the exponent is not divided by d_model: ω_i = 10000^(-2i / d_model)",
            ),
            (
                _table(T, d, pos * 10000.0 ** (two_i / d)),
                "the exponent's sign is wrong: ω_i = 10000^(-2i / d_model) shrinks from 1 (fast) to tiny (slow)",
            ),
            (
                _table(T, d, (pos + 1) * 10000.0 ** (-two_i / d)),
                "positions start at 1: they start at 0 (row 0 is sin 0 = 0, cos 0 = 1)",
            ),
            (
                _table(T, d, pos * 10000.0 ** (-(two_i / 2) / d)),
                "the exponent uses i where the formula has 2i (i counts channel PAIRS)",
            ),
            (per_channel, "each cosine uses its own channel's frequency: channels 2i and 2i + 1 share ω_i"),
            (
                np.concatenate([np.sin(pos * 10000.0 ** (-two_i / d)), np.cos(pos * 10000.0 ** (-two_i / d))], axis=1),
                "the sines fill the first half and the cosines the second: they interleave (sines in the even columns "
                "0, 2, 4, ..., cosines in the odd ones)",
            ),
        ],
    )


# --------------------------------------------------------------------------- 3.5 a backward pass of your own

HINTS_BACKWARD = [
    "Write the Jacobian's entry ∂y_i/∂x_j for both cases i = j and i ≠ j. Which of them does every output "
    "of the row feed into the gradient of x_j?",
    "The gradient reaching x_j is a sum over the row's outputs of grad_i · ∂y_i/∂x_j; one reduction over "
    "the softmax's own axis (kept, so that it broadcasts) collects it for all j at once. The closure may "
    "use what the forward computed, never `out` itself.",
]

_BW = (
    "def softmax_op(x):\n    e = np.exp(x.data - x.data.max(axis=-1, keepdims=True))\n"
    "    y = e / e.sum(axis=-1, keepdims=True)\n    out = tt.Tensor._from_op(y, (x,), 'softmax_op')\n"
    "    def _backward(grad):\n"
)
_BW_END = "\n    return out._with_backward(_backward)"
WRONG_BACKWARD = [
    (_BW + "        x._accumulate(y * grad)" + _BW_END, "missing"),
    (_BW + "        x._accumulate(y * (grad - (grad * y).sum(axis=-1)))" + _BW_END, "keepdims"),
    (_BW + "        x._accumulate(y * (grad - (grad * y).sum(axis=0, keepdims=True)))" + _BW_END, "axis"),
    (
        _BW + "        x._accumulate(out.data * (grad - (grad * out.data).sum(axis=-1, keepdims=True)))" + _BW_END,
        "cycle",
    ),
    (_BW + "        x._accumulate(y * ((grad * y).sum(axis=-1, keepdims=True) - grad))" + _BW_END, "sign"),
    ("def softmax_op(x):\n    return x.softmax(axis=-1)", "library"),
]


def _np_softmax_rows(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _library_softmax_op():
    return lambda x: x.softmax(axis=-1)


@register("3.5", "softmax_op backward", HINTS_BACKWARD, WRONG_BACKWARD, library=_library_softmax_op)
def check_softmax_backward(softmax_op):
    import gc
    import weakref

    from ...gradcheck import gradcheck

    rng = np.random.default_rng(35)
    data = rng.standard_normal((3, 4, 6)) * 2
    x = tensor64(data)
    with float64():
        out = softmax_op(x)
    needs_tensor(out, "softmax_op")
    refuse_library(out, {"softmax": "Tensor.softmax", "log_softmax": "Tensor.log_softmax"})
    check_true(
        out._parents and out._parents[0] is x and len(out._parents) == 1 and out._backward is not None,
        "softmax_op must be one op: Tensor._from_op(y, (x,), ...) with x as its only parent and its own "
        "_backward (not a composition of Tensor methods, whose backward would be the library's)",
    )
    compare(out, _np_softmax_rows(data), "softmax_op's forward")
    try:
        backward_with(out)
    except ValueError as error:
        raise AssertionError(
            f"your _backward crashed on a (3, 4, 6) input ({error}): a sum over the last axis loses "
            "that axis; keep it (keepdims=True) so that it broadcasts against y"
        ) from None
    y = _np_softmax_rows(data)
    g = np.random.default_rng(0).standard_normal(data.shape)
    want = y * (g - (g * y).sum(axis=-1, keepdims=True))
    check_true(x.grad is not None, "no gradient reached x: call x._accumulate(...) with dLoss/dx in _backward")
    compare(
        x.grad,
        want,
        "the gradient your _backward passes to x",
        [
            (y * g, "the term −y_j · Σ_i grad_i y_i is missing: every output of the row depends on x_j, not only y_j"),
            (
                g - (g * y).sum(axis=-1, keepdims=True),
                "the factor y_j in front is missing: dL/dx_j = y_j (grad_j − Σ_i grad_i y_i)",
            ),
            (-want, "the sign is wrong: dL/dx_j = y_j (grad_j − Σ_i grad_i y_i)"),
            (
                y * (g - (g * y).sum(axis=0, keepdims=True)),
                "the sum runs over the wrong axis: over the softmax's own axis (-1), the outputs of the same row",
            ),
        ],
    )
    x.grad = None
    with float64():
        backward_with(softmax_op(x))
        backward_with(softmax_op(x))
    if np.allclose(x.grad, want, atol=1e-6):
        raise AssertionError(
            "after two backward passes the gradient is that of one: your _backward sets x.grad "
            "instead of adding to it (gradients add up across backward calls): use x._accumulate(...)"
        )
    compare(x.grad, 2 * want, "the gradient after two backward passes (they must add up)")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with float64():
            probe = softmax_op(tensor64(data))
        alive = weakref.ref(probe)
        del probe
        freed = alive() is None
    finally:
        if was_enabled:
            gc.enable()
    check_true(
        freed,
        "your _backward keeps a reference to `out` (a reference cycle out → closure → out, so the "
        "graph waits for the garbage collector): use the forward's own arrays (y), not out.data",
    )
    small = tensor64(rng.standard_normal((2, 5)))
    with float64():
        gradcheck(softmax_op, [small])
