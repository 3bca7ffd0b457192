"""Gradient clipping: cap the length of the whole gradient vector before the update."""

import math

import numpy as np

from ..tensor import Tensor
from ..validation import real_number


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most `max_norm`; return the norm before.

    params: model.parameters() (or a Module, or one Tensor). The norm is taken over every
    gradient as one long vector: sqrt(sum of g^2). If it exceeds max_norm, every gradient is
    multiplied by max_norm / norm (out of place: `p.grad = p.grad * scale`), which keeps the
    direction and shortens the step. One bad batch then cannot throw the weights far away.
    A non-finite norm (inf/NaN gradients) is returned as it is and nothing is scaled: the
    caller decides (the trainer skips that update).
    """
    from ..nn.module import Module

    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    max_norm = real_number(max_norm, "clip_grad_norm_: max_norm", above=0.0)
    grads = [p for p in params if p.grad is not None]
    total = 0.0
    for p in grads:
        flat = np.asarray(p.grad).reshape(-1)
        total += float(np.dot(flat, flat))
    norm = math.sqrt(total)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for p in grads:
            p.grad = p.grad * p.grad.dtype.type(scale)
    return norm
