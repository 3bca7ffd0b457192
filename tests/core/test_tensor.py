"""The autograd engine: every op's gradient against finite differences, graph handling, errors."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck


@pytest.fixture
def rand():
    rng = np.random.default_rng(0)

    def make(*shape, positive=False):
        data = rng.standard_normal(shape)
        if positive:
            data = np.abs(data) + 0.5
        return Tensor(data, requires_grad=True, dtype=np.float64)

    return make


# --- every op, including broadcasting both ways -------------------------------------

BINARY_CASES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (2, 3))]


@pytest.mark.parametrize("shape_a, shape_b", BINARY_CASES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_ops_with_broadcasting(rand, op, shape_a, shape_b):
    a, b = rand(*shape_a), rand(*shape_b, positive=(op == "div"))
    fn = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
    }[op]
    gradcheck(fn, [a, b])
    out = fn(a, b)
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)


def test_scalars_on_either_side(rand):
    x = rand(3, 2, positive=True)
    gradcheck(lambda x: 2.0 - x * 3 + 1 / x - x / 4 + (-x) + x**3 + x**0.5 + 2**x, [x])


@pytest.mark.parametrize("name", ["exp", "tanh", "relu", "sigmoid", "gelu", "sqrt", "log"])
def test_unary_ops(rand, name):
    x = rand(4, 5, positive=name in ("sqrt", "log"))
    gradcheck(lambda x: getattr(x, name)(), [x])


def test_gelu_is_the_tanh_form():
    # computed as x * sigmoid(2u) (the same function, cheaper in wasm): equal up to rounding
    x = np.linspace(-4, 4, 9)
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(Tensor(x, dtype=np.float64).gelu().data, expected, rtol=1e-12, atol=1e-15)
    far = Tensor(np.array([-200.0, -60.0, 60.0], dtype=np.float32)).gelu().data  # exp overflows: the limits, no warning
    np.testing.assert_array_equal(far, np.array([0.0, 0.0, 60.0], dtype=np.float32))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(rand, axis):
    x = rand(3, 4, 5)
    gradcheck(lambda x: x.softmax(axis), [x])
    gradcheck(lambda x: x.log_softmax(axis), [x])
    np.testing.assert_allclose(x.softmax(axis).data.sum(axis), 1.0)


def test_softmax_is_stable_for_huge_logits():
    x = Tensor([[1000.0, 1000.0, -1000.0]])
    np.testing.assert_allclose(x.softmax().data, [[0.5, 0.5, 0.0]])
    assert np.isfinite(x.log_softmax().data[0, :2]).all()


def test_masked_softmax_gives_zero_weight_and_zero_grad_to_masked_entries(rand):
    scores = rand(2, 5, 5)
    mask = np.triu(np.ones((5, 5), dtype=bool), k=1)
    gradcheck(lambda s: s.masked_fill(mask, -1e9).softmax(-1), [scores])
    weights = scores.masked_fill(mask, -np.inf).softmax(-1)
    assert np.all(weights.data[:, mask] == 0)
    (weights * np.arange(5.0)).sum().backward()
    assert np.all(scores.grad[:, mask] == 0)


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((2, 2, 3, 4), (2, 2, 4, 3)),
        ((3, 4), (2, 4, 5)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
    ],
)
@pytest.mark.parametrize("backend", ["blas", "einsum"])
def test_matmul(rand, shape_a, shape_b, backend):
    previous = tt.kernels.backend()
    tt.kernels.set_backend(backend)
    try:
        a, b = rand(*shape_a), rand(*shape_b)
        gradcheck(lambda a, b: a @ b, [a, b])
        np.testing.assert_allclose((a @ b).data, a.data @ b.data, rtol=1e-12)
    finally:
        tt.kernels.set_backend(previous)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(rand, axis, keepdims):
    x = rand(2, 3, 4)
    gradcheck(lambda x: x.sum(axis=axis, keepdims=keepdims), [x])
    gradcheck(lambda x: x.mean(axis=axis, keepdims=keepdims), [x])
    gradcheck(lambda x: x.max(axis=axis, keepdims=keepdims), [x])
    np.testing.assert_allclose(x.mean(axis=axis, keepdims=keepdims).data, x.data.mean(axis=axis, keepdims=keepdims))


def test_max_splits_the_gradient_between_ties():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.5, 0.5])


def test_shape_ops(rand):
    x = rand(2, 3, 4)
    gradcheck(lambda x: x.reshape(4, 6) * np.arange(24.0).reshape(4, 6), [x])
    gradcheck(lambda x: x.transpose(0, 2) * np.arange(24.0).reshape(4, 3, 2), [x])
    gradcheck(lambda x: x.transpose(1, 2, 0) * np.arange(24.0).reshape(3, 4, 2), [x])
    gradcheck(lambda x: x.T * np.arange(24.0).reshape(4, 3, 2), [x])
    assert x.transpose(-2, -1).shape == (2, 4, 3)  # PyTorch's swap of two dims
    assert x.reshape(-1).shape == (24,)


def test_indexing_ints_slices_and_arrays(rand):
    x = rand(5, 3)
    gradcheck(lambda x: x[1], [x])
    gradcheck(lambda x: x[1:4, ::2], [x])
    gradcheck(lambda x: x[None, :, -1], [x])
    gradcheck(lambda x: x[x.data > 0], [x])


def test_integer_array_indexing_scatter_adds_repeated_indices(rand):
    table = rand(6, 3)
    ids = np.array([[0, 2, 2], [5, 2, 0]])
    gradcheck(lambda t: table_lookup(t, ids), [table])
    table.grad = None
    table[ids].sum().backward()
    np.testing.assert_allclose(table.grad[:, 0], [2, 0, 3, 0, 0, 1])


def table_lookup(table, ids):
    return table[ids] * table[ids]


def test_gather_with_two_index_arrays(rand):
    logits = rand(4, 6)
    rows, cols = np.arange(4), np.array([1, 1, 5, 0])
    gradcheck(lambda l: l[rows, cols], [logits])


def test_cat_stack_split(rand):
    a, b = rand(2, 3), rand(4, 3)
    gradcheck(lambda a, b: tt.cat([a, b, a], axis=0), [a, b])
    gradcheck(lambda a: tt.stack([a, a * 2], axis=1), [a])
    gradcheck(lambda b: b.split([1, 3], axis=0)[1] * b.split(2, axis=0)[0].sum(), [b])
    with pytest.raises(ValueError, match="add up to"):
        b.split([1, 2], axis=0)


def test_float64_is_kept_through_every_op(rand):
    x = rand(3, 4)
    w = rand(4, 4)
    y = ((x @ w).gelu().softmax(-1).log() * 2 + 1).tanh().mean(axis=0).exp().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float64


def test_float32_is_the_default_and_stays_float32():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert x.dtype == np.float32
    y = (x * 0.5 + np.ones((3, 4)) - 1).sigmoid() / 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_default_dtype_context():
    with tt.default_dtype(np.float64):
        assert Tensor([1.0]).dtype == np.float64
    assert Tensor([1.0]).dtype == np.float32
    assert Tensor(np.array([1, 2])).dtype.kind == "i"  # token ids stay integers


# --- graph mechanics --------------------------------------------------------------------


def test_residual_diamond_runs_each_backward_once():
    x = Tensor(3.0, requires_grad=True)
    h = x * x  # used three times below
    y = h + h * h + h.tanh()
    y.backward()
    t = np.tanh(9.0)
    assert x.grad == pytest.approx(2 * 3 * (1 + 2 * 9 + (1 - t * t)))


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000)


def test_gradients_accumulate_until_cleared():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_shared_gradient_arrays_are_not_aliased_between_leaves():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad *= 10  # a user scaling one gradient in place must not change the other
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_requires_grad_propagates_and_no_grad_stops_it():
    w = Tensor([1.0], requires_grad=True)
    c = Tensor([2.0])
    assert (w * c).requires_grad and not (c * c).requires_grad
    with tt.no_grad():
        y = w * c
    assert not y.requires_grad and y._parents == ()
    assert tt.is_grad_enabled()

    @tt.no_grad()
    def infer(v):
        return v * 2

    assert not infer(w).requires_grad
    with tt.no_grad(), tt.enable_grad():
        assert (w * 2).requires_grad


def test_detach_cuts_the_graph():
    x = Tensor([2.0], requires_grad=True)
    y = x * x.detach()
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0])


def test_graph_is_freed_without_the_cycle_collector():
    import gc
    import weakref

    gc.disable()
    try:
        x = Tensor(np.ones((4, 4)), requires_grad=True)
        y = (x * 2).tanh()
        ref = weakref.ref(y)
        loss = y.sum()
        loss.backward()
        del y, loss
        assert ref() is None, "an op's closure references its own output (a reference cycle)"
    finally:
        gc.enable()


# --- bad input ----------------------------------------------------------------------------


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match="cannot reshape"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


def test_backward_on_non_scalar_without_grad_says_what_to_do():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*sum\(\)"):
        (x * 2).backward()
    (x * 2).backward(np.ones(3))
    np.testing.assert_allclose(x.grad, [2, 2, 2])


def test_backward_without_graph_and_int_grad_are_clear_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()
    with pytest.raises(TypeError, match="only float tensors"):
        Tensor(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="in place"):
        Tensor([1.0])[0] = 2.0


def test_repr_is_readable():
    text = repr(Tensor([1.0, 2.0], requires_grad=True))
    assert text.startswith("tensor([1., 2.]") and "requires_grad=True" in text
