"""Causal multi-head attention on the SIMD module: the core of nn.attention.causal_attention in one call each way.

numpy's version (the reference, beside it in tinytorch/nn/attention.py) copies q, k and v out
of qkv, makes six batched products and merges the heads back with more copies. Here each
head's products read q, k, v and dy where they lie and write y and dq, dk, dv straight into
their places, and they skip what the causal mask makes zero: every product is half as long
(kernels.c, nn_causal). Arrays must be float32 and C-contiguous (`kernels.fused`); the
callers keep numpy's code for dropout and every other case.
"""

import numpy as np

from . import address as _p
from . import load


def forward(qkv: np.ndarray, num_heads: int, scale: float):
    """qkv (B, T, 3C) -> (y (B, T, C), attention weights (B, H, T, T), zeros right of the diagonal)."""
    B, T, C3 = qkv.shape
    C, H = C3 // 3, num_heads
    d = C // H
    y = np.empty((B, T, C), dtype=np.float32)
    att = np.empty((B, H, T, T), dtype=np.float32)
    kt = np.empty(d * T, dtype=np.float32)  # scratch: one head's k transposed
    load().attention_forward(_p(qkv), _p(y), _p(att), _p(kt), B, T, H, d, float(scale))
    return y, att


def backward(qkv: np.ndarray, att: np.ndarray, grad: np.ndarray, num_heads: int, scale: float) -> np.ndarray:
    """The gradient of `forward`'s y -> the gradient of qkv (B, T, 3C)."""
    B, T, C3 = qkv.shape
    H = num_heads
    d = C3 // 3 // H
    dqkv = np.empty_like(qkv)
    vt = np.empty(d * T, dtype=np.float32)  # scratch: one head's v transposed
    dp = np.empty(T * T, dtype=np.float32)  # scratch: one head's dP, then dS
    load().attention_backward(_p(qkv), _p(att), _p(grad), _p(dqkv), _p(vt), _p(dp), B, T, H, d, float(scale))
    return dqkv
