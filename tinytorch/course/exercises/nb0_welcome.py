"""Notebook 0 · Welcome: the first exercise, a loss with its gradient."""

import numpy as np

from .registry import register
from .verdicts import backward_with, check_true, compare, compare_gradients, float64, needs_tensor, tensor64

HINTS_MSE = [
    "Which Tensor operations do you need so that .backward() can follow every step?",
    "The loss is one number summarising every element's squared error; the gradient only reaches pred "
    "through operations the Tensor records.",
]

WRONG_MSE = [
    ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).sum()", "sum of the squares"),
    (
        "def mean_squared_error(pred, target):\n    d = pred.data - target.data\n    return tt.Tensor((d * d).mean())",
        "not connected",
    ),
    ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).mean() * 2", "factor"),
    ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).mean(axis=0)", "one number"),
    (
        "def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * tt.Tensor(d.data)).mean()",
        "gradient of pred is wrong",
    ),
    ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).mean().sqrt()", "root"),
]


@register("0.1", "mean_squared_error", HINTS_MSE, WRONG_MSE)
def check_mse(mean_squared_error):
    rng = np.random.default_rng(10)
    p_values, t_values = rng.standard_normal((3, 5)) * 2, rng.standard_normal((3, 5))
    pred, target = tensor64(p_values), tensor64(t_values, grad=False)
    with float64():
        loss = mean_squared_error(pred, target)
    needs_tensor(loss, "mean_squared_error")
    check_true(
        np.asarray(loss.data).size == 1,
        f"the loss has shape {loss.shape}: it must be one number, the mean over EVERY element (all axes)",
    )
    d2 = (p_values - t_values) ** 2
    n = d2.size
    compare(
        loss,
        d2.mean(),
        "mean_squared_error of a (3, 5) example",
        [
            (d2.sum(), f"that is the sum of the squares: take the mean (divide by the number of elements, {n})"),
            (np.abs(p_values - t_values).mean(), "that is the mean absolute difference: square the differences"),
            (np.sqrt(d2.mean()), "that is the root of the mean square: leave out the square root"),
            (d2.mean() * 2, "a factor 2 too large: the loss is the plain mean of the squares"),
            (d2.mean() / 2, "a factor 2 too small: the loss is the plain mean of the squares"),
        ],
    )
    check_true(
        loss.requires_grad,
        "the loss is not connected to pred (it was computed with numpy?): build it "
        "from Tensor operations so that .backward() can reach pred",
    )
    backward_with(loss)
    weight = float(np.random.default_rng(0).standard_normal(()))
    compare_gradients({"pred": pred.grad}, {"pred": weight * 2 * (p_values - t_values) / n}, "mean_squared_error")
