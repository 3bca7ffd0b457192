"""The MLP and the pre-LN transformer block: structure, gradients, the ladder switches."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import MLP, TransformerBlock


def rand(*shape, seed=0, grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=grad, dtype=np.float64)


def f64(array):
    return Tensor(array, dtype=np.float64)  # Tensor() alone would make float data float32


def perturb(module, seed=0, scale=0.3):
    """Move every parameter off its init (LayerNorm weight 1 / bias 0 would hide bugs)."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data = p.data + scale * rng.standard_normal(p.shape)


def build(seed=0, **kwargs):
    with tt.default_dtype(np.float64):
        tt.manual_seed(seed)
        block = TransformerBlock(8, 2, **kwargs)
    perturb(block, seed)
    return block


def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_mlp_is_linear_gelu_linear_four_times_wider():
    with tt.default_dtype(np.float64):
        tt.manual_seed(0)
        mlp = MLP(6)
    assert mlp.fc.weight.shape == (6, 24) and mlp.proj.weight.shape == (24, 6)
    perturb(mlp)
    x = rand(2, 3, 6, grad=False)
    a = x.data @ mlp.fc.weight.data + mlp.fc.bias.data
    g = 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3)))
    np.testing.assert_allclose(mlp(x).data, g @ mlp.proj.weight.data + mlp.proj.bias.data, rtol=1e-10)


def test_mlp_gradients():
    with tt.default_dtype(np.float64):
        tt.manual_seed(0)
        mlp = MLP(4)
    perturb(mlp)
    x = rand(2, 3, 4, seed=1)
    gradcheck(lambda x, *params: mlp(x), [x, *mlp.parameters()])


def test_block_is_pre_layernorm_with_residuals():
    block = build()
    x = rand(2, 5, 8, grad=False)
    h = x.data + block.attn(f64(layer_norm(x.data, block.ln1.weight.data, block.ln1.bias.data))).data
    expected = h + block.mlp(f64(layer_norm(h, block.ln2.weight.data, block.ln2.bias.data))).data
    np.testing.assert_allclose(block(x).data, expected, rtol=1e-9, atol=1e-12)


def test_transformer_block_gradients():
    block = build(seed=2)
    x = rand(2, 5, 8, seed=3)
    gradcheck(lambda x, *params: block(x), [x, *block.parameters()], max_checks=40)


def test_without_residuals_and_layernorm():
    block = build(residual=False, layer_norm=False)
    names = [name for name, _ in block.named_parameters()]
    assert not any("ln" in n for n in names)
    x = rand(2, 5, 8, grad=False)
    expected = block.mlp(block.attn(x)).data
    np.testing.assert_allclose(block(x).data, expected, rtol=1e-12)
    gradcheck(lambda x, *params: block(x), [rand(1, 4, 8, seed=4), *block.parameters()], max_checks=20)


def test_residual_only_and_layernorm_only():
    x = rand(1, 4, 8, grad=False)
    res_only = build(layer_norm=False)
    h = x.data + res_only.attn(x).data
    np.testing.assert_allclose(res_only(x).data, h + res_only.mlp(f64(h)).data, rtol=1e-10)
    ln_only = build(residual=False)
    h = ln_only.attn(f64(layer_norm(x.data, ln_only.ln1.weight.data, ln_only.ln1.bias.data))).data
    expected = ln_only.mlp(f64(layer_norm(h, ln_only.ln2.weight.data, ln_only.ln2.bias.data))).data
    np.testing.assert_allclose(ln_only(x).data, expected, rtol=1e-9, atol=1e-12)


def test_block_keeps_float32():
    tt.manual_seed(0)
    block = TransformerBlock(16, 4)
    out = block(Tensor(np.random.default_rng(0).standard_normal((2, 3, 16)), requires_grad=True))
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in block.parameters())


def test_num_heads_must_divide_d_model():
    with pytest.raises(ValueError, match="does not divide"):
        TransformerBlock(10, 4)
