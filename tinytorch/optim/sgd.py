"""Stochastic gradient descent, with optional momentum and (L2) weight decay."""

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD(params, lr, momentum=0.0, weight_decay=0.0), the same update as torch.optim.SGD:

        g = grad + weight_decay * p
        buf = g                        on the first step with momentum,
        buf = momentum * buf + g       afterwards
        p = p - lr * (buf if momentum else g)

    Momentum keeps a running direction, so steps speed up along a consistent slope and
    zig-zags across a narrow valley cancel out.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        # momentum is checked with every group, by Optimizer._check_hyperparameters
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def _update(self, p, grad, group, state):
        lr, momentum, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        g = grad + wd * p.data if wd else grad
        state["step"] = state.get("step", 0) + 1
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += g
            g = buf
        p.data -= lr * g
