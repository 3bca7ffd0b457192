"""Functional ops: the maths of the layers, as plain functions of Tensors.

The fused ops here (`linear`, `layer_norm`, `embedding`, `cross_entropy`, `dropout`, `gelu`) each do
their whole forward in numpy and define the hand-derived backward right beside it, the same
pattern as every op in tensor.py. One fused op instead of a chain of small ones means fewer
temporary arrays and fewer graph nodes: it is what makes training fast enough for a browser.
`gelu` is fused too (the MLP's activation); the simple ones (`softmax`, `log_softmax`,
`relu`, `tanh`) are the Tensor methods.

Shapes: B batch, T time, C channels, V vocabulary, N = any number of rows.
"""

import numpy as np

from .. import kernels
from ..rng import rng
from ..tensor import Tensor, as_tensor
from ..validation import integer_ids, real_number, token_ids
from ..wasm import elementwise

__all__ = [
    "linear",
    "layer_norm",
    "embedding",
    "cross_entropy",
    "softmax",
    "log_softmax",
    "relu",
    "gelu",
    "tanh",
    "dropout",
]


def _float_tensor(x, like: Tensor = None) -> Tensor:
    """x as a Tensor; plain numbers/arrays take `like`'s float dtype (no silent float64)."""
    if isinstance(x, Tensor):
        if x.dtype.kind != "f":
            raise TypeError(f"expected a float tensor, got dtype {x.dtype}")
        return x
    return as_tensor(np.asarray(x), like=like)


# ----------------------------------------------------------------------------- activations


def softmax(x, axis: int = -1) -> Tensor:
    """Stable softmax along `axis`: exp(x - max) / sum(exp(x - max)). Same shape as x."""
    return _float_tensor(x).softmax(axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """Stable log(softmax(x)) along `axis` (never takes the log of a rounded-to-zero probability)."""
    return _float_tensor(x).log_softmax(axis=axis)


def relu(x) -> Tensor:
    """max(x, 0), elementwise."""
    return _float_tensor(x).relu()


def gelu(x) -> Tensor:
    """GELU, tanh form (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise (Tensor.gelu)."""
    return _float_tensor(x).gelu()


def tanh(x) -> Tensor:
    """tanh(x), elementwise."""
    return _float_tensor(x).tanh()


# ----------------------------------------------------------------------------- linear


def linear(x, weight: Tensor, bias: Tensor = None) -> Tensor:
    """y = x @ weight + bias: x (..., in), weight (in, out), bias (out,) -> (..., out).

    The leading dims are flattened into one 2-D product, (B*T, C) @ (C, N), which was 8x
    faster than a 3-D `@` here. Backward, with x2 and dy2 the flattened (N, in), (N, out):

        dx = dy2 @ W^T        (kernels.matmul_nt)
        dW = x2^T @ dy2       (kernels.matmul_tn: never a transposed copy of x)
                              (both at once: kernels.linear_grads)
        db = sum of dy2 over rows
    """
    x = _float_tensor(x, like=weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (in_features, out_features), got shape {weight.shape}")
    in_features, out_features = weight.shape
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape}: "
            f"the input's last dim must be in_features={in_features}"
        )
    if bias is not None and bias.shape != (out_features,):
        raise ValueError(f"linear: bias has shape {bias.shape}, expected ({out_features},)")

    lead = x.shape[:-1]
    x2 = x.data.reshape(-1, in_features)
    w = weight.data
    y2 = kernels.matmul(x2, w)
    if bias is not None:
        y2 += bias.data  # y2 is a fresh array: adding in place saves one (N, out) temporary
    parents = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor._from_op(y2.reshape(*lead, out_features), parents, "linear")

    def _backward(grad):
        dy2 = grad.reshape(-1, out_features)
        if x.requires_grad and weight.requires_grad and not weight._parents:
            # both at once; in the browser dW may arrive later, by the end of backward() (a leaf's
            # gradient is read only after it: kernels.linear_grads)
            x._accumulate(kernels.linear_grads(dy2, x2, w, weight._accumulate).reshape(x.shape))
        else:
            if x.requires_grad:
                x._accumulate(kernels.matmul_nt(dy2, w).reshape(x.shape))
            if weight.requires_grad:
                weight._accumulate(kernels.matmul_tn(x2, dy2))
        if bias is not None and bias.requires_grad:
            bias._accumulate(elementwise.column_sums(dy2) if kernels.fused(dy2) else dy2.sum(axis=0))

    return out._with_backward(_backward)


# ----------------------------------------------------------------------------- layer norm


def layer_norm(x, weight: Tensor = None, bias: Tensor = None, eps: float = 1e-5) -> Tensor:
    """Normalise the last dim to mean 0, variance 1, then scale and shift: x (..., C) -> (..., C).

        xhat = (x - mean) / sqrt(var + eps);   y = xhat * weight + bias

    Backward (per row, C = size of the last dim, g = dy * weight):

        dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
        dweight = sum of dy * xhat over rows;   dbias = sum of dy over rows
    """
    x = _float_tensor(x, like=weight)
    C = x.shape[-1] if x.ndim else 0
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != (C,):
            raise ValueError(
                f"layer_norm: {name} has shape {p.shape}, but the input's last dim is {C} (shape {x.shape})"
            )

    data = x.data
    inv_c = 1.0 / C  # sums times 1/C: np.mean adds Python overhead on every call
    simd = weight is not None and bias is not None and kernels.fused(data, weight.data, bias.data)
    if simd:  # Pyodide: the whole forward in one SIMD pass per row
        y, xhat, rstd = elementwise.layer_norm(data, weight.data, bias.data, eps)
    else:
        y, xhat, rstd = _layer_norm_forward(data, weight, bias, eps, inv_c)
    parents = tuple(t for t in (x, weight, bias) if t is not None)
    out = Tensor._from_op(y, parents, "layer_norm")

    def _backward(grad):
        if simd and kernels.fused(grad):
            dx, dweight, dbias = elementwise.layer_norm_backward(grad, weight.data, xhat, rstd)
            for t, g in ((weight, dweight), (bias, dbias), (x, dx)):
                if t.requires_grad:
                    t._accumulate(g)
            return
        rows = tuple(range(grad.ndim - 1))
        if weight is not None and weight.requires_grad:
            weight._accumulate((grad * xhat).sum(axis=rows))
        if bias is not None and bias.requires_grad:
            bias._accumulate(grad.sum(axis=rows))
        if x.requires_grad:
            g = grad * weight.data if weight is not None else grad.copy()  # g is ours to update in place
            mean_g = np.add.reduce(g, axis=-1, keepdims=True)
            mean_g *= inv_c
            gx = g * xhat
            mean_gx = np.add.reduce(gx, axis=-1, keepdims=True)
            mean_gx *= inv_c
            g -= mean_g
            g -= np.multiply(xhat, mean_gx, out=gx)
            g *= rstd
            x._accumulate(g)

    return out._with_backward(_backward)


def _layer_norm_forward(data, weight, bias, eps, inv_c):
    """(y, xhat, rstd) of `layer_norm` in numpy."""
    # Written with in-place updates of a few fresh arrays: on (B*T, C) activations each
    # `a * b` allocates a new buffer, and those allocations cost about as much as the maths.
    mean = np.add.reduce(data, axis=-1, keepdims=True)
    mean *= inv_c
    xhat = data - mean
    y = xhat * xhat
    var = np.add.reduce(y, axis=-1, keepdims=True)
    var *= inv_c
    var += eps
    rstd = np.sqrt(var, out=var)
    np.divide(1.0, rstd, out=rstd)  # 1 / sqrt(var + eps), shape (..., 1)
    xhat *= rstd
    if weight is not None:
        np.multiply(xhat, weight.data, out=y)
    else:
        y[...] = xhat
    if bias is not None:
        y += bias.data
    return y, xhat, rstd


# ----------------------------------------------------------------------------- embedding


def embedding(ids, weight: Tensor) -> Tensor:
    """Look up rows of a table: ids (...) ints in [0, V), weight (V, C) -> (..., C).

    Backward: each row of the table gets the sum of the output gradients of the positions
    that looked it up (an id used 5 times collects 5 gradients). That scatter-add is done by
    sorting the ids and summing runs with `np.add.reduceat`. Measured here (best of 20, ms;
    N ids, C channels; "no BLAS" is a numpy built without BLAS, as in the browser):

        V      N    C    np.add.at  bincount/col  one-hot matmul  sort+reduceat
        65     768  128  0.84       0.35          0.12 (11.3 no BLAS)  0.13
        1000   768  128  0.84       0.53          1.08 (121 no BLAS)   0.68
        50257  768  128  1.65       20.3          215                  1.40

    sort+reduceat is the fastest or within 15% of it everywhere, with or without BLAS, and
    costs O(N C) memory whatever the vocabulary size, so it is the one method used.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = getattr(weight, "shape", weight)
        raise ValueError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got {got!r}")
    V, C = weight.shape
    idx = token_ids(ids, V, "embedding", noun="id", unit="rows")
    table = weight.data
    out = Tensor._from_op(table[idx], (weight,), "embedding")

    def _backward(grad):
        weight._accumulate(_scatter_add_rows(idx.reshape(-1), grad.reshape(-1, C), (V, C)))

    return out._with_backward(_backward)


def _scatter_add_rows(ids: np.ndarray, rows: np.ndarray, shape) -> np.ndarray:
    """out[i] = sum of rows[n] where ids[n] == i: ids (N,), rows (N, C) -> (V, C)."""
    out = np.zeros(shape, dtype=rows.dtype)
    if ids.size == 0:
        return out
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


# ----------------------------------------------------------------------------- cross-entropy


def cross_entropy(logits, targets, ignore_index: int = None, reduction: str = "mean") -> Tensor:
    """Fused, stable softmax + negative log-likelihood of the right class.

    logits (N, V) with targets (N,), or (B, T, V) with targets (B, T) (any (..., V) with (...)).
    loss_n = logsumexp(logits_n) - logits_n[target_n]   (the max is subtracted first: no overflow)

    reduction: "mean" (over the targets that are not ignore_index; 0 if all are ignored),
    "sum", or "none" (a loss per position, shape of targets). Backward: the gradient of
    loss_n with respect to its logits is softmax(logits_n) - onehot(target_n), zero on
    ignored positions, divided by the count for "mean".
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    logits = _float_tensor(logits)
    t = integer_ids(targets, "cross_entropy", noun="target")  # the range is checked below, after ignore_index
    if logits.ndim == 0 or logits.shape[:-1] != t.shape:
        raise ValueError(
            f"cross_entropy: logits of shape {logits.shape} and targets of shape {t.shape} do not match: "
            "expected logits (N, V) with targets (N,), or logits (B, T, V) with targets (B, T)"
        )
    V = logits.shape[-1]
    z = logits.data.reshape(-1, V)
    t = t.reshape(-1)
    valid = None if ignore_index is None else t != ignore_index
    safe_t = t if valid is None else np.where(valid, t, 0)  # any in-range index for ignored rows
    hint = "" if ignore_index is None else f" (or ignore_index={ignore_index})"
    token_ids(safe_t.reshape(logits.shape[:-1]), V, "cross_entropy", noun="target", unit="classes", hint=hint)
    rows = np.arange(z.shape[0])

    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    losses = np.log(sum_exp[:, 0]) - shifted[rows, safe_t]  # (N,)
    if valid is not None:
        losses = np.where(valid, losses, losses.dtype.type(0))
    count = z.shape[0] if valid is None else int(valid.sum())

    if reduction == "none":
        value = losses.reshape(logits.shape[:-1])
    elif reduction == "sum":
        value = losses.sum()
    else:
        value = losses.sum() / losses.dtype.type(max(count, 1))
    out = Tensor._from_op(np.asarray(value, dtype=z.dtype), (logits,), "cross_entropy")

    def _backward(grad):
        d = exp / sum_exp  # softmax: a fresh array, so a second backward() starts clean too
        d[rows, safe_t] -= 1
        if reduction == "none":
            scale = grad.reshape(-1, 1)
        elif reduction == "sum":
            scale = grad
        else:
            scale = grad / grad.dtype.type(max(count, 1))
        d *= scale
        if valid is not None:
            d[~valid] = 0
        logits._accumulate(d.reshape(logits.shape))

    return out._with_backward(_backward)


# ----------------------------------------------------------------------------- dropout


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity if not training.

    Scaling at training time keeps the expected value unchanged, so nothing changes at
    evaluation. The mask comes from tinytorch.rng.rng(): `manual_seed` makes it repeatable.
    Backward: the same mask and scale applied to the gradient.
    """
    p = real_number(p, "dropout: p (the probability of dropping a value)", minimum=0.0, maximum=1.0)
    x = _float_tensor(x)
    if not training or p == 0.0:
        return x
    dtype = x.dtype
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=dtype)
    else:
        mask = (rng().random(x.shape, dtype=dtype) >= p) * dtype.type(1.0 / (1.0 - p))
    out = Tensor._from_op(x.data * mask, (x,), "dropout")

    def _backward(grad):
        x._accumulate(grad * mask)

    return out._with_backward(_backward)
