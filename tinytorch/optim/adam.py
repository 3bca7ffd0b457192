"""Adam and AdamW: per-parameter step sizes from running averages of the gradient and its square."""

import numpy as np

from .. import kernels
from ..wasm import elementwise
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), as torch.optim.Adam.

    With t the parameter's step count (1, 2, ...):

        g = grad + weight_decay * p              (L2 decay, coupled: it goes through m and v)
        m = b1 * m + (1 - b1) * g                running mean of the gradient
        v = b2 * v + (1 - b2) * g^2              running mean of its square
        p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    m and v start at 0, so early averages are too small; dividing by (1 - b^t) (bias
    correction) undoes that. Every parameter gets a step of about lr, whatever its gradient's scale.
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        # betas and eps are checked with every group, by Optimizer._check_hyperparameters
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _update(self, p, grad, group, state):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        b1, b2 = (float(b) for b in group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if kernels.fused(p.data, grad, m, v):  # Pyodide: the whole update below in one SIMD pass
            decay, l2 = (1.0 - lr * wd, 0.0) if self.decoupled else (1.0, wd)
            elementwise.adam_step(p.data, grad, m, v, lr / (1.0 - b1**t), b1, b2, 1.0 - b2**t, eps, decay, l2)
            return

        if wd and self.decoupled:
            p.data *= 1.0 - lr * wd  # AdamW: shrink the weights directly, outside m and v
        elif wd:
            grad = grad + wd * p.data  # Adam: L2 penalty added to the gradient
        m *= b1
        m += (1.0 - b1) * grad
        v *= b2
        v += (1.0 - b2) * (grad * grad)
        bias_correction1 = 1.0 - b1**t
        bias_correction2 = 1.0 - b2**t
        denom = np.sqrt(v / bias_correction2)
        denom += eps
        p.data -= (lr / bias_correction1) * m / denom


class AdamW(Adam):
    """AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), as torch.optim.AdamW.

    Adam with *decoupled* weight decay (Loshchilov & Hutter): before the Adam step,
    p = p * (1 - lr * weight_decay). The decay no longer passes through m and v, so every
    weight shrinks at the same relative rate whatever its gradient history. GPTs are trained
    with it; usually biases and LayerNorm weights go in a group with weight_decay=0 (see
    TinyGPT.configure_optimizers, which builds those groups for a GPT).
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
