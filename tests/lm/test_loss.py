"""LanguageModelLoss: the mean next-token cross-entropy over (B, T), its gradient, ignore_index."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.gradcheck import gradcheck
from tinytorch.training import LanguageModelLoss


def reference_loss(logits, targets, ignore_index=None):
    """Plain numpy cross-entropy in float64, position by position."""
    logits = np.asarray(logits, dtype=np.float64)
    B, T, V = logits.shape
    losses = []
    for b in range(B):
        for t in range(T):
            if ignore_index is not None and targets[b, t] == ignore_index:
                continue
            row = logits[b, t]
            log_z = np.log(np.sum(np.exp(row - row.max()))) + row.max()
            losses.append(log_z - row[targets[b, t]])
    return float(np.mean(losses))


def test_matches_reference_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7)).astype(np.float32)
    targets = rng.integers(0, 7, size=(3, 5))
    loss = LanguageModelLoss()(tt.Tensor(logits), targets)
    assert loss.shape == () or loss.data.size == 1
    assert loss.item() == pytest.approx(reference_loss(logits, targets), rel=1e-5)
    # Targets as a Tensor work the same.
    assert LanguageModelLoss()(tt.Tensor(logits), tt.Tensor(targets)).item() == pytest.approx(loss.item())


def test_uniform_logits_give_log_vocab():
    loss = LanguageModelLoss()(tt.Tensor(np.zeros((2, 4, 65))), np.zeros((2, 4), dtype=np.int64))
    assert loss.item() == pytest.approx(np.log(65), rel=1e-6)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 6, size=(2, 3))
    logits = tt.Tensor(rng.normal(size=(2, 3, 6)), requires_grad=True, dtype=np.float64)
    error = gradcheck(lambda z: LanguageModelLoss()(z, targets), [logits])
    assert error < 1e-6


def test_ignore_index_skips_positions():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 4, 5))
    targets = rng.integers(0, 4, size=(2, 4))
    targets[0, 1] = targets[1, 3] = 4  # "padding"
    loss = LanguageModelLoss(ignore_index=4)(tt.Tensor(logits, dtype=np.float64), targets)
    assert loss.item() == pytest.approx(reference_loss(logits, targets, ignore_index=4), rel=1e-6)
    assert loss.item() != pytest.approx(reference_loss(logits, targets), rel=1e-6)


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        LanguageModelLoss()(tt.Tensor(np.zeros((4, 5))), np.zeros((4,), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(2, 3, 5\)"):
        LanguageModelLoss()(tt.Tensor(np.zeros((2, 3, 5))), np.zeros((2, 4), dtype=np.int64))
