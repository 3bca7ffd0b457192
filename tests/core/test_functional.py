"""nn.functional: every fused op's hand-written backward agrees with finite differences (float64),
its forward with a plain numpy reference, and bad input gets an error naming the problem."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, kernels
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import functional as F


def rand(*shape, seed=0, grad=True, scale=1.0):
    data = scale * np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=grad, dtype=np.float64)


@pytest.fixture(params=["blas", "einsum"])
def backend(request):
    previous = kernels.backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(previous)


# --- linear -----------------------------------------------------------------------------------


def test_linear_matches_numpy_and_keeps_leading_dims(backend):
    x, w, b = rand(2, 3, 4), rand(4, 5, seed=1), rand(5, seed=2)
    y = F.linear(x, w, b)
    assert y.shape == (2, 3, 5)
    np.testing.assert_allclose(y.data, x.data @ w.data + b.data, rtol=1e-12)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
def test_linear_gradients(shape, backend):
    x, w, b = rand(*shape), rand(4, 5, seed=1), rand(5, seed=2)
    gradcheck(lambda x, w, b: F.linear(x, w, b), [x, w, b])
    gradcheck(lambda x, w: F.linear(x, w), [x, w])


def test_linear_only_computes_needed_gradients():
    x, w = rand(3, 4, grad=False), rand(4, 2, seed=1)
    F.linear(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 2)
    np.testing.assert_allclose(w.grad, x.data.sum(axis=0)[:, None] * np.ones((1, 2)))


def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        F.linear(rand(2, 3), rand(4, 5))
    with pytest.raises(ValueError, match="bias"):
        F.linear(rand(2, 4), rand(4, 5), rand(3))


# --- layer norm -------------------------------------------------------------------------------


def test_layer_norm_normalises_the_last_dim():
    x = rand(2, 3, 6, scale=5.0)
    y = F.layer_norm(x, None, None).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-5)  # eps makes it slightly less than 1
    w, b = rand(6, seed=1), rand(6, seed=2)
    x0 = x.data
    expected = (x0 - x0.mean(-1, keepdims=True)) / np.sqrt(x0.var(-1, keepdims=True) + 1e-5) * w.data + b.data
    np.testing.assert_allclose(F.layer_norm(x, w, b).data, expected, rtol=1e-10)


def test_layer_norm_gradients():
    x, w, b = rand(2, 3, 5), rand(5, seed=1), rand(5, seed=2)
    gradcheck(lambda x, w, b: F.layer_norm(x, w, b), [x, w, b])
    gradcheck(lambda x: F.layer_norm(x, None, None, eps=1e-3), [rand(4, 3, seed=3)])


def test_layer_norm_rejects_wrong_parameter_shape():
    with pytest.raises(ValueError, match=r"weight has shape \(4,\).*last dim is 5"):
        F.layer_norm(rand(2, 5), rand(4), rand(5))


# --- embedding --------------------------------------------------------------------------------


def test_embedding_gathers_rows_and_scatter_adds_repeated_ids():
    weight = rand(6, 3)
    ids = np.array([[1, 4, 1], [1, 0, 5]], dtype=np.int64)  # id 1 three times
    out = F.embedding(ids, weight)
    np.testing.assert_array_equal(out.data, weight.data[ids])
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((6, 3))
    np.add.at(expected, ids, g)
    np.testing.assert_allclose(weight.grad, expected, rtol=1e-12)
    assert np.all(weight.grad[[2, 3]] == 0)  # rows nobody looked up get nothing
    gradcheck(lambda w: F.embedding(ids, w), [weight])


def test_embedding_backward_on_a_large_table_matches_add_at():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 1000, size=(4, 50))
    weight = Tensor(rng.standard_normal((1000, 8)), requires_grad=True, dtype=np.float32)
    g = rng.standard_normal((4, 50, 8)).astype(np.float32)
    F.embedding(Tensor(ids), weight).backward(g)
    expected = np.zeros((1000, 8), np.float32)
    np.add.at(expected, ids, g)
    np.testing.assert_allclose(weight.grad, expected, rtol=1e-5, atol=1e-5)
    assert weight.grad.dtype == np.float32


def test_embedding_errors_name_the_bad_id_and_the_range():
    weight = rand(5, 2)
    with pytest.raises(IndexError, match=r"id 7 .*0\.\.4"):
        F.embedding(np.array([0, 7, 2]), weight)
    with pytest.raises(IndexError, match=r"id -1 .*0\.\.4"):
        F.embedding(np.array([-1, 2]), weight)
    with pytest.raises(TypeError, match="integer ids, got dtype float64.*astype"):
        F.embedding(np.array([1.0, 2.0]), weight)


# --- cross-entropy ----------------------------------------------------------------------------


def naive_cross_entropy(logits, targets):
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]


def test_cross_entropy_value_2d_and_3d():
    logits = rand(4, 7)
    t = np.array([0, 6, 3, 3])
    assert F.cross_entropy(logits, t).item() == pytest.approx(naive_cross_entropy(logits.data, t).mean(), rel=1e-12)
    logits3 = rand(2, 3, 7, seed=1)
    t3 = np.array([[1, 2, 3], [4, 5, 6]])
    assert F.cross_entropy(logits3, t3).item() == pytest.approx(naive_cross_entropy(logits3.data, t3).mean(), rel=1e-12)
    assert F.cross_entropy(logits3, Tensor(t3)).item() == pytest.approx(F.cross_entropy(logits3, t3).item())


def test_cross_entropy_of_uniform_logits_is_log_v():
    assert F.cross_entropy(Tensor(np.zeros((3, 65))), np.array([0, 5, 64])).item() == pytest.approx(
        np.log(65), rel=1e-6
    )


def test_cross_entropy_gradients():
    logits = rand(5, 4)
    t = np.array([0, 3, 3, 1, 2])
    gradcheck(lambda z: F.cross_entropy(z, t), [logits])
    gradcheck(lambda z: F.cross_entropy(z, t, reduction="sum"), [logits])
    gradcheck(lambda z: F.cross_entropy(z, t, reduction="none"), [logits])


def test_cross_entropy_3d_with_ignore_index():
    logits = rand(2, 4, 5)
    t = np.array([[1, -100, 4, 0], [-100, -100, 2, 3]])
    loss = F.cross_entropy(logits, t, ignore_index=-100)
    keep = t != -100
    expected = naive_cross_entropy(logits.data[keep], t[keep]).mean()  # mean over the 5 real targets only
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    assert np.all(logits.grad[~keep] == 0)
    gradcheck(lambda z: F.cross_entropy(z, t, ignore_index=-100), [rand(2, 4, 5, seed=3)])
    everything_ignored = F.cross_entropy(logits, np.full((2, 4), -100), ignore_index=-100)
    assert everything_ignored.item() == 0.0


def test_cross_entropy_is_stable_for_huge_logits():
    logits = Tensor(np.array([[1e4, 0.0, -1e4], [3e4, 3e4, 0.0]]), requires_grad=True, dtype=np.float32)
    loss = F.cross_entropy(logits, np.array([0, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(np.log(2) / 2, rel=1e-5)
    assert np.all(np.isfinite(logits.grad))


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(3, 2\)"):
        F.cross_entropy(rand(2, 3, 5), np.zeros((3, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(3,\)"):
        F.cross_entropy(rand(4, 5), np.zeros(3, dtype=np.int64))
    with pytest.raises(IndexError, match=r"target 5 .*5 classes.*0\.\.4"):
        F.cross_entropy(rand(2, 5), np.array([1, 5]))
    with pytest.raises(TypeError, match="integers"):
        F.cross_entropy(rand(2, 5), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(rand(2, 5), np.array([1, 2]), reduction="avg")


def test_float32_stays_float32():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    w = Tensor(np.ones((4, 5)), requires_grad=True)
    y = F.layer_norm(F.linear(x, w), None, None)
    loss = F.cross_entropy(F.dropout(y, 0.1), np.zeros((2, 3), dtype=np.int64))
    assert y.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# --- activations ------------------------------------------------------------------------------


def test_activation_values():
    x = rand(3, 4)
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x.data, 0))
    expected = 0.5 * x.data * (1 + np.tanh(np.sqrt(2 / np.pi) * (x.data + 0.044715 * x.data**3)))
    np.testing.assert_allclose(F.gelu(x).data, expected, rtol=1e-12)
    s = F.softmax(x, axis=-1).data
    np.testing.assert_allclose(s.sum(axis=-1), 1.0)
    np.testing.assert_allclose(F.log_softmax(x, axis=0).data, np.log(F.softmax(x, axis=0).data), rtol=1e-10)


@pytest.mark.parametrize("fn", [F.relu, F.gelu, F.tanh, lambda x: F.softmax(x, axis=0), lambda x: F.log_softmax(x, -1)])
def test_activation_gradients(fn):
    gradcheck(fn, [rand(3, 4, seed=5)])


# --- dropout ----------------------------------------------------------------------------------


def test_dropout_zeroes_a_fraction_and_keeps_the_mean():
    tt.manual_seed(0)
    x = Tensor(np.ones((200, 100)))
    y = F.dropout(x, 0.25).data
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_is_identity_when_not_training_or_p_zero():
    x = rand(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_dropout_is_reproducible_and_gradchecks_with_a_fixed_mask():
    x = rand(4, 5)
    tt.manual_seed(3)
    first = F.dropout(x, 0.4).data
    tt.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.4).data, first)

    def fn(x):
        tt.manual_seed(7)  # the same mask on every evaluation, so finite differences make sense
        return F.dropout(x, 0.4)

    gradcheck(fn, [x])
    x.grad = None
    fn(x).backward(np.ones(x.shape))
    mask = fn(x).data != 0
    np.testing.assert_allclose(x.grad, mask / 0.6)


def test_fused_ops_can_run_backward_twice():
    # A backward must not change what its forward saved: a second backward() over the same
    # graph gives the same gradients again (so they add up to exactly twice the first).
    x, w, b = rand(2, 3, 4), rand(4, 5, seed=1), rand(5, seed=2)
    lw, lb, table = rand(5, seed=3), rand(5, seed=4), rand(7, 4, seed=5)
    ids = np.array([[1, 1, 6], [0, 1, 2]])
    tt.manual_seed(0)
    h = F.embedding(ids, table) + x
    h = F.dropout(F.layer_norm(F.linear(h, w, b), lw, lb), 0.3)
    loss = F.cross_entropy(h, np.array([[0, 4, 2], [1, 1, 3]]), ignore_index=3)
    params = [x, w, b, lw, lb, table]
    loss.backward()
    first = [p.grad.copy() for p in params]
    loss.backward()
    for p, g in zip(params, first):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12, atol=1e-15)
