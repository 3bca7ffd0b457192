"""One table of every public op, and the rules of ARCHITECTURE.md checked on each of them.

Every op of `Tensor` (methods and operators), `tinytorch.cat`/`stack`, every public function
of `nn.functional`, and the fused `causal_attention` is listed in OPS with a numpy reference.
Each entry is checked for (the "adding an op" checklist in ARCHITECTURE.md):

    forward       matches the numpy reference (float64)
    gradients     match central finite differences (gradcheck, float64)
    dtype         float32 in -> float32 out, and float32 gradients
    graph freeing once the caller drops the output, the whole graph is freed by reference
                  counting alone (gc disabled): no backward closure references its own output
    no_grad       builds no graph (no parents, no closure)
    backward x2   calling backward() twice on one graph adds the gradients up

`test_every_public_op_is_in_the_table` fails when a new public op is added without an entry
(the model for this file is tinygrad's `helper_test_op` in test/test_ops.py).
"""

import gc
import inspect
import weakref
from dataclasses import dataclass, field

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import functional as F
from tinytorch.nn.attention import causal_attention


@dataclass
class Op:
    """One row of the table: `fn(*tensors)` must equal `ref(*arrays)`."""

    name: str  # the public name it covers: "__add__", "sum", "functional.linear", ...
    fn: object
    ref: object
    shapes: list
    positive: tuple = ()  # indices of inputs that must be > 0 (log, sqrt, division)
    note: str = ""  # tells two rows of one op apart in the test ids
    extra: dict = field(default_factory=dict)

    @property
    def id(self):
        return self.name + (f"[{self.note}]" if self.note else "")


# --- numpy references -------------------------------------------------------------------


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def np_layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def np_cross_entropy(z, t):
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return -np.take_along_axis(logp, t[..., None], -1).mean()


def np_causal_attention(qkv, H):
    B, T, C3 = qkv.shape
    C = C3 // 3
    d = C // H
    q, k, v = (qkv[..., i * C : (i + 1) * C].reshape(B, T, H, d).transpose(0, 2, 1, 3) for i in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    scores = np.where(np.triu(np.ones((T, T), bool), 1), -np.inf, scores)
    return (np_softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(B, T, C)


def np_dropout(x, p):
    keep = np.random.default_rng(0).random(x.shape, dtype=x.dtype) >= p
    return x * keep / (1 - p)


def seeded_dropout(x, p=0.3):
    tt.manual_seed(0)  # the same mask on every call: gradcheck calls fn many times
    return F.dropout(x, p)


MASK = np.random.default_rng(1).random((3, 4)) > 0.5
IDS = np.array([[0, 3, 3], [4, 1, 0]])
TARGETS = np.array([2, 0, 4, 4])
CONSTANT = np.random.default_rng(2).standard_normal((4, 3))


# --- the table -----------------------------------------------------------------------------

OPS = [
    # arithmetic (broadcasting both ways; reversed forms with a plain number)
    Op("__add__", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)]),
    Op("__radd__", lambda x: 1.5 + x, lambda x: 1.5 + x, [(3, 4)]),
    Op("__sub__", lambda a, b: a - b, lambda a, b: a - b, [(3, 4), (3, 1)]),
    Op("__rsub__", lambda x: 2.0 - x, lambda x: 2.0 - x, [(3, 4)]),
    Op("__mul__", lambda a, b: a * b, lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    Op("__rmul__", lambda x: 3.0 * x, lambda x: 3.0 * x, [(3, 4)]),
    Op("__truediv__", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (1, 4)], positive=(1,)),
    Op("__rtruediv__", lambda x: 2.0 / x, lambda x: 2.0 / x, [(3, 4)], positive=(0,)),
    Op("__neg__", lambda x: -x, lambda x: -x, [(3, 4)]),
    Op("__pow__", lambda x: x**3, lambda x: x**3, [(3, 4)], note="cube"),
    Op("__pow__", lambda x: x**2, lambda x: x**2, [(3, 4)], note="square"),
    Op("__pow__", lambda x: x**-0.5, lambda x: x**-0.5, [(3, 4)], positive=(0,), note="negative"),
    Op("__rpow__", lambda x: 2.0**x, lambda x: 2.0**x, [(3, 4)]),
    # matrix products
    Op("__matmul__", lambda a, b: a @ b, lambda a, b: a @ b, [(4, 3), (3, 5)], note="2d"),
    Op("__matmul__", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 4, 3), (3, 5)], note="linear"),
    Op("__matmul__", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 4, 3), (2, 3, 5)], note="batched"),
    Op("__matmul__", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 4, 3), (3, 3, 5)], note="broadcast"),
    Op("__matmul__", lambda a, b: a @ b, lambda a, b: a @ b, [(3,), (3, 5)], note="vector"),
    Op("__rmatmul__", lambda x: CONSTANT @ x, lambda x: CONSTANT @ x, [(3, 5)]),
    # reductions
    Op("sum", lambda x: x.sum(), lambda x: x.sum(), [(3, 4)], note="all"),
    Op(
        "sum", lambda x: x.sum(axis=-1, keepdims=True), lambda x: x.sum(-1, keepdims=True), [(2, 3, 4)], note="keepdims"
    ),
    Op("mean", lambda x: x.mean(axis=(0, 2)), lambda x: x.mean((0, 2)), [(2, 3, 4)]),
    Op("max", lambda x: x.max(axis=1), lambda x: x.max(1), [(3, 4)]),
    Op("min", lambda x: x.min(axis=0), lambda x: x.min(0), [(3, 4)]),
    # shapes and indexing
    Op("reshape", lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), [(2, 3, 4)]),
    Op("view", lambda x: x.view((6, 4)), lambda x: x.reshape(6, 4), [(2, 3, 4)]),
    Op("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [(2, 3, 4)]),
    Op("transpose", lambda x: x.transpose(-2, -1), lambda x: x.swapaxes(-2, -1), [(2, 3, 4)], note="swap"),
    Op("transpose", lambda x: x.transpose(), lambda x: x.transpose(), [(2, 3, 4)], note="reverse"),
    Op("T", lambda x: x.T, lambda x: x.T, [(3, 4)]),
    Op("__getitem__", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [(3, 4)], note="slice"),
    Op("__getitem__", lambda x: x[[0, 2, 0]], lambda x: x[[0, 2, 0]], [(3, 4)], note="repeated rows"),
    Op("split", lambda x: x.split([1, 3], axis=1)[1], lambda x: x[:, 1:], [(3, 4)]),
    Op("astype", lambda x: x.astype(np.float64).astype(x.dtype), lambda x: x, [(3, 4)]),
    Op("cat", lambda a, b: tt.cat([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1), [(3, 2), (3, 4)]),
    Op("stack", lambda a, b: tt.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), [(3, 4), (3, 4)]),
    Op("masked_fill", lambda x: x.masked_fill(MASK, -1.0), lambda x: np.where(MASK, -1.0, x), [(3, 4)]),
    # elementwise functions
    Op("exp", lambda x: x.exp(), np.exp, [(3, 4)]),
    Op("log", lambda x: x.log(), np.log, [(3, 4)], positive=(0,)),
    Op("sqrt", lambda x: x.sqrt(), np.sqrt, [(3, 4)], positive=(0,)),
    Op("tanh", lambda x: x.tanh(), np.tanh, [(3, 4)]),
    Op("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), [(3, 4)]),
    Op("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), [(3, 4)]),
    Op("gelu", lambda x: x.gelu(), np_gelu, [(3, 4)]),
    Op("softmax", lambda x: x.softmax(axis=0), lambda x: np_softmax(x, 0), [(3, 4)]),
    Op("log_softmax", lambda x: x.log_softmax(), lambda x: np.log(np_softmax(x)), [(3, 4)]),
    # nn.functional
    Op("functional.linear", F.linear, lambda x, w, b: x @ w + b, [(2, 3, 4), (4, 5), (5,)]),
    Op("functional.layer_norm", F.layer_norm, np_layer_norm, [(2, 3, 6), (6,), (6,)]),
    Op("functional.embedding", lambda w: F.embedding(IDS, w), lambda w: w[IDS], [(5, 3)]),
    Op(
        "functional.cross_entropy",
        lambda z: F.cross_entropy(z, TARGETS),
        lambda z: np_cross_entropy(z, TARGETS),
        [(4, 5)],
    ),
    Op("functional.softmax", lambda x: F.softmax(x, axis=-1), np_softmax, [(3, 4)]),
    Op("functional.log_softmax", lambda x: F.log_softmax(x, axis=0), lambda x: np.log(np_softmax(x, 0)), [(3, 4)]),
    Op("functional.relu", F.relu, lambda x: np.maximum(x, 0), [(3, 4)]),
    Op("functional.gelu", F.gelu, np_gelu, [(3, 4)]),
    Op("functional.tanh", F.tanh, np.tanh, [(3, 4)]),
    Op("functional.dropout", seeded_dropout, lambda x: np_dropout(x, 0.3), [(3, 4)]),
    Op(
        "causal_attention",
        lambda qkv: causal_attention(qkv, 2)[0],
        lambda qkv: np_causal_attention(qkv, 2),
        [(2, 4, 12)],
    ),
]

# Public names of Tensor that are not ops (accessors, the engine itself).
NOT_OPS = {
    "backward",
    "detach",
    "numpy",
    "item",
    "tolist",
    "zero_grad",
    "numel",
    "shape",
    "ndim",
    "dtype",
    "size",
    "data",
    "grad",
    "requires_grad",
}
# Dunders of Tensor that are not ops.
NOT_OP_DUNDERS = {
    "__init__",
    "__slots__",
    "__array_ufunc__",
    "__len__",
    "__array__",
    "__repr__",
    "__setitem__",
    "__doc__",
    "__module__",
    "__weakref__",
    "__dict__",
    "__qualname__",
    "__firstlineno__",
    "__static_attributes__",
}


def public_ops() -> set:
    """Every public op name the table must cover, read from the code (so new ops show up)."""
    names = {n for n in dir(Tensor) if not n.startswith("_") and n not in NOT_OPS}
    names |= {n for n in vars(Tensor) if n.startswith("__") and n not in NOT_OP_DUNDERS}
    names |= {"cat", "stack"}
    names |= {
        f"functional.{n}"
        for n, obj in vars(F).items()
        if not n.startswith("_") and inspect.isfunction(obj) and obj.__module__ == F.__name__
    }
    names |= {"causal_attention"}
    return names


def test_every_public_op_is_in_the_table():
    listed = {op.name for op in OPS}
    missing = sorted(public_ops() - listed)
    assert not missing, (
        f"public ops without a row in tests/core/test_ops.py OPS: {missing}. Add one (numpy reference, "
        "input shapes): it checks forward, gradients, dtype, graph freeing, no_grad and backward twice"
    )
    unknown = sorted(listed - public_ops())
    assert not unknown, f"rows for names that are not public ops (renamed?): {unknown}"


# --- the checks ------------------------------------------------------------------------------


def make_inputs(op: Op, dtype, requires_grad=True, seed=0):
    rng = np.random.default_rng(seed)
    inputs = []
    for i, shape in enumerate(op.shapes):
        data = rng.standard_normal(shape)
        if i in op.positive:
            data = np.abs(data) + 0.5
        inputs.append(Tensor(data.astype(dtype), requires_grad=requires_grad, dtype=dtype))
    return inputs


def loss_of(out: Tensor) -> Tensor:
    """A scalar that depends on every output element with a different weight."""
    weights = np.random.default_rng(9).standard_normal(out.shape).astype(out.dtype)
    return (out * weights).sum()


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_forward_matches_numpy(op):
    inputs = make_inputs(op, np.float64)
    out = op.fn(*inputs)
    expected = op.ref(*[x.data.copy() for x in inputs])
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_gradients_match_finite_differences(op):
    gradcheck(op.fn, make_inputs(op, np.float64))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_float32_in_float32_out(op):
    inputs = make_inputs(op, np.float32)
    out = op.fn(*inputs)
    assert out.dtype == np.float32, f"{op.id}: float32 inputs gave a {out.dtype} output"
    loss_of(out).backward()
    for i, x in enumerate(inputs):
        assert x.grad is not None and x.grad.dtype == np.float32, (
            f"{op.id}: input {i} got a {getattr(x.grad, 'dtype', None)} gradient"
        )


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_graph_is_freed_by_reference_counting(op):
    inputs = make_inputs(op, np.float64)
    gc.collect()
    gc.disable()  # a reference cycle (a closure holding its own output) would now never be freed
    try:
        out = op.fn(*inputs)
        loss = loss_of(out)
        loss.backward()
        nodes = [weakref.ref(node) for node in loss._topological_order() if node._parents]
        assert nodes, f"{op.id}: built no graph"
        del out, loss
        alive = [ref() for ref in nodes if ref() is not None]
        assert not alive, (
            f"{op.id}: {len(alive)} graph node(s) outlived their last reference: "
            + ", ".join(repr(node._op) for node in alive)
            + " (a backward closure that references its own output makes a cycle)"
        )
    finally:
        gc.enable()


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_no_grad_builds_no_graph(op):
    inputs = make_inputs(op, np.float64)
    with tt.no_grad():
        out = op.fn(*inputs)
    assert not out.requires_grad and out._parents == () and out._backward is None
    np.testing.assert_array_equal(out.data, op.fn(*inputs).data)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.id)
def test_backward_twice_adds_up(op):
    inputs = make_inputs(op, np.float64)
    loss = loss_of(op.fn(*inputs))
    loss.backward()
    once = [x.grad.copy() for x in inputs]
    loss.backward()
    for i, (x, g) in enumerate(zip(inputs, once)):
        np.testing.assert_allclose(x.grad, 2 * g, rtol=1e-12, atol=1e-12, err_msg=f"{op.id}: input {i}")
