"""Notebook 2 · Attention: a stable softmax, the causal mask, attention, one head, many heads."""

import numpy as np

from .registry import register
from .verdicts import (
    causal_mask_numpy,
    check_equal,
    check_shape,
    check_true,
    compare,
    compare_module_gradients,
    delegated,
    np_softmax,
    randomize,
    refuse_library,
    run_like_reference,
    tripwire,
)

# --------------------------------------------------------------------------- 2.1 softmax

HINTS_SOFTMAX = [
    "Try your function on a (2, 3, 4) array and on [[0, 1], [-1000, -999]]. What shape does x.max(axis) have, "
    "and whose maximum should each slice subtract?",
    "Any constant subtracted inside the exponentials cancels in the ratio; choose one per slice that keeps "
    "every exponent at or below 0, and keep the reduced axis so that it broadcasts.",
]

WRONG_SOFTMAX = [
    (
        "def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=axis))\n    return e / np.sum(e, axis=axis)",
        "keepdims",
    ),
    (
        "def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x))\n    return e / np.sum(e, axis=axis, keepdims=True)",
        "underflow",
    ),
    ("def softmax(x, axis=-1):\n    e = np.exp(x)\n    return e / np.sum(e, axis=axis, keepdims=True)", "overflow"),
    (
        "def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n    return e / e.sum()",
        "WHOLE",
    ),
    (
        "def softmax(x, axis=-1):\n    e = np.exp(x - np.min(x, axis=axis, keepdims=True))\n"
        "    return e / np.sum(e, axis=axis, keepdims=True)",
        "overflow",
    ),
    (
        "def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=0, keepdims=True))\n"
        "    return e / np.sum(e, axis=0, keepdims=True)",
        "axis",
    ),
]


def _library_softmax():
    return lambda x, axis=-1: np_softmax(np.asarray(x, dtype=np.float64), axis)


def _not_finite(got, x, what):
    """A softmax that gave nan/inf: say whether the exponentials overflowed or all underflowed."""
    got = np.asarray(got, dtype=np.float64)
    if np.all(np.isfinite(got)):
        return
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] > 1 and np.any(rows.max(axis=-1) < rows.max() - 700):
        raise AssertionError(
            f"{what} gave nan: a row lies far below the maximum of the WHOLE array, so subtracting "
            "that maximum makes all its exponentials underflow to 0, and 0 / 0 is nan. Subtract "
            "each slice's own maximum along `axis`"
        )
    raise AssertionError(
        f"{what} gave {got.tolist()}: an exponential overflowed to inf (exp(710) already does), and "
        "inf / inf is nan. Subtract each slice's maximum first, so that every exponent is <= 0 "
        "(the constant cancels out)"
    )


@register("2.1", "softmax", HINTS_SOFTMAX, WRONG_SOFTMAX, library=_library_softmax)
def check_softmax(softmax):
    from ...tensor import Tensor

    first = softmax(np.array([1.0, 2.0, 3.0]))
    check_true(
        not isinstance(first, Tensor),
        "softmax returned a Tensor: this exercise works on numpy arrays (np.exp, np.max, np.sum)",
    )
    compare(first, np_softmax(np.array([1.0, 2.0, 3.0])), "softmax([1, 2, 3])")
    m = np.random.default_rng(21).standard_normal((2, 3, 4)) * 3
    try:
        rows = softmax(m)
    except ValueError as error:
        raise AssertionError(
            f"softmax of a (2, 3, 4) array crashed ({error}): the max and the sum along an axis "
            "have one fewer dimension unless you keep it (keepdims=True), so they do not "
            "broadcast against x"
        ) from None
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape == m.shape and not np.allclose(rows.sum(axis=-1), 1.0, atol=1e-6):
        if np.isclose(rows.sum(), 1.0):
            raise AssertionError("softmax of a (2, 3, 4) array sums to 1 over the WHOLE array: sum along `axis` only")
        for axis in range(m.ndim - 1):
            if np.allclose(rows.sum(axis=axis), 1.0, atol=1e-6):
                raise AssertionError(
                    f"softmax of a (2, 3, 4) array sums to 1 along axis {axis}, not along the last "
                    "axis: normalise along `axis`"
                )
    compare(rows, np_softmax(m, -1), "softmax of a (2, 3, 4) array along the last axis")
    along1 = np.asarray(softmax(m, axis=1), dtype=np.float64)
    if along1.shape == m.shape and not np.allclose(along1.sum(axis=1), 1.0, atol=1e-6):
        for axis in (0, 2):
            if np.allclose(along1.sum(axis=axis), 1.0, atol=1e-6):
                raise AssertionError(
                    f"softmax(x, axis=1) sums to 1 along axis {axis}: normalise along the `axis` you "
                    "are given (the max, the exponentials' sum: all along `axis`)"
                )
    compare(
        along1,
        np_softmax(m, 1),
        "softmax(x, axis=1): sums to 1 along axis 1",
        [
            (np_softmax(m, -1), "the `axis` argument is ignored: it always normalises the last axis"),
            (np_softmax(m, 0), "softmax(x, axis=1) normalised along axis 0: use the `axis` argument"),
        ],
    )
    for x in (np.array([1000.0, 1001.0]), np.array([3.0, -800.0]), np.array([[0.0, 1.0], [-1000.0, -999.0]])):
        got = softmax(x)
        _not_finite(got, x, f"softmax({x.tolist()})")
        compare(got, np_softmax(x), f"softmax({x.tolist()})")
    with_inf = np.asarray(softmax(np.array([0.0, -np.inf, 2.0])), dtype=np.float64)
    check_true(
        np.all(np.isfinite(with_inf)),
        f"softmax([0, -inf, 2]) gave {with_inf.tolist()}: a -inf score must get "
        "weight 0, but what you subtract became -inf or nan too. Subtract the slice's maximum (finite as long "
        "as one score is)",
    )
    compare(
        with_inf,
        np_softmax(np.array([0.0, -np.inf, 2.0])),
        "softmax([0, -inf, 2]) (a -inf score gets weight exactly 0)",
    )


# --------------------------------------------------------------------------- 2.2 make_causal_mask

HINTS_MASK = [
    "Which entries are the future for query t: keys before t, t itself, or after t?",
    "Forbidden is exactly the part above the diagonal; numpy can build such triangles, or compare a column "
    "of query positions with a row of key positions.",
]

WRONG_MASK = [
    ("def make_causal_mask(T):\n    return np.triu(np.ones((T, T), dtype=bool))", "diagonal is masked"),
    ("def make_causal_mask(T):\n    return np.tril(np.ones((T, T), dtype=bool))", "inverted"),
    ("def make_causal_mask(T):\n    return np.triu(np.ones((T, T)), k=1)", "dtype"),
    ("def make_causal_mask(T):\n    return np.tril(np.ones((T, T), dtype=bool), k=-1)", "past"),
    ("def make_causal_mask(T):\n    return tt.nn.causal_mask(T)", "library"),
]


def _library_mask():
    return causal_mask_numpy


@register("2.2", "make_causal_mask", HINTS_MASK, WRONG_MASK, library=_library_mask, keep=True)
def check_mask(make_causal_mask):
    from ... import nn
    from ...nn import attention

    with tripwire(
        {
            "tinytorch.nn.causal_mask": (nn, "causal_mask"),
            "tinytorch.nn.attention.causal_mask": (attention, "causal_mask"),
        }
    ) as called:
        masks = {T: np.asarray(make_causal_mask(T)) for T in (1, 5, 7)}
    delegated(called, "make_causal_mask")
    mask = masks[5]
    check_shape(mask, (5, 5), "make_causal_mask(5)")
    check_equal(str(mask.dtype), "bool", "the mask's dtype (True = forbidden; a float mask would not select)")
    want = causal_mask_numpy(5)
    if np.array_equal(mask, ~want):
        raise AssertionError("the mask is inverted: True must mark the FUTURE (forbidden) positions, s > t")
    if np.array_equal(mask, np.triu(np.ones((5, 5), dtype=bool), k=0)):
        raise AssertionError("the diagonal is masked: a position may attend to itself (s == t is allowed)")
    if np.array_equal(mask, np.tril(np.ones((5, 5), dtype=bool), k=-1)):
        raise AssertionError("the mask marks the past (below the diagonal): mask s > t, the keys after the query")
    check_equal(mask, want, "make_causal_mask(5)")
    check_equal(masks[7], causal_mask_numpy(7), "make_causal_mask(7)")
    check_equal(masks[1], [[False]], "make_causal_mask(1)")


# --------------------------------------------------------------------------- 2.3 attention

HINTS_ATTENTION = [
    "Write down the shape of every intermediate: q (..., T, d) times what gives (..., T, T)?",
    "Scores compare every query with every key; forbidden scores must be excluded before they are turned "
    "into weights (afterwards a row would no longer sum to 1); each query's weights then average the values.",
]

_ATT = "def attention(q, k, v, causal=True):\n"
WRONG_ATTENTION = [
    (
        _ATT + "    s = q @ np.swapaxes(k, -1, -2)\n"
        "    if causal: s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
        "    w = softmax(s, axis=-1)\n    return w @ v, w",
        "not scaled",
    ),
    (
        _ATT + "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n    w = softmax(s, axis=-1)\n"
        "    if causal: w = np.where(make_causal_mask(q.shape[-2]), 0.0, w)\n    return w @ v, w",
        "after the softmax",
    ),
    (
        _ATT + "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
        "    if causal: s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
        "    w = softmax(s, axis=-2)\n    return w @ v, w",
        "over the queries",
    ),
    (_ATT + "    s = q @ k.T / np.sqrt(q.shape[-1])\n    w = softmax(s, axis=-1)\n    return w @ v, w", "ALL axes"),
    (
        _ATT + "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(v.shape[-1])\n"
        "    if causal: s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
        "    w = softmax(s, axis=-1)\n    return w @ v, w",
        "d_v",
    ),
    (
        _ATT + "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
        "    s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
        "    w = softmax(s, axis=-1)\n    return w @ v, w",
        "causal=False",
    ),
]


def _np_attention(q, k, v, causal=True, scale=None, mask_after=False, axis=-1):
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / (np.sqrt(d) if scale is None else scale)
    mask = causal_mask_numpy(q.shape[-2])
    if causal and not mask_after:
        scores = np.where(mask, -np.inf, scores)
    weights = np_softmax(scores, axis)
    if causal and mask_after:
        weights = np.where(mask, 0.0, weights)
    return weights @ v, weights


@register("2.3", "attention", HINTS_ATTENTION, WRONG_ATTENTION, library=lambda: _np_attention)
def check_attention(attention):
    rng = np.random.default_rng(23)
    q, k = (rng.standard_normal((2, 3, 5, 4)) * 2 for _ in range(2))  # (B, H, T, d): any leading dims
    v = rng.standard_normal((2, 3, 5, 3))  # d_v = 3 != d = 4: a transposed v or a scale by d_v shows
    try:
        out, w = attention(q, k, v, causal=False)
    except ValueError as error:
        raise AssertionError(
            f"attention crashed on q, k of shape (2, 3, 5, 4) ({error}). If you wrote k.T: on more "
            "than two dimensions .T reverses ALL axes; swap only the last two "
            "(np.swapaxes(k, -1, -2))"
        ) from None
    check_shape(w, (2, 3, 5, 5), "weights (..., T, T)")
    check_shape(out, (2, 3, 5, 3), "out (..., T, d_v)")
    ref_out, ref_w = _np_attention(q, k, v, causal=False)
    compare(
        w,
        ref_w,
        "the weights with causal=False",
        [
            (
                _np_attention(q, k, v, causal=False, scale=1.0)[1],
                "the scores are not scaled: divide q kᵀ by √d (d = the last dimension of q and k)",
            ),
            (
                _np_attention(q, k, v, causal=False, scale=np.sqrt(3))[1],
                "scaled by √d_v (the values' size): divide by √d with d the size of the queries and keys",
            ),
            (_np_attention(q, k, v, causal=False, scale=4.0)[1], "divided by d: divide by √d"),
            (
                _np_attention(q, k, v, causal=False, axis=-2)[1],
                "the softmax runs over the queries (axis -2): each query's row of weights must sum to 1 (axis=-1)",
            ),
            (
                _np_attention(q, k, v, causal=True)[1],
                "with causal=False nothing is masked: apply the mask only when causal is True",
            ),
        ],
    )
    compare(out, ref_out, "out = weights @ v")
    _, wc = attention(q, k, v, causal=True)
    wc = np.asarray(wc, dtype=np.float64)
    future = causal_mask_numpy(5)
    leak = np.abs(wc[..., future]).max() if wc.shape == (2, 3, 5, 5) else 0.0
    if leak > 1e-9:
        raise AssertionError(
            f"with causal=True the future still gets weight (up to {leak:.3g}): "
            "set the forbidden scores to -inf before the softmax, so that their weight is exactly 0 "
            "(a score of 0 is still a score)"
        )
    compare(
        wc,
        _np_attention(q, k, v)[1],
        "the causal weights",
        [
            (
                _np_attention(q, k, v, mask_after=True)[1],
                "the mask is applied after the softmax: the rows no longer "
                "sum to 1. Set the future scores to -inf BEFORE the softmax",
            ),
            (
                _np_attention(q, k, v, causal=False)[1],
                "the future is not masked: use make_causal_mask when causal=True",
            ),
            (
                _np_attention(q, k, v, axis=-2)[1],
                "the softmax runs over the queries (axis -2): each query's row of weights must sum to 1",
            ),
        ],
    )


# --------------------------------------------------------------------------- 2.4 one head as a module

HINTS_SELF_ATTENTION = [
    "Exercise 2.3's recipe, but every step must stay a Tensor. Which Tensor methods replace the numpy calls?",
    "Three learned projections turn x into queries, keys and values; the rest is 2.3's computation, in "
    "Tensor operations end to end, so that backward reaches all three projections.",
]

_SA = "class MySelfAttention(MySelfAttention):\n    def forward(self, x):\n"
WRONG_SELF_ATTENTION = [
    (
        _SA + "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
        "        s = (q @ k.transpose(0, 2, 1)).masked_fill(make_causal_mask(x.shape[1]), -np.inf)\n"
        "        w = s.softmax(axis=-1)\n        self.attention_weights = w.data\n        return w @ v",
        "not scaled",
    ),
    (
        _SA + "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
        "        w = ((q @ k.transpose(0, 2, 1)) * (1 / np.sqrt(self.head_size))).softmax(axis=-1)\n"
        "        self.attention_weights = w.data\n        return w @ v",
        "not masked",
    ),
    (
        _SA + "        q, k, v = self.query(x).data, self.key(x).data, self.value(x).data\n"
        "        out, w = attention(q, k, v)\n        self.attention_weights = w\n        return tt.Tensor(out)",
        "not connected",
    ),
    (
        _SA + "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
        "        s = (q @ k.transpose(0, 2, 1)) * (1 / np.sqrt(x.shape[-1]))\n"
        "        w = s.masked_fill(make_causal_mask(x.shape[1]), -np.inf).softmax(axis=-1)\n"
        "        self.attention_weights = w.data\n        return w @ v",
        "d_model",
    ),
    (
        _SA + "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
        "        s = (q @ k.transpose(0, 2, 1)) * (1 / np.sqrt(self.head_size))\n"
        "        w = s.masked_fill(make_causal_mask(x.shape[1]), -np.inf).softmax(axis=-1)\n"
        "        self.attention_weights = w.data\n        return tt.Tensor(w.data) @ v",
        "no gradient reached",
    ),
]


def _library_self_attention():
    from ...nn import SelfAttention

    return SelfAttention


@register("2.4", "MySelfAttention.forward", HINTS_SELF_ATTENTION, WRONG_SELF_ATTENTION, library=_library_self_attention)
def check_self_attention(MySelfAttention):
    from ... import manual_seed
    from ...nn import SelfAttention
    from ...tensor import Tensor

    C, d, B, T = 10, 6, 2, 7  # d_model, head size, batch and time all differ
    manual_seed(0)
    reference = SelfAttention(C, head_size=d)
    randomize(reference, 24, scale=0.6)
    mine = MySelfAttention(C, d)
    data = np.random.default_rng(24).standard_normal((B, T, C))
    x, out = run_like_reference(mine, reference, "MySelfAttention", data)
    refuse_library(out, {"causal_attention": "tinytorch's fused causal_attention"})
    check_shape(out, (B, T, d), "the output (B, T, head_size)")
    xr = Tensor(data, requires_grad=True)
    want = reference(xr)
    q, k = reference.query(xr).data, reference.key(xr).data
    raw = q @ np.swapaxes(k, -1, -2)
    mask = causal_mask_numpy(T)
    check_true(mine.attention_weights is not None, "keep the weights in self.attention_weights (numpy, (B, T, T))")
    compare(
        mine.attention_weights,
        reference.attention_weights,
        "self.attention_weights (B, T, T)",
        [
            (np_softmax(np.where(mask, -np.inf, raw), -1), "the scores are not scaled by 1/√head_size"),
            (
                np_softmax(np.where(mask, -np.inf, raw / np.sqrt(C)), -1),
                "scaled by √d_model: the scale is 1/√head_size, the size of the queries and keys",
            ),
            (np_softmax(raw / np.sqrt(d), -1), "the future is not masked"),
            (
                np_softmax(np.where(mask, -np.inf, raw / np.sqrt(d)), -2),
                "the softmax runs over the queries (axis -2): each query's row must sum to 1",
            ),
            (
                np_softmax(np.where(mask, -np.inf, np.swapaxes(raw, -1, -2) / np.sqrt(d)), -1),
                "queries and keys are swapped: the scores are q kᵀ, row t = how much query t matches each key",
            ),
        ],
        atol=1e-4,
    )
    w_ref = reference.attention_weights
    compare(
        out,
        want,
        "the output (compared with tinytorch.nn.SelfAttention)",
        [
            (w_ref @ q, "the weights average the queries: they average the VALUES (weights @ v)"),
            (w_ref @ k, "the weights average the keys: they average the VALUES (weights @ v)"),
        ],
        atol=1e-4,
    )
    compare_module_gradients(out, want, mine, reference, "MySelfAttention", seed=1, x=x, xr=xr)


# --------------------------------------------------------------------------- 2.5 multi-head attention

HINTS_MHA = [
    "Write the shapes down: (B, T, 3C) -> three (B, T, C) -> (B, H, T, d). Which axis order must the "
    "heads have so that one batched matmul handles all heads at once?",
    "Head h owns a contiguous slice of d channels of each token; give the heads their own axis next to the "
    "batch (without mixing positions and channels), attend per head with the head's own scale, and undo the "
    "same moves before the output projection.",
]

_MH = (
    "class MyMultiHeadAttention(MyMultiHeadAttention):\n    def forward(self, x, cache=None):\n"
    "        B, T, C = x.shape; H, d = self.num_heads, self.head_size\n"
)
_SPLIT = "        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))\n"
_ATTEND = (
    "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).masked_fill(make_causal_mask(T), -np.inf)"
    ".softmax(axis=-1)\n        self.attention_weights = w.data\n"
)
WRONG_MHA = [
    (
        _MH
        + "        q, k, v = (t.reshape(B, H, T, d) for t in self.qkv(x).split(3, axis=-1))\n"
        + _ATTEND
        + "        return self.proj((w @ v).transpose(0, 2, 1, 3).reshape(B, T, C))",
        "split",
    ),
    (_MH + _SPLIT + _ATTEND + "        return self.proj((w @ v).reshape(B, T, C))", "merged"),
    (
        _MH
        + _SPLIT
        + "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(C))).masked_fill(make_causal_mask(T), "
        "-np.inf).softmax(axis=-1)\n        self.attention_weights = w.data\n"
        "        return self.proj((w @ v).transpose(0, 2, 1, 3).reshape(B, T, C))",
        "√C",
    ),
    (_MH + _SPLIT + _ATTEND + "        return (w @ v).transpose(0, 2, 1, 3).reshape(B, T, C)", "self.proj"),
    (
        _MH + _SPLIT + "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).softmax(axis=-1)\n"
        "        self.attention_weights = w.data\n"
        "        return self.proj((w @ v).transpose(0, 2, 1, 3).reshape(B, T, C))",
        "not masked",
    ),
    (
        _MH
        + _SPLIT
        + "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).masked_fill(make_causal_mask(T), "
        "-np.inf).softmax(axis=-1)\n        self.attention_weights = w.data\n"
        "        y = tt.Tensor(w.data) @ v\n        return self.proj(y.transpose(0, 2, 1, 3).reshape(B, T, C))",
        "gradient of",
    ),
    (
        _MH + "        y, self.attention_weights = tt.nn.attention.causal_attention(self.qkv(x), H)\n"
        "        return self.proj(y)",
        "library",
    ),
]


def _library_mha():
    from ...nn import MultiHeadAttention

    return MultiHeadAttention


@register("2.5", "MyMultiHeadAttention.forward", HINTS_MHA, WRONG_MHA, library=_library_mha, keep=True)
def check_multi_head(MyMultiHeadAttention):
    from ... import manual_seed
    from ...nn import MultiHeadAttention
    from ...tensor import Tensor

    B, T, C, H = 2, 7, 12, 3  # head size d = 4: batch, time, width, heads and head size all differ
    d = C // H
    manual_seed(0)
    reference = MultiHeadAttention(C, H)
    randomize(reference, 25, scale=0.5)
    mine = MyMultiHeadAttention(C, H)
    data = np.random.default_rng(25).standard_normal((B, T, C))
    x, out = run_like_reference(mine, reference, "MyMultiHeadAttention", data)
    refuse_library(out, {"causal_attention": "tinytorch's fused causal_attention"})
    check_shape(out, (B, T, C), "the output (B, T, C)")
    xr = Tensor(data, requires_grad=True)
    want = reference(xr)
    check_true(mine.attention_weights is not None, "keep the weights in self.attention_weights (numpy, (B, H, T, T))")
    check_shape(mine.attention_weights, (B, H, T, T), "self.attention_weights (B, H, T, T)")
    qkv = reference.qkv(xr).data
    q, k, v = qkv[..., :C], qkv[..., C : 2 * C], qkv[..., 2 * C :]

    def heads(a):  # (B, T, C) -> (B, H, T, d): the right split
        return a.reshape(B, T, H, d).transpose(0, 2, 1, 3)

    hq, hk, hv = heads(q), heads(k), heads(v)
    _, w_bad_split = _np_attention(*(a.reshape(B, H, T, d) for a in (q, k, v)))
    compare(
        mine.attention_weights,
        _np_attention(hq, hk, hv)[1],
        "self.attention_weights",
        [
            (
                w_bad_split,
                "the heads are split with reshape(B, H, T, d) alone: that mixes positions and channels. "
                "Reshape to (B, T, H, d), then move the head axis forward",
            ),
            (
                _np_attention(hq, hk, hv, scale=1.0)[1],
                "the scores are not scaled by 1/√d, with d the HEAD size (C / H)",
            ),
            (_np_attention(hq, hk, hv, scale=np.sqrt(C))[1], "scaled by √C: use the head size d = C / H"),
            (_np_attention(hq, hk, hv, causal=False)[1], "the future is not masked"),
            (
                _np_attention(hq, hk, hv, axis=-2)[1],
                "the softmax runs over the queries (axis -2): each query's row must sum to 1",
            ),
            (_np_attention(hk, hq, hv)[1], "queries and keys are swapped: the first C channels of qkv are the queries"),
        ],
        atol=1e-4,
    )
    y = _np_attention(hq, hk, hv)[0]  # (B, H, T, d)
    w_proj, b_proj = reference.proj.weight.data, reference.proj.bias.data
    compare(
        out,
        want,
        "the output (compared with tinytorch.nn.MultiHeadAttention)",
        [
            (
                y.reshape(B, T, C) @ w_proj + b_proj,
                "the heads are merged with reshape(B, T, C) alone: move the head "
                "axis back next to d first, (B, H, T, d) -> (B, T, H, d), then reshape",
            ),
            (y.transpose(0, 2, 1, 3).reshape(B, T, C), "the output projection self.proj is missing"),
        ],
        atol=1e-4,
    )
    compare_module_gradients(out, want, mine, reference, "MyMultiHeadAttention", seed=2, x=x, xr=xr)
