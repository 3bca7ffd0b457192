"""The benchmark floor (benchmarks/numpy_floor.py) must be a correct GPT step to be a fair reference.

Its hand-derived gradients are checked against central finite differences in float64, its
loss and gradients against tinytorch's TinyGPT given the same weights, and its AdamW update
against tinytorch.optim.AdamW.
"""

import numpy as np
import pytest

from benchmarks import numpy_floor as floor

TINY = floor.FloorConfig(vocab_size=11, block_size=6, n_layer=2, n_head=2, n_embd=8)


def batch(config, B=3, T=5, seed=1):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, config.vocab_size, (B, T), dtype=np.int64)
    targets = rng.integers(0, config.vocab_size, (B, T), dtype=np.int64)
    return idx, targets


def perturbed_params(config, seed=0):
    """float64 parameters with non-trivial LayerNorm weights and biases (zeros hide bugs)."""
    params = floor.init_params(config, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 100)
    for p in params.values():
        p += (0.3 if p.ndim == 1 else 0.2) * rng.standard_normal(p.shape)
    return params


@pytest.mark.parametrize("blas", [True, False], ids=["matmul", "einsum"])
def test_floor_gradients_match_finite_differences(blas):
    params = perturbed_params(TINY)
    model = floor.NumpyGPT(TINY, params=params, blas=blas)
    idx, targets = batch(TINY)
    loss, grads = model.loss_and_grads(idx, targets)
    assert set(grads) == set(params)
    rng = np.random.default_rng(3)
    eps = 1e-6
    for name, p in params.items():
        assert grads[name].shape == p.shape, name
        # every element of small tensors, a random sample of larger ones
        flat = np.arange(p.size) if p.size <= 24 else rng.choice(p.size, 24, replace=False)
        for i in flat:
            pos = np.unravel_index(i, p.shape)
            old = p[pos]
            p[pos] = old + eps
            up = model.loss(idx, targets)
            p[pos] = old - eps
            down = model.loss(idx, targets)
            p[pos] = old
            numeric = (up - down) / (2 * eps)
            assert grads[name][pos] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (name, pos)


def test_floor_loss_is_cross_entropy_of_uniform_at_zero_head():
    params = floor.init_params(TINY, dtype=np.float64)
    params["head.w"][:] = 0.0  # all logits equal -> loss = log(V)
    model = floor.NumpyGPT(TINY, params=params)
    loss, _ = model.loss_and_grads(*batch(TINY))
    assert loss == pytest.approx(np.log(TINY.vocab_size), rel=1e-12)


def test_floor_keeps_float32():
    cfg = floor.FloorConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=16)
    model = floor.NumpyGPT(cfg)
    _, grads = model.loss_and_grads(*batch(cfg, T=8))
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


def test_floor_training_reduces_loss_on_a_fixed_batch():
    cfg = floor.FloorConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)
    model = floor.NumpyGPT(cfg)
    opt = floor.AdamW(model.params, lr=1e-2)
    idx, targets = batch(cfg, B=4, T=8)
    first = floor.train_step(model, opt, idx, targets)
    for _ in range(60):
        last = floor.train_step(model, opt, idx, targets)
    assert last < 0.3 * first


# --- the floor computes exactly what tinytorch's TinyGPT computes --------------------------


def tinygpt_and_floor(dtype=np.float64, seed=0):
    import tinytorch as tt
    from tinytorch.models import TinyGPT, TinyGPTConfig

    tt.manual_seed(seed)
    with tt.default_dtype(dtype):
        model = TinyGPT(
            TinyGPTConfig(
                vocab_size=TINY.vocab_size,
                block_size=TINY.block_size,
                n_layer=TINY.n_layer,
                n_head=TINY.n_head,
                n_embd=TINY.n_embd,
                dropout=0.0,
            )
        )
    # non-trivial LayerNorm parameters and biases, the same in both
    rng = np.random.default_rng(seed + 7)
    for _, p in model.named_parameters():
        p.data = (p.data + 0.1 * rng.standard_normal(p.shape)).astype(dtype)
    return model, floor.NumpyGPT(TINY, params=floor.params_from_tinygpt(model))


@pytest.mark.parametrize("backend", ["blas", "einsum"])
def test_floor_matches_tinytorch_loss_and_every_gradient(backend):
    from tinytorch import kernels
    from tinytorch.nn import functional as F

    previous = kernels.backend()
    kernels.set_backend(backend)
    try:
        model, reference = tinygpt_and_floor()
        idx, targets = batch(TINY)
        loss = F.cross_entropy(model(idx), targets)
        loss.backward()
        floor_loss, grads = reference.loss_and_grads(idx, targets)
    finally:
        kernels.set_backend(previous)
    assert float(loss.data) == pytest.approx(floor_loss, rel=1e-12)
    for name, p in model.named_parameters():
        floor_name = next(n for n in grads if floor.tinygpt_name(n) == name)
        np.testing.assert_allclose(p.grad, grads[floor_name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_floor_adamw_matches_tinytorch_adamw():
    from tinytorch import Tensor
    from tinytorch.optim import AdamW

    rng = np.random.default_rng(5)
    start = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    tensors = {n: Tensor(v.copy(), requires_grad=True, dtype=np.float64) for n, v in start.items()}
    ours = AdamW(list(tensors.values()), lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.1)
    mine = floor.AdamW({n: v.copy() for n, v in start.items()}, lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.1)
    for step in range(4):
        grads = {n: rng.standard_normal(v.shape) for n, v in start.items()}
        for n, t in tensors.items():
            t.grad = grads[n].copy()
        ours.step()
        mine.step(grads)
        for n in start:
            np.testing.assert_allclose(
                tensors[n].data, mine.params[n], rtol=1e-12, atol=1e-14, err_msg=f"{n} step {step}"
            )
