"""Optimizers, clipping and the schedule, checked against closed-form values step by step."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.optim import SGD, Adam, AdamW, CosineWarmup, clip_grad_norm_, cosine_with_warmup


def param(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True, dtype=np.float64)


def set_grad(p, values):
    g = np.array(values, dtype=p.dtype)
    g.setflags(write=False)  # optimizers must only read gradients
    p.grad = g


# --- SGD --------------------------------------------------------------------------------------


def test_sgd_plain_and_weight_decay():
    p = param([1.0, -2.0])
    opt = SGD([p], lr=0.1)
    set_grad(p, [0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, -2.1], rtol=1e-15)
    q = param([1.0, -2.0])
    opt = SGD([q], lr=0.1, weight_decay=0.5)
    set_grad(q, [0.0, 0.0])
    opt.step()
    np.testing.assert_allclose(q.data, [1.0 - 0.05, -2.0 + 0.1], rtol=1e-15)


def test_sgd_momentum_closed_form():
    # constant gradient g: buffers are g, (1 + m) g, (1 + m + m^2) g
    p, g, lr, m = param([0.0, 1.0]), np.array([1.0, -2.0]), 0.1, 0.9
    opt = SGD([p], lr=lr, momentum=m)
    for _ in range(3):
        set_grad(p, g)
        opt.step()
    expected = np.array([0.0, 1.0]) - lr * g * (1 + (1 + m) + (1 + m + m * m))
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)


def test_parameters_without_gradients_are_skipped():
    a, b = param([1.0]), param([2.0])
    opt = SGD([a, b], lr=1.0)
    set_grad(a, [1.0])
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 2.0


# --- Adam and AdamW ---------------------------------------------------------------------------


def test_adam_bias_correction_closed_form():
    # With a constant gradient the bias-corrected moments are exactly g and g^2, so every
    # step moves each weight by lr * g / (|g| + eps): without the correction the first step
    # would be (1 - b1) / sqrt(1 - b2) = 3.16 times larger.
    g, lr, eps = np.array([0.3, -2.0, 1e-3]), 0.01, 1e-8
    p = param([1.0, 1.0, 1.0])
    opt = Adam([p], lr=lr, eps=eps)
    for step in range(1, 4):
        set_grad(p, g)
        opt.step()
        np.testing.assert_allclose(p.data, 1.0 - step * lr * g / (np.abs(g) + eps), rtol=1e-12)


def test_adam_weight_decay_is_coupled():
    # zero gradient: Adam's L2 term goes through the moments, so the first step is lr * sign(p)
    p = param([2.0, -0.5])
    opt = Adam([p], lr=0.1, weight_decay=0.1)
    set_grad(p, [0.0, 0.0])
    opt.step()
    wd_grad = 0.1 * np.array([2.0, -0.5])
    np.testing.assert_allclose(p.data, [2.0, -0.5] - 0.1 * wd_grad / (np.abs(wd_grad) + 1e-8), rtol=1e-12)


def test_adamw_decay_is_decoupled():
    # zero gradient: AdamW only shrinks the weights, by (1 - lr * wd) per step
    p = param([2.0, -0.5])
    opt = AdamW([p], lr=0.1, weight_decay=0.2)
    for _ in range(3):
        set_grad(p, [0.0, 0.0])
        opt.step()
    np.testing.assert_allclose(p.data, np.array([2.0, -0.5]) * (1 - 0.1 * 0.2) ** 3, rtol=1e-14)
    # with a gradient: decay first, then the Adam step (of size lr on step 1)
    q = param([1.0])
    opt = AdamW([q], lr=0.1, weight_decay=0.5)
    set_grad(q, [3.0])
    opt.step()
    assert q.data[0] == pytest.approx(1.0 * (1 - 0.05) - 0.1 * 3.0 / (3.0 + 1e-8), rel=1e-14)
    assert AdamW([param([1.0])]).param_groups[0]["weight_decay"] == 0.01


def test_param_groups_have_their_own_settings():
    w, b = param([1.0, 1.0]), param([1.0])
    opt = AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0, "lr": 0.5}], lr=0.1, weight_decay=0.5)
    assert opt.lr == 0.1 and opt.param_groups[1]["lr"] == 0.5
    set_grad(w, [0.0, 0.0])
    set_grad(b, [0.0])
    opt.step()
    np.testing.assert_allclose(w.data, 1 - 0.1 * 0.5)
    assert b.data[0] == 1.0  # no decay in the second group
    opt.lr = 0.01
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    with pytest.raises(ValueError, match="twice"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="model.parameters"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        Adam([Tensor(np.zeros(3))])
    with pytest.raises(ValueError, match="learning rate"):
        Adam([param([1.0])], lr=-1)
    with pytest.raises(ValueError, match="betas"):
        Adam([param([1.0])], betas=(0.9, 1.0))
    model = nn.Linear(2, 2)
    assert len(SGD(model, lr=0.1).param_groups[0]["params"]) == 2  # a module works too


def test_zero_grad():
    model = nn.Linear(2, 1)
    opt = SGD(model.parameters(), lr=0.1)
    model(Tensor(np.ones((1, 2)))).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# --- state dicts ------------------------------------------------------------------------------


def run(opt, params, grads):
    for g in grads:
        for p, gp in zip(params, g):
            set_grad(p, gp)
        opt.step()


@pytest.mark.parametrize(
    "make", [lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9)]
)
def test_optimizer_state_dict_restores_moments_and_steps_exactly(make, tmp_path):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal(s.shape) for s in start] for _ in range(5)]

    straight = [param(s) for s in start]
    opt = make(straight)
    run(opt, straight, grads)

    first = [param(s) for s in start]
    opt1 = make(first)
    run(opt1, first, grads[:3])
    tt.save({"optimizer": opt1.state_dict(), "params": [p.data for p in first]}, tmp_path / "ckpt.npz")
    saved = tt.load(tmp_path / "ckpt.npz")
    resumed = [param(a) for a in saved["params"]]
    opt2 = make(resumed)
    opt2.lr = 123.0  # overwritten by the loaded state
    opt2.load_state_dict(saved["optimizer"])
    assert opt2.lr == opt.lr
    run(opt2, resumed, grads[3:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_optimizer_load_state_dict_mismatch_changes_nothing():
    a = AdamW([param([1.0, 2.0])])
    set_grad(a.param_groups[0]["params"][0], [1.0, 1.0])
    a.step()
    b = AdamW([param([1.0, 2.0, 3.0])], lr=0.5)
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        b.load_state_dict(a.state_dict())
    assert b.lr == 0.5 and b.state == {}
    with pytest.raises(ValueError, match="SGD"):
        AdamW([param([1.0])]).load_state_dict(SGD([param([1.0])], lr=0.1).state_dict())


# --- clipping ---------------------------------------------------------------------------------


def test_clip_grad_norm_scales_out_of_place_and_returns_the_norm():
    a, b = param([0.0, 0.0]), param([0.0])
    set_grad(a, [3.0, 0.0])
    set_grad(b, [4.0])
    old = a.grad
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad, [0.8], rtol=1e-6)
    np.testing.assert_array_equal(old, [3.0, 0.0])  # the old array was not changed in place
    assert clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(a.grad, [0.6, 0.0], rtol=1e-6)  # below the limit: untouched
    set_grad(a, [np.inf, 0.0])
    assert math.isinf(clip_grad_norm_([a, b], 1.0))


# --- schedule ---------------------------------------------------------------------------------


def test_cosine_with_warmup_values():
    kw = dict(lr=1.0, warmup_steps=10, max_steps=110, min_lr=0.1)
    assert cosine_with_warmup(0, **kw) == pytest.approx(0.1)  # first update: 1/10 of the peak
    assert cosine_with_warmup(4, **kw) == pytest.approx(0.5)
    assert cosine_with_warmup(9, **kw) == pytest.approx(1.0)  # end of warm-up: the peak
    assert cosine_with_warmup(10, **kw) == pytest.approx(1.0)
    assert cosine_with_warmup(60, **kw) == pytest.approx(0.55)  # half way: (max + min) / 2
    assert cosine_with_warmup(110, **kw) == pytest.approx(0.1)
    assert cosine_with_warmup(500, **kw) == pytest.approx(0.1)
    values = [cosine_with_warmup(s, **kw) for s in range(10, 111)]
    assert all(x >= y for x, y in zip(values, values[1:]))
    halfway = 0.5 * (1 + math.cos(math.pi / 2))
    assert cosine_with_warmup(5, lr=1.0, warmup_steps=0, max_steps=10) == pytest.approx(halfway)
    with pytest.raises(ValueError, match="warmup_steps"):
        cosine_with_warmup(0, lr=1.0, warmup_steps=20, max_steps=10)


def test_old_names_of_the_peak_and_the_length_still_work():
    with pytest.warns(DeprecationWarning, match="max_lr= is now called lr="):
        assert cosine_with_warmup(60, max_lr=1.0, warmup_steps=10, max_steps=110, min_lr=0.1) == pytest.approx(0.55)
    with pytest.warns(DeprecationWarning, match="total_steps= is now called max_steps="):
        assert cosine_with_warmup(60, lr=1.0, warmup_steps=10, total_steps=110, min_lr=0.1) == pytest.approx(0.55)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="give lr= only"):
        cosine_with_warmup(0, lr=1.0, max_lr=2.0, warmup_steps=0, max_steps=10)


def test_cosine_warmup_is_the_formula_with_its_settings():
    schedule = CosineWarmup(lr=2.0, max_steps=20, warmup_steps=4)
    assert [schedule(s) for s in range(25)] == [
        cosine_with_warmup(s, lr=2.0, warmup_steps=4, max_steps=20, min_lr=0.2) for s in range(25)
    ]  # floor: lr / 10
    assert schedule(3) == 2.0 and schedule(20) == pytest.approx(0.2)
    assert CosineWarmup(2.0, 20, min_lr=0.0)(20) == 0.0
    assert schedule.settings() == {"lr_schedule": "cosine", "warmup_steps": 4, "max_steps": 20, "min_lr": 0.2}
    with pytest.raises(ValueError, match="warmup_steps <= max_steps"):
        CosineWarmup(1.0, max_steps=10, warmup_steps=20)
    with pytest.raises(ValueError, match="CosineWarmup: lr must be a number"):
        CosineWarmup(None, 10)
