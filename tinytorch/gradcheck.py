"""Check autograd against finite differences: the test every op and module must pass.

    x = Tensor(np.random.randn(3, 4), requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: (x * x).tanh(), [x])

For each input that requires grad, every element (or a random sample of `max_checks`
elements) is nudged by +-eps and the change in the output is compared with the gradient
backward() computed. Use float64: in float32 the rounding error swamps the difference.
"""

import numpy as np

from .tensor import Tensor, no_grad


def _scalar_output(fn, inputs, projection):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if projection is None:
        return out
    return (out * projection).sum()


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, max_checks=None, seed=0):
    """Compare analytic and numerical gradients of `fn(*inputs)` for every input that requires grad.

    A non-scalar output is reduced with a fixed random projection, so every output element
    counts. Raises AssertionError naming the input, the element and both values on a
    mismatch; returns the largest absolute difference seen.
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                "(create it with dtype=np.float64, or build modules inside default_dtype(np.float64))"
            )

    rng = np.random.default_rng(seed)
    probe = fn(*inputs)
    projection = None if probe.data.size == 1 else rng.standard_normal(probe.shape)

    for i in checked:
        inputs[i].grad = None
    _scalar_output(fn, inputs, projection).backward()
    analytic = {i: np.zeros_like(inputs[i].data) if inputs[i].grad is None else inputs[i].grad.copy() for i in checked}

    worst = 0.0
    with no_grad():
        for i in checked:
            x = inputs[i].data
            flat_positions = np.arange(x.size)
            if max_checks is not None and x.size > max_checks:
                flat_positions = rng.choice(x.size, size=max_checks, replace=False)
            for flat in flat_positions:
                pos = np.unravel_index(flat, x.shape)
                original = x[pos]
                x[pos] = original + eps
                plus = _scalar_output(fn, inputs, projection).item()
                x[pos] = original - eps
                minus = _scalar_output(fn, inputs, projection).item()
                x[pos] = original
                numeric = (plus - minus) / (2 * eps)
                got = analytic[i][pos]
                error = abs(got - numeric)
                worst = max(worst, error)
                if error > atol + rtol * abs(numeric):
                    raise AssertionError(
                        f"gradcheck: input {i} (shape {x.shape}) element {tuple(int(p) for p in pos)}: "
                        f"backward gave {got:.8g}, finite differences give {numeric:.8g}"
                    )
    return worst
