"""nn layers: shapes, initialisation, dtypes, gradients (finite differences in float64), and
that small networks built from them actually learn."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import functional as F
from tinytorch.optim import SGD, AdamW


def f64(*shape, seed=0, grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=grad, dtype=np.float64)


def build(cls, *args, seed=0, **kwargs):
    tt.manual_seed(seed)
    with tt.default_dtype(np.float64):
        return cls(*args, **kwargs)


# --- Linear -----------------------------------------------------------------------------------


def test_linear_weight_layout_and_formula():
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    x = Tensor(np.random.default_rng(0).standard_normal((2, 5, 4)))
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data + layer.bias.data, rtol=1e-6)
    assert layer(x).shape == (2, 5, 3)
    assert nn.Linear(4, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["weight"]
    assert nn.Dense is nn.Linear


def test_linear_init_is_seeded_and_bounded():
    tt.manual_seed(1)
    a = nn.Linear(16, 8)
    tt.manual_seed(1)
    b = nn.Linear(16, 8)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= 1 / 4 and a.weight.data.std() > 0.05


def test_parameters_follow_the_default_dtype():
    with tt.default_dtype(np.float64):
        for layer in (nn.Linear(2, 3), nn.Embedding(5, 2), nn.LayerNorm(4)):
            assert {p.dtype for p in layer.parameters()} == {np.dtype(np.float64)}
    assert nn.LayerNorm(4).weight.dtype == np.float32


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(bias):
    layer = build(nn.Linear, 3, 4, bias=bias)
    gradcheck(lambda x, *params: layer(x), [f64(2, 5, 3), *layer.parameters()])


def test_bad_sizes_are_errors():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="num_embeddings"):
        nn.Embedding(2.5, 3)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(2)


# --- Embedding, LayerNorm, Dropout, activations ---------------------------------------------------


def test_embedding_layer_and_gradients_with_repeated_ids():
    emb = build(nn.Embedding, 7, 3)
    assert emb.weight.shape == (7, 3)
    ids = np.array([[0, 3, 3], [6, 3, 0]])
    assert emb(ids).shape == (2, 3, 3)
    gradcheck(lambda w: emb(ids), [emb.weight])
    with pytest.raises(IndexError, match=r"id 7 .*0\.\.6"):
        emb(np.array([7]))


def test_layer_norm_layer():
    ln = build(nn.LayerNorm, 5)
    np.testing.assert_array_equal(ln.weight.data, 1)
    np.testing.assert_array_equal(ln.bias.data, 0)
    ln.weight.data = ln.weight.data + 0.3 * np.arange(5)  # non-trivial parameters: ones and zeros hide bugs
    ln.bias.data = ln.bias.data - 0.2 * np.arange(5)
    gradcheck(lambda x, w, b: ln(x), [f64(3, 2, 5), ln.weight, ln.bias])


def test_dropout_layer_follows_train_and_eval():
    drop = nn.Dropout(0.5)
    x = Tensor(np.ones((50, 50)))
    assert (drop(x).data == 0).mean() > 0.3
    drop.eval()
    assert drop(x) is x
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.eval()
    assert not model[1].training


def test_activation_layers_match_functional():
    x = f64(3, 4)
    np.testing.assert_array_equal(nn.ReLU()(x).data, F.relu(x).data)
    np.testing.assert_array_equal(nn.GELU()(x).data, F.gelu(x).data)
    np.testing.assert_array_equal(nn.Tanh()(x).data, np.tanh(x.data))
    assert repr(nn.GELU()) == "GELU()"


def test_sequential_gradients_and_indexing():
    tt.manual_seed(0)
    with tt.default_dtype(np.float64):
        model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4), nn.Linear(4, 2))
    assert len(model) == 4 and isinstance(model[1], nn.GELU)
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "3.weight",
        "3.bias",
    ]
    gradcheck(lambda x, *params: model(x), [f64(2, 3), *model.parameters()])
    assert len(model[:2]) == 2


# --- learning -------------------------------------------------------------------------------------


def test_a_tiny_mlp_learns_xor():
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    x = Tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32))
    y = np.array([0, 1, 1, 0])
    opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(300):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    np.testing.assert_array_equal(model(x).data.argmax(axis=1), y)


def test_a_tiny_model_overfits_a_fixed_batch():
    tt.manual_seed(0)
    V, C, B, T = 11, 16, 4, 6
    model = nn.Sequential(nn.Embedding(V, C), nn.LayerNorm(C), nn.Linear(C, 32), nn.GELU(), nn.Linear(32, V))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, (B, T))
    targets = (ids * 3 + 1) % V  # a function of the input token: learnable exactly
    opt = AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        loss = F.cross_entropy(model(ids), targets)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first  # the loss fell by more than 90%
