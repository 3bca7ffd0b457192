"""Every course exercise's check, in one registry (hints: hints.py).

    check("2.1", softmax)            # a test cell: prints ✓, or one AssertionError naming the bug
    softmax = use("2.1", softmax)    # later cells: yours once it passes, else the library's (says so)

A check compares the answer with a reference (the library's piece, or a small numpy function);
when they differ it tries that piece's usual mistakes (missing keepdims, the global max, the mask
after the softmax, no 1/sqrt(d), ...) and names the one that matches. tests/course/test_exercises.py
runs every check on the stub, the reference and recorded wrong solutions.
"""

import io
from contextlib import redirect_stdout
from dataclasses import dataclass

import numpy as np

from ..nn.transformer import GPT_MLP_RATIO
from .checks import ExerciseFailed, check_close, check_equal, check_shape, check_true, exercise


@dataclass
class Exercise:
    """One exercise: its title, the function that checks the student's answer(s), the library fallback."""

    title: str
    check: object  # check(*answers): raises AssertionError naming the problem
    library: object = None  # () -> the library's answer(s), same arity as the student's


EXERCISES = {}


def _register(exercise_id, title, library=None):
    def decorate(fn):
        EXERCISES[exercise_id] = Exercise(title, fn, library)
        return fn

    return decorate


def _exercise(exercise_id) -> Exercise:
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the course has {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]


def check(exercise_id: str, *answers) -> None:
    """The test cell of exercise `exercise_id`: prints ✓, or raises ExerciseFailed with what is wrong."""
    ex = _exercise(exercise_id)
    nudge = f"stuck? run hint(\"{exercise_id}\") for a nudge, hint(\"{exercise_id}\", level=2) for the idea"
    with exercise(f"Exercise {exercise_id} {ex.title}", hint=nudge):
        ex.check(*answers)


def use(exercise_id: str, *answers):
    """The student's answer(s) when they pass exercise `exercise_id`'s check, else the library's.

    Returns one object for one answer, a tuple for several, so that
    `softmax = use("2.1", softmax)` keeps the rest of the notebook running either way.
    """
    ex = _exercise(exercise_id)
    try:
        with redirect_stdout(io.StringIO()):
            check(exercise_id, *answers)
        return answers[0] if len(answers) == 1 else answers
    except ExerciseFailed as error:
        reason = "not written yet" if "not implemented yet" in str(error) else "not passing its check yet"
    if ex.library is None:
        raise ExerciseFailed(f"Exercise {exercise_id} ({ex.title}) is {reason}: the cells below need it. "
                             "Finish it and run its test cell, then run this cell again.")
    print(f"Note: your Exercise {exercise_id} ({ex.title}) is {reason}, so the cells below use the library's "
          f"version. Finish it, run its test cell, then re-run from here to use yours.")
    fallback = ex.library()
    return fallback if len(answers) == 1 else tuple(fallback)


# --------------------------------------------------------------------------- shared helpers


def _close(a, b, atol=1e-5, rtol=1e-4) -> bool:
    try:
        a = np.asarray(getattr(a, "data", a), dtype=np.float64)
        b = np.asarray(getattr(b, "data", b), dtype=np.float64)
    except Exception:
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))


def compare(got, expected, what, mistakes=(), atol=1e-5, rtol=1e-4) -> None:
    """check_close(got, expected), but when it fails and `got` matches a known mistake's result,
    say which mistake. mistakes: [(result of the mistaken version, message)]."""
    try:
        check_close(got, expected, what, atol=atol, rtol=rtol)
    except AssertionError:
        for wrong, message in mistakes:
            if _close(got, wrong, atol=atol, rtol=rtol):
                raise AssertionError(f"{what}: {message}") from None
        raise


def _tensor(array, grad=True):
    from ..tensor import Tensor

    return Tensor(np.asarray(array, dtype=np.float64), requires_grad=grad, dtype=np.float64)


def _float64():
    from ..tensor import default_dtype

    return default_dtype(np.float64)


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _needs_tensor(result, what):
    from ..tensor import Tensor

    check_true(isinstance(result, Tensor),
               f"{what} returned a {type(result).__name__}, not a Tensor: use Tensor operations (not numpy) "
               "so that gradients flow")


def _backward(out, what):
    """out.sum().backward(), or a clear message when `out` is not connected to any weight."""
    check_true(out.requires_grad, f"{what}: the result is not connected to the inputs or weights (computed "
               "with numpy, or from .data?): use Tensor operations so that gradients flow")
    out.sum().backward()


def _load_same_weights(mine, reference, what):
    try:
        mine.load_state_dict(reference.state_dict())
    except Exception as error:
        raise AssertionError(f"{what}: could not load the reference weights into yours ({error}); keep the "
                             "submodule names given in __init__") from None


# --------------------------------------------------------------------------- notebook 0


@_register("0.1", "mean_squared_error")
def check_mse(mean_squared_error):
    pred = _tensor([[1.0, 2.0], [3.0, 4.0]])
    target = _tensor([[1.0, 0.0], [0.0, 4.0]], grad=False)
    with _float64():
        loss = mean_squared_error(pred, target)
    _needs_tensor(loss, "mean_squared_error")
    compare(loss, 13.0 / 4, "mean_squared_error of the 2x2 example", [
        (13.0, "that is the sum of the squares: take the mean (divide by the number of elements)"),
        (5.0 / 4, "that is the mean absolute difference: square the differences"),
    ])
    check_true(loss.requires_grad, "the loss is not connected to pred (it was computed with numpy?): build it "
               "from Tensor operations so that .backward() can reach pred")
    loss.backward()
    check_true(pred.grad is not None, "no gradient reached pred: build the loss from Tensor operations")
    check_close(pred.grad, [[0.0, 1.0], [1.5, 0.0]], "the gradient with respect to pred (2 (pred - target) / n)")


# --------------------------------------------------------------------------- notebook 1

_TOY = "hello world"


@_register("1.1", "build_vocab")
def check_vocab(build_vocab):
    stoi, itos = build_vocab(_TOY)
    check_true(isinstance(stoi, dict), f"stoi should be a dict, got {type(stoi).__name__}")
    want = sorted(set(_TOY))
    if list(itos) != want:
        if sorted(itos) == want:
            raise AssertionError(f"itos is {list(itos)!r}: the right characters, but not sorted. Sorted ids do not "
                                 "depend on where a character first appears")
        if len(itos) != len(want):
            raise AssertionError(f"itos has {len(itos)} entries for {len(want)} distinct characters in {_TOY!r}: "
                                 "each character exactly once")
        raise AssertionError(f"itos is {list(itos)!r}, expected the sorted distinct characters {want!r}")
    for ch, i in stoi.items():
        check_true(0 <= i < len(itos) and itos[i] == ch,
                   f"stoi[{ch!r}] = {i}, but itos[{i}] is {itos[i] if 0 <= i < len(itos) else 'out of range'!r}: "
                   "ids start at 0 and stoi must invert itos")
    check_equal(len(stoi), len(itos), "len(stoi)")


@_register("1.2", "encode / decode")
def check_encode_decode(encode, decode):
    itos = sorted(set(_TOY))
    stoi = {ch: i for i, ch in enumerate(itos)}
    ids = encode("hello", stoi)
    check_true(isinstance(ids, np.ndarray), f"encode must return a numpy array, got {type(ids).__name__}")
    check_equal(str(ids.dtype), "int64", "the dtype of encode's result (ask numpy for it explicitly)")
    check_equal(ids, [stoi[c] for c in "hello"], "encode('hello')")
    text = decode(ids, itos)
    check_true(isinstance(text, str), f"decode must return a str, got {type(text).__name__}")
    check_equal(text, "hello", "decode(encode('hello'))")
    try:
        encode("hex!", stoi)
    except ValueError as error:
        check_true("!" in str(error), f"the ValueError should name the unknown character '!', it says: {error}")
    except KeyError:
        raise AssertionError("encode('hex!') raised KeyError: catch it and raise a ValueError that names the "
                             "unknown character (a message for a person, not a dict lookup)") from None
    else:
        raise AssertionError("encode('hex!') should raise ValueError: '!' is not in the vocabulary")


@_register("1.3", "make_batch")
def check_batch(make_batch):
    data = np.arange(100, 120, dtype=np.int64)
    starts = np.array([0, 5, 12])
    x, y = make_batch(data, starts, 4)
    x_want = np.stack([data[s:s + 4] for s in starts])
    y_want = x_want + 1
    check_true(isinstance(x, np.ndarray) and isinstance(y, np.ndarray), "make_batch must return two numpy arrays")
    check_equal(tuple(x.shape), (3, 4), "x.shape (B, T)")
    check_equal(tuple(y.shape), (3, 4), "y.shape (B, T)")
    check_equal(str(x.dtype), "int64", "x.dtype")
    check_equal(x, x_want, "x")
    if np.array_equal(y, x_want):
        raise AssertionError("y equals x: the targets must be the NEXT tokens, shifted by one")
    if np.array_equal(y, x_want + 2):
        raise AssertionError("y is shifted by two: the target of x[b, t] is the token right after it")
    if np.array_equal(y, x_want - 1):
        raise AssertionError("y is shifted the wrong way (one token back): targets come after the inputs")
    check_equal(y, y_want, "y")


@_register("1.4", "bigram_probabilities / average_nll", library=lambda: (_bigram_probabilities, _average_nll))
def check_bigram(bigram_probabilities, average_nll):
    ids = np.array([0, 1, 0, 1, 1], dtype=np.int64)  # pairs 0->1, 1->0, 0->1, 1->1
    p = np.asarray(bigram_probabilities(ids, 2, smoothing=0.0))
    compare(p, [[0.0, 1.0], [0.5, 0.5]], "bigram_probabilities([0, 1, 0, 1, 1], V=2, smoothing=0)", [
        ([[0.0, 2 / 3], [1.0, 1 / 3]], "each COLUMN sums to 1: normalise each row (the row is the current character)"),
    ])
    p3 = np.asarray(bigram_probabilities(ids, 3, smoothing=1.0))
    compare(p3[0], [1 / 5, 3 / 5, 1 / 5], "row 0 with smoothing=1 (counts 0, 2, 0 plus 1 each)", [
        ([0.0, 1.0, 0.0], "smoothing is ignored: add it to every cell before normalising"),
    ])
    uniform = np.full((3, 3), 1 / 3)
    got = average_nll(uniform, np.array([[0, 1]]), np.array([[2, 2]]))
    compare(got, np.log(3), "the loss of a uniform 3-way table (should be ln 3)", [
        (-np.log(3), "the sign is wrong: the loss is MINUS the mean log-probability"),
        (2 * np.log(3), "that is the sum over positions: take the mean"),
        (1 / 3, "that is a probability: take -ln of it"),
    ])
    compare(average_nll(p3, np.array([0, 0]), np.array([1, 2])), -(np.log(3 / 5) + np.log(1 / 5)) / 2,
            "average_nll on two positions", [
                (-(np.log(p3[1, 0]) + np.log(p3[2, 0])) / 2, "probs[y, x]: the row is the current token x"),
            ])


def _bigram_probabilities(ids, vocab_size, smoothing=1.0):
    counts = np.bincount(ids[:-1] * vocab_size + ids[1:], minlength=vocab_size * vocab_size)
    counts = counts.reshape(vocab_size, vocab_size).astype(np.float64) + smoothing
    return counts / counts.sum(axis=1, keepdims=True)


def _average_nll(probs, x, y):
    return float(-np.log(probs[x, y]).mean())


# --------------------------------------------------------------------------- notebook 2


def _library_softmax(x, axis=-1):
    return _np_softmax(np.asarray(x, dtype=np.float64), axis)


@_register("2.1", "softmax", library=lambda: _library_softmax)
def check_softmax(softmax):
    compare(softmax(np.array([1.0, 2.0, 3.0])), [0.09003057, 0.24472847, 0.66524096], "softmax([1, 2, 3])")
    big = np.asarray(softmax(np.array([1000.0, 1001.0])), dtype=np.float64)
    check_true(np.all(np.isfinite(big)), f"softmax([1000, 1001]) gave {big.tolist()}: exp(1000) overflows to inf "
               "and inf / inf is nan. Subtract the maximum before exponentiating (it cancels out)")
    compare(big, [0.26894142, 0.73105858], "softmax([1000, 1001])")
    compare(softmax(np.array([0.0, -np.inf])), [1.0, 0.0], "softmax([0, -inf])")
    m = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0]])
    try:
        rows = softmax(m)
    except ValueError as error:
        raise AssertionError(f"softmax of a (2, 3) matrix crashed ({error}): the max and the sum along an axis "
                             "have one fewer dimension unless you keep it (keepdims=True), so they do not "
                             "broadcast against x") from None
    compare(rows, _np_softmax(m, -1), "softmax of a (2, 3) matrix, along the last axis", [
        (np.exp(m) / np.exp(m).sum(), "the result sums to 1 over the WHOLE matrix: sum along `axis` only"),
        (np.exp(m - m.max(-1, keepdims=True)) / np.exp(m - m.max(-1, keepdims=True)).sum(),
         "the result sums to 1 over the WHOLE matrix: sum along `axis` only"),
        (np.exp(m) / np.exp(m).sum(axis=0), "the rows do not sum to 1: sum along `axis`, not another one"),
    ])
    compare(softmax(m, axis=0), _np_softmax(m, 0), "softmax(m, axis=0): each column sums to 1")
    wide = np.array([[0.0, 1.0], [-1000.0, -999.0]])
    got = np.asarray(softmax(wide), dtype=np.float64)
    check_true(np.all(np.isfinite(got)), f"softmax([[0, 1], [-1000, -999]]) gave {got.tolist()}: the second row "
               "lies far below the maximum of the WHOLE array, so all its exponentials underflow to 0 and 0 / 0 is "
               "nan. Subtract each row's own max")
    compare(got, [[0.26894142, 0.73105858], [0.26894142, 0.73105858]], "softmax([[0, 1], [-1000, -999]]) row by row")


def _causal_mask_numpy(T):
    return np.triu(np.ones((T, T), dtype=bool), k=1)


@_register("2.2", "make_causal_mask", library=lambda: _causal_mask_numpy)
def check_mask(make_causal_mask):
    mask = np.asarray(make_causal_mask(4))
    check_equal(str(mask.dtype), "bool", "the mask's dtype (True = forbidden)")
    want = _causal_mask_numpy(4)
    if np.array_equal(mask, ~want):
        raise AssertionError("the mask is inverted: True must mark the FUTURE (forbidden) positions, s > t")
    if np.array_equal(mask, np.triu(np.ones((4, 4), dtype=bool), k=0)):
        raise AssertionError("the diagonal is masked: a position may attend to itself (s == t is allowed)")
    if np.array_equal(mask, np.tril(np.ones((4, 4), dtype=bool), k=-1)):
        raise AssertionError("the mask marks the past (below the diagonal): mask s > t, the keys after the query")
    check_equal(mask, want, "make_causal_mask(4)")
    check_equal(np.asarray(make_causal_mask(7)), _causal_mask_numpy(7), "make_causal_mask(7)")


def _np_attention(q, k, v, causal=True, scale=True, mask_after=False):
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / (np.sqrt(d) if scale else 1.0)
    mask = _causal_mask_numpy(q.shape[-2])
    if causal and not mask_after:
        scores = np.where(mask, -np.inf, scores)
    weights = _np_softmax(scores, -1)
    if causal and mask_after:
        weights = np.where(mask, 0.0, weights)
    return weights @ v, weights


@_register("2.3", "attention", library=lambda: _np_attention)
def check_attention(attention):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 5, 4)) * 2 for _ in range(3))
    v = rng.standard_normal((2, 5, 3))  # d_v != d_k: catches a transposed v
    out, w = attention(q, k, v, causal=False)
    check_shape(w, (2, 5, 5), "weights (..., T, T)")
    check_shape(out, (2, 5, 3), "out (..., T, d_v)")
    ref_out, ref_w = _np_attention(q, k, v, causal=False)
    compare(w, ref_w, "the weights without a mask", [
        (_np_attention(q, k, v, causal=False, scale=False)[1], "the scores are not scaled: divide q kᵀ by √d "
         "(d = the last dimension of q)"),
        (_np_softmax(q @ np.swapaxes(k, -1, -2) / 2.0, -2), "the softmax runs over the queries (axis -2): each "
         "query's row of weights must sum to 1 (axis=-1)"),
    ])
    compare(out, ref_out, "out = weights @ v")
    _, wc = attention(q, k, v, causal=True)
    compare(wc, _np_attention(q, k, v)[1], "the causal weights", [
        (_np_attention(q, k, v, mask_after=True)[1], "the mask is applied after the softmax: the rows no longer "
         "sum to 1. Set the future scores to -inf BEFORE the softmax"),
        (_np_attention(q, k, v, causal=False)[1], "the future is not masked: use make_causal_mask when causal=True"),
    ])


def _library_self_attention():
    from ..nn import SelfAttention

    return SelfAttention


@_register("2.4", "MySelfAttention.forward", library=_library_self_attention)
def check_self_attention(MySelfAttention):
    from ..nn import SelfAttention
    from .. import manual_seed
    from ..tensor import Tensor

    manual_seed(0)
    reference = SelfAttention(16, head_size=8)
    mine = MySelfAttention(16, 8)
    _load_same_weights(mine, reference, "MySelfAttention")
    x = Tensor(np.random.default_rng(2).standard_normal((2, 6, 16)).astype(np.float32), requires_grad=True)
    out = mine(x)
    _needs_tensor(out, "forward")
    check_shape(out, (2, 6, 8), "the output (B, T, head_size)")
    want = reference(x)
    q, k = reference.query(x).data, reference.key(x).data
    raw = q @ np.swapaxes(k, -1, -2)
    compare(mine.attention_weights, reference.attention_weights, "self.attention_weights (B, T, T)", [
        (_np_softmax(np.where(_causal_mask_numpy(6), -np.inf, raw), -1), "the scores are not scaled by 1/√head_size"),
        (_np_softmax(raw / np.sqrt(8), -1), "the future is not masked"),
    ], atol=1e-4)
    compare(out, want, "the output (compared with tinytorch.nn.SelfAttention)", atol=1e-4)
    _backward(out, "no gradient reached query.weight")
    check_true(mine.query.weight.grad is not None and np.abs(mine.query.weight.grad).sum() > 0,
               "no gradient reached query.weight: use Tensor operations (not numpy) inside forward")


def _library_mha():
    from ..nn import MultiHeadAttention

    return MultiHeadAttention


@_register("2.5", "MyMultiHeadAttention.forward", library=_library_mha)
def check_multi_head(MyMultiHeadAttention):
    from ..nn import MultiHeadAttention
    from .. import manual_seed
    from ..tensor import Tensor

    B, T, C, H = 2, 5, 12, 3
    manual_seed(0)
    reference = MultiHeadAttention(C, H)
    mine = MyMultiHeadAttention(C, H)
    _load_same_weights(mine, reference, "MyMultiHeadAttention")
    x = Tensor(np.random.default_rng(4).standard_normal((B, T, C)).astype(np.float32), requires_grad=True)
    out = mine(x)
    _needs_tensor(out, "forward")
    check_shape(out, (B, T, C), "the output (B, T, C)")
    want = reference(x)
    check_true(mine.attention_weights is not None, "keep the weights in self.attention_weights (numpy, (B, H, T, T))")
    check_shape(mine.attention_weights, (B, H, T, T), "self.attention_weights (B, H, T, T)")
    # The usual mistakes, rebuilt from the reference's own projections.
    qkv = reference.qkv(x).data
    q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
    d = C // H

    def heads(a):  # (B, T, C) -> (B, H, T, d): the right split
        return a.reshape(B, T, H, d).transpose(0, 2, 1, 3)

    _, w_right = _np_attention(heads(q), heads(k), heads(v))
    _, w_bad_split = _np_attention(*(a.reshape(B, H, T, d) for a in (q, k, v)))
    compare(mine.attention_weights, w_right, "self.attention_weights", [
        (w_bad_split, "the heads are split with reshape(B, H, T, d) alone: that mixes positions and channels. "
         "Reshape to (B, T, H, d), then move the head axis forward"),
        (_np_attention(heads(q), heads(k), heads(v), scale=False)[1], "the scores are not scaled by 1/√d, with d "
         "the HEAD size (C / H)"),
        (_np_softmax(np.where(_causal_mask_numpy(T), -np.inf, heads(q) @ heads(k).transpose(0, 1, 3, 2) / np.sqrt(C)),
                     -1), "scaled by √C: use the head size d = C / H"),
        (_np_attention(heads(q), heads(k), heads(v), causal=False)[1], "the future is not masked"),
    ], atol=1e-4)
    y = _np_attention(heads(q), heads(k), heads(v))[0]  # (B, H, T, d)
    w_proj, b_proj = reference.proj.weight.data, reference.proj.bias.data
    compare(out, want, "the output (compared with tinytorch.nn.MultiHeadAttention)", [
        (y.reshape(B, T, C) @ w_proj + b_proj, "the heads are merged with reshape(B, T, C) alone: move the head "
         "axis back next to d first, (B, H, T, d) -> (B, T, H, d), then reshape"),
        (y.transpose(0, 2, 1, 3).reshape(B, T, C), "the output projection self.proj is missing"),
    ], atol=1e-4)
    _backward(out, "no gradient reached qkv.weight")
    check_true(mine.qkv.weight.grad is not None and np.abs(mine.qkv.weight.grad).sum() > 0,
               "no gradient reached qkv.weight: use Tensor operations (not numpy) inside forward")


# --------------------------------------------------------------------------- notebook 3


def _np_layer_norm(x, w, b, eps=1e-5, axis=-1, ddof=0):
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _library_layer_norm():
    from ..nn import functional as F

    return F.layer_norm


@_register("3.1", "layer_norm", library=_library_layer_norm)
def check_layer_norm(layer_norm):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 3, 8)) * 5 + 3
    w, b = rng.standard_normal(8), rng.standard_normal(8)
    x = _tensor(data)
    with _float64():
        out = layer_norm(x, _tensor(w), _tensor(b))
    _needs_tensor(out, "layer_norm")
    check_shape(out, (2, 3, 8), "the output")
    compare(out, _np_layer_norm(data, w, b), "layer_norm (compared with a reference)", [
        (_np_layer_norm(data, w, b, ddof=1), "the variance is the unbiased one (divides by C - 1): LayerNorm "
         "divides by C (the plain mean of the squared deviations)"),
        (_np_layer_norm(data, w, b, axis=0), "normalised over axis 0 (the batch): normalise each token vector, "
         "the LAST axis"),
        ((data - data.mean(-1, keepdims=True)) / data.var(-1, keepdims=True) * w + b, "divided by the variance: "
         "divide by the standard deviation, sqrt(var + eps)"),
    ], atol=1e-4)
    _backward(out, "no gradient reached x")
    check_true(x.grad is not None, "no gradient reached x: use Tensor operations, not numpy")


def _np_gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def _library_gelu():
    from ..nn import functional as F

    return F.gelu


@_register("3.2", "gelu", library=_library_gelu)
def check_gelu(gelu):
    xs = np.linspace(-4, 4, 17)
    x = _tensor(xs)
    with _float64():
        y = gelu(x)
    _needs_tensor(y, "gelu")
    c = np.sqrt(2.0 / np.pi)
    compare(y, _np_gelu(xs), "gelu on [-4, 4]", [
        (xs * (1.0 + np.tanh(c * (xs + 0.044715 * xs ** 3))), "twice too large: the formula starts with ½ x"),
        (0.5 * xs * (1.0 + np.tanh(c * (xs + 0.044715 * xs ** 2))), "x² where the formula has x³"),
        (0.5 * xs * (1.0 + np.tanh(xs + 0.044715 * xs ** 3)), "the factor √(2/π) inside the tanh is missing"),
    ])
    _backward(y, "no gradient reached x")
    check_true(x.grad is not None, "no gradient reached x: use Tensor operations, not numpy")


def _library_block():
    from ..nn import TransformerBlock

    return TransformerBlock


@_register("3.3", "MyBlock.forward", library=_library_block)
def check_block(MyBlock):
    from ..nn import TransformerBlock
    from .. import manual_seed
    from ..tensor import Tensor

    manual_seed(0)
    reference = TransformerBlock(16, 4)
    mine = MyBlock(16, 4)
    _load_same_weights(mine, reference, "MyBlock")
    x = Tensor(np.random.default_rng(3).standard_normal((2, 5, 16)).astype(np.float32))
    out = mine(x)
    _needs_tensor(out, "forward")
    check_shape(out, (2, 5, 16), "the output")
    r = reference
    h = x + r.attn(r.ln1(x))
    post = r.ln1(x + r.attn(x))
    mistakes = [
        (r.ln2(post + r.mlp(post)).data, "that is post-LN (x = LN(x + f(x))): this block is pre-LN, "
         "x = x + f(LN(x)), and the residual stream itself is never normalised"),
        ((r.attn(r.ln1(x)) + r.mlp(r.ln2(r.attn(r.ln1(x))))).data, "the first residual addition is missing: "
         "x = x + attn(ln1(x))"),
        ((h + r.mlp(r.ln2(x))).data, "the MLP reads ln2 of the ORIGINAL x: it must read the x updated by attention"),
        ((r.mlp(r.ln2(h))).data, "the second residual addition is missing: x = x + mlp(ln2(x))"),
    ]
    compare(out, reference(x), "MyBlock (compared with tinytorch.nn.TransformerBlock)", mistakes, atol=1e-4)


@_register("3.4", "sinusoidal", library=lambda: _library_sinusoidal())
def check_sinusoidal(sinusoidal):
    from ..nn import sinusoidal_positions

    table = sinusoidal(10, 8)
    check_shape(table, (10, 8), "sinusoidal(10, 8) (T, d_model)")
    want = sinusoidal_positions(10, 8)
    pos = np.arange(10.0)[:, None]
    two_i = np.arange(0, 8, 2)[None, :]
    swapped = np.empty((10, 8))
    swapped[:, 0::2], swapped[:, 1::2] = want[:, 1::2], want[:, 0::2]
    no_d = np.empty((10, 8))
    no_d[:, 0::2], no_d[:, 1::2] = np.sin(pos * 10000.0 ** (-two_i)), np.cos(pos * 10000.0 ** (-two_i))
    per_channel = np.empty((10, 8))
    angles = pos * 10000.0 ** (-np.arange(8)[None, :] / 8)
    per_channel[:, 0::2], per_channel[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    compare(table, want, "the table (compared with tinytorch.nn.sinusoidal_positions)", [
        (swapped, "sin and cos are swapped: even channels (0, 2, ...) hold the sines"),
        (no_d, "the exponent is not divided by d_model: ω_i = 10000^(-2i / d_model)"),
        (per_channel, "each cosine uses its own channel's frequency: channels 2i and 2i + 1 share ω_i"),
    ])


def _library_sinusoidal():
    from ..nn import sinusoidal_positions

    return sinusoidal_positions


# --------------------------------------------------------------------------- notebook 4


def _small_gpt():
    from ..models import TinyGPT, TinyGPTConfig
    from .. import manual_seed

    manual_seed(0)
    return TinyGPT(TinyGPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))


def _library_gpt():
    from ..models import TinyGPT

    return TinyGPT


@_register("4.1", "MyGPT.forward", library=_library_gpt)
def check_gpt(MyGPT):
    reference = _small_gpt()
    mine = MyGPT(reference.config)
    _load_same_weights(mine, reference, "MyGPT")
    mine.eval(), reference.eval()
    idx = np.random.default_rng(5).integers(0, 11, size=(3, 6), dtype=np.int64)  # T = 6 < block_size 8
    logits = mine(idx)
    if isinstance(logits, tuple):
        raise AssertionError("forward returned a tuple: return the logits only (the loss is computed outside)")
    _needs_tensor(logits, "forward")
    check_shape(logits, (3, 6, 11), "the logits (B, T, vocab_size)")
    r = reference
    tok = r.token_embedding(idx)
    pos = r.position_embedding.weight[:6]

    def through(x, final_ln=True):
        for block in r.blocks:
            x = block(x)
        return r.lm_head(r.ln_f(x) if final_ln else x).data

    compare(logits, r(idx), "the logits (compared with tinytorch.models.TinyGPT)", [
        (through(tok), "the position embeddings are missing: add position_embedding.weight[:T] to the token "
         "embeddings, or attention cannot tell the order of the tokens"),
        (through(tok + pos, final_ln=False), "the final LayerNorm (ln_f) is missing before the head"),
        (r.lm_head(r.ln_f(r.blocks[-1](tok + pos))).data, "only the last block is applied: loop over all of them"),
    ], atol=1e-4)
    mine.train()
    logits = mine(idx)
    _backward(logits, "no gradient reached the embeddings")
    check_true(mine.token_embedding.weight.grad is not None and mine.position_embedding.weight.grad is not None,
               "no gradient reached the embeddings: build the forward from the modules' Tensor outputs")


def _np_cross_entropy(z, t):
    z = z.reshape(-1, z.shape[-1])
    t = np.asarray(t).reshape(-1)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return float((lse - z[np.arange(len(t)), t]).mean())


def _library_cross_entropy():
    from ..nn import functional as F

    return F.cross_entropy


@_register("4.2", "cross_entropy", library=_library_cross_entropy)
def check_cross_entropy(cross_entropy):
    rng = np.random.default_rng(6)
    z = rng.standard_normal((2, 3, 5)) * 2
    t = rng.integers(0, 5, size=(2, 3))
    logits = _tensor(z)
    with _float64():
        loss = cross_entropy(logits, t)
    _needs_tensor(loss, "cross_entropy")
    check_true(np.asarray(loss.data).size == 1, f"the loss must be one number, got shape {loss.shape}: take the mean")
    flat, tf = z.reshape(-1, 5), t.reshape(-1)
    p = _np_softmax(flat, -1)
    compare(loss, _np_cross_entropy(z, t), "cross_entropy of (2, 3, 5) logits", [
        (-_np_cross_entropy(z, t), "the loss is negative: it is -log p(target), the log-sum-exp MINUS the "
         "target's logit"),
        (_np_cross_entropy(z, t) * 6, "that is the sum over the 6 positions: take the mean"),
        (float(-np.log(p[np.arange(6), (tf + 1) % 5]).mean()), "the targets are shifted by one class"),
    ])
    check_true(loss.requires_grad, "the loss is not connected to the logits: use Tensor operations")
    loss.backward()
    onehot = np.eye(5)[tf]
    compare(logits.grad, ((p - onehot) / 6).reshape(2, 3, 5), "the gradient (softmax - onehot) / N")
    big = _tensor([[1000.0, 0.0, -1000.0], [0.0, 2000.0, 0.0]])
    with _float64(), np.errstate(all="ignore"):
        loss_big = cross_entropy(big, np.array([0, 2]))
    value = float(np.asarray(loss_big.data))
    check_true(np.isfinite(value), f"cross_entropy of logits around ±1000 gave {value}: exp(1000) overflows. "
               "Use the log-sum-exp trick: log Σ e^z = m + log Σ e^(z - m) with m the row's max")
    compare(value, 1000.0, "cross_entropy([[1000, 0, -1000], [0, 2000, 0]], [0, 2]) (losses 0 and 2000)")


def _library_training_step(model, loss_fn, optimizer, x, y, max_norm=1.0, zero=True, clip=True):
    from ..optim import clip_grad_norm_

    if zero:
        optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    if clip:
        clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


@_register("4.3", "training_step", library=lambda: _library_training_step)
def check_training_step(training_step):
    from ..optim import SGD

    from ..nn.functional import cross_entropy

    def run(step_fn, steps=3):
        model = _small_gpt()
        opt = SGD(model.parameters(), lr=0.1)
        idx = np.random.default_rng(7).integers(0, 11, size=(2, 8), dtype=np.int64)
        y = np.roll(idx, -1, axis=1)
        return model, [step_fn(model, cross_entropy, opt, idx, y, max_norm=0.5) for _ in range(steps)]

    def reference(model, loss_fn, opt, x, y, max_norm=1.0, zero=True, clip=True):
        return _library_training_step(model, loss_fn, opt, x, y, max_norm, zero=zero, clip=clip)

    mine, losses = run(training_step)
    check_true(all(isinstance(v, float) for v in losses),
               f"training_step must return a Python float (loss.item()), got {type(losses[0]).__name__}")
    want, want_losses = run(reference)
    weights = mine.lm_head.weight.data

    def same(other):
        return np.allclose(weights, other.lm_head.weight.data, atol=1e-7, rtol=1e-6)

    if same(want) and np.allclose(losses, want_losses, atol=1e-6):
        return
    if same(_small_gpt()):
        raise AssertionError("the weights never changed: call loss.backward() before optimizer.step()")
    if same(run(lambda *a, **k: reference(*a, zero=False, **k))[0]):
        raise AssertionError("the gradients pile up from step to step: clear them first (optimizer.zero_grad())")
    if same(run(lambda *a, **k: reference(*a, clip=False, **k))[0]):
        raise AssertionError("the gradient is not clipped: call tt.optim.clip_grad_norm_ with max_norm before "
                             "the update")
    compare(losses, want_losses, "the losses of three steps", atol=1e-5)
    raise AssertionError("after three steps the weights differ from the reference step's: zero_grad, forward, "
                         "backward, clip, step — in that order")


def _library_sample_next(logits, temperature=1.0, top_k=None, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if temperature == 0:
        return int(np.argmax(logits))
    z = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None:
        z = np.where(z < np.sort(z)[-top_k], -np.inf, z)
    return int(rng.choice(len(z), p=_np_softmax(z)))


@_register("4.4", "sample_next", library=lambda: _library_sample_next)
def check_sample(sample_next):
    logits = np.array([1.0, 3.0, 2.0, -1.0])
    check_equal(sample_next(logits, temperature=0), 1, "sample_next at temperature 0 (the most likely id)")
    check_true(isinstance(sample_next(logits, rng=np.random.default_rng(0)), int),
               "sample_next must return a Python int (int(...))")

    def shares(**kwargs):
        g = np.random.default_rng(0)
        draws = [sample_next(logits, rng=g, **kwargs) for _ in range(600)]
        return np.bincount(draws, minlength=4) / len(draws)

    top2 = shares(temperature=1.0, top_k=2)
    if top2[0] > 0 or top2[3] > 0:
        kept = sorted(int(i) for i in np.flatnonzero(top2))
        raise AssertionError(f"with top_k=2 ids {kept} were drawn: only the 2 largest logits (ids 1 and 2) may be")
    check_true(abs(top2[1] - 1 / (1 + np.exp(-1))) < 0.07,
               f"with top_k=2, id 1 should be drawn with probability e³/(e³+e²) = 0.73, got {top2[1]:.2f}")
    hot = shares(temperature=4.0)
    p_hot = _np_softmax(logits / 4.0)
    if abs(hot[1] - _np_softmax(logits)[1]) < 0.06:
        raise AssertionError("temperature has no effect: divide the logits by it before the softmax")
    if abs(hot[1] - _np_softmax(logits * 4.0)[1]) < 0.06:
        raise AssertionError("a high temperature made the choice sharper: DIVIDE the logits by the temperature")
    check_true(np.abs(hot - p_hot).max() < 0.07,
               f"at temperature 4 the shares {np.round(hot, 2).tolist()} should be near {np.round(p_hot, 2).tolist()}")


# --------------------------------------------------------------------------- notebook 5


def _configs():
    from ..models import TinyGPTConfig

    return [TinyGPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64),
            TinyGPTConfig(vocab_size=50, block_size=8, n_layer=3, n_head=2, n_embd=16),
            TinyGPTConfig(vocab_size=65, block_size=24, n_layer=1, n_head=4, n_embd=96, mlp_ratio=3)]


def _gpt_mlp_only(count, config):
    """What `count` gives for `config` had its MLP been GPT's 4C wide: a formula that ignores mlp_ratio."""
    import dataclasses

    return count(dataclasses.replace(config, mlp_ratio=GPT_MLP_RATIO))


@_register("5.1", "count_parameters", library=lambda: _library_count)
def check_count(count_parameters):
    from ..models import TinyGPT

    for cfg in _configs():
        V, T, C, L, r = cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer, cfg.mlp_ratio
        want = TinyGPT(cfg).num_parameters()
        got = count_parameters(cfg)
        what = f"count_parameters(n_layer={L}, n_embd={C}, mlp_ratio={r}, vocab={V}, block={T})"
        for wrong, message in [
            (want - T * C, "the position embedding (T·C) is missing"),
            (want - L * (4 * C + 4 * C + (r + 1) * C) - 2 * C, "the biases and LayerNorm parameters are missing: "
             "count every bias and every LayerNorm's weight and bias"),
            (want - L * (4 + r + 1) * C, f"the biases are missing (4C in attention and {r + 1}C in the MLP, per block)"),
            (want - C * V, "the head (C·V) is missing"),
            (_gpt_mlp_only(_library_count, cfg) if r != GPT_MLP_RATIO else None,
             f"this config's MLP is {r}C wide, not 4C: use r = config.mlp_ratio"),
        ]:
            if got == wrong:
                raise AssertionError(f"{what} = {got:,}, expected {want:,}: {message}")
        check_equal(got, want, what)


def _library_count(config):
    """From the config alone (a GPT-3 config must not build a 175-billion-parameter model)."""
    V, T, C, L, r = config.vocab_size, config.block_size, config.n_embd, config.n_layer, config.mlp_ratio
    return V * C + T * C + L * (4 * C + 4 * C * C + 4 * C + 2 * r * C * C + r * C + C) + 2 * C + C * V


def _library_memory(n_params, bytes_per_number=4):
    each = n_params * bytes_per_number
    return {"weights": each, "gradients": each, "optimizer": 2 * each, "total": 4 * each}


@_register("5.2", "adamw_memory_bytes", library=lambda: _library_memory)
def check_memory(adamw_memory_bytes):
    m = adamw_memory_bytes(1000)
    check_true(isinstance(m, dict), f"return a dict, got {type(m).__name__}")
    missing = {"weights", "gradients", "optimizer", "total"} - set(m)
    check_true(not missing, f"the dict is missing {sorted(missing)}")
    check_equal(m["weights"], 4000, "weights for 1000 float32 parameters (bytes)")
    check_equal(m["gradients"], 4000, "gradients for 1000 float32 parameters (one per weight)")
    if m["optimizer"] == 4000:
        raise AssertionError("optimizer is 4000 bytes: AdamW keeps TWO running averages per weight (m and v)")
    check_equal(m["optimizer"], 8000, "AdamW's two moments for 1000 float32 parameters")
    check_equal(m["total"], 16000, "the total (weights + gradients + optimizer)")
    check_equal(adamw_memory_bytes(10, bytes_per_number=2)["total"], 80,
                "the total for 10 float16 parameters (use bytes_per_number)")


def _library_flops(config, context=None):
    T = config.block_size if context is None else context
    C, L, V, r = config.n_embd, config.n_layer, config.vocab_size, config.mlp_ratio
    return 2 * (L * (4 + 2 * r) * C * C + C * V) + L * 4 * T * C


@_register("5.3", "forward_flops_per_token", library=lambda: _library_flops)
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
            (_gpt_mlp_only(_library_flops, cfg) if r != GPT_MLP_RATIO else None,
             f"this config's MLP is {r}C wide, not 4C: its two products are 2·r·C² with r = config.mlp_ratio"),
        ]:
            if got == wrong:
                raise AssertionError(f"forward_flops_per_token = {got:,}, expected {want:,}: {message}")
        check_equal(got, want, f"forward_flops_per_token(config with C={C}, L={L}, V={V}, block_size={T}, mlp_ratio={r})")
    cfg = _configs()[0]
    want = _library_flops(cfg)
    got1 = forward_flops_per_token(cfg, context=1)
    if got1 == want:
        raise AssertionError("context=1 gave the same count as the full block: use T = context when it is given")
    check_equal(got1, _library_flops(cfg, 1), "forward_flops_per_token(config, context=1)")
