"""The SIMD module's fused elementwise kernels, for the ops whose numpy version costs most in wasm.

Pyodide's numpy runs each `a * b`, `np.exp`, `sum` as its own scalar pass over memory; these
do a whole op's forward or backward in one pass with SIMD (and a polynomial exp, ~2 ulp).
Every function takes float32 C-contiguous arrays (`ready` says whether the arrays qualify; the
callers keep their numpy code for everything else) and writes into the arrays it is given.
The formulas are the ones beside each numpy version (tinytorch.nn.functional, nn.attention,
optim.adam), which stay the reference: tests/core/wasm_checks.py compares both.
"""

import numpy as np

from . import address as _p
from . import load


def ready(*arrays) -> bool:
    """True when every array is float32 and C-contiguous (what the kernels read and write)."""
    return all(x.dtype == np.float32 and x.flags.c_contiguous for x in arrays)


def gelu_forward(x: np.ndarray):
    """(y, s) with s = sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) and y = x s."""
    y, s = np.empty_like(x), np.empty_like(x)
    load().gelu_forward(_p(x), _p(y), _p(s), x.size)
    return y, s


def gelu_backward(x: np.ndarray, s: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """grad * GELU'(x), from x and the forward's s."""
    dx = np.empty_like(x)
    load().gelu_backward(_p(x), _p(s), _p(grad), _p(dx), x.size)
    return dx


def softmax_causal(scores: np.ndarray, scale: float) -> None:
    """In place on (..., T, T) scores: each row i becomes softmax(scale * scores[i, :i+1]), zeros after."""
    T = scores.shape[-1]
    load().softmax_causal(_p(scores), scores.size // (T * T), T, float(scale))


def softmax_backward(dp: np.ndarray, p: np.ndarray, scale: float) -> None:
    """In place: dp (..., T) becomes scale * p * (dp - sum(dp * p)) row by row."""
    T = p.shape[-1]
    load().softmax_backward(_p(dp), _p(p), p.size // T, T, float(scale))


def adam_step(p, g, m, v, step, b1, b2, bc2, eps, decay, l2) -> None:
    """One Adam(W) update of p, m, v in place (see kernels.c, adam_step)."""
    load().adam_step(_p(p), _p(g), _p(m), _p(v), p.size, step, b1, b2, bc2, eps, decay, l2)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float):
    """(y, xhat, rstd) over the last dim of x (..., C); rstd has shape (..., 1)."""
    C = x.shape[-1]
    y, xhat = np.empty_like(x), np.empty_like(x)
    rstd = np.empty(x.shape[:-1] + (1,), dtype=np.float32)
    load().layernorm_forward(_p(x), _p(weight), _p(bias), _p(y), _p(xhat), _p(rstd), x.size // C, C, float(eps))
    return y, xhat, rstd


def layer_norm_backward(grad, weight, xhat, rstd):
    """(dx, dweight, dbias) of `layer_norm` for the output gradient `grad`."""
    C = grad.shape[-1]
    dx = np.empty_like(grad)
    dw, db = np.zeros(C, dtype=np.float32), np.zeros(C, dtype=np.float32)
    load().layernorm_backward(_p(grad), _p(weight), _p(xhat), _p(rstd), _p(dx), _p(dw), _p(db), grad.size // C, C)
    return dx, dw, db


def column_sums(x: np.ndarray) -> np.ndarray:
    """x (N, C) summed over rows -> (C,) (a linear layer's bias gradient)."""
    out = np.empty(x.shape[-1], dtype=np.float32)
    load().column_sums(_p(x), _p(out), x.size // x.shape[-1], x.shape[-1])
    return out
