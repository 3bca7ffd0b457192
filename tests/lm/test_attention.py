"""Attention: the causal mask, one readable head, fused multi-head attention and its cache.

Gradients are checked against finite differences in float64; the fused multi-head core is
also checked against a plain loop-over-heads reference written in this file.
"""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import MultiHeadAttention, SelfAttention, causal_mask
from tinytorch.nn.attention import KVCache


def rand(*shape, seed=0, grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=grad, dtype=np.float64)


def perturb(module, seed=0, scale=0.3):
    """Non-zero biases and varied weights: zero biases can hide a missing gradient term."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data = p.data + scale * rng.standard_normal(p.shape)


def reference_attention(x, mha):
    """Loop-over-heads numpy reference for MultiHeadAttention (no dropout)."""
    B, T, C = x.shape
    H = mha.num_heads
    d = C // H
    qkv = x @ mha.qkv.weight.data + mha.qkv.bias.data
    q, k, v = np.split(qkv, 3, axis=-1)
    heads, weights = [], []
    for h in range(H):
        sl = slice(h * d, (h + 1) * d)
        scores = q[..., sl] @ np.swapaxes(k[..., sl], -1, -2) / np.sqrt(d)
        scores = np.where(np.triu(np.ones((T, T), bool), 1), -np.inf, scores)
        w = np.exp(scores - scores.max(-1, keepdims=True))
        w /= w.sum(-1, keepdims=True)
        weights.append(w)
        heads.append(w @ v[..., sl])
    y = np.concatenate(heads, axis=-1)
    return y @ mha.proj.weight.data + mha.proj.bias.data, np.stack(weights, axis=1)


# --- the mask ---------------------------------------------------------------------------


def test_causal_mask_is_true_where_attention_is_forbidden():
    expected = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)
    mask = causal_mask(4)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, expected)


def test_causal_mask_for_new_queries_over_cached_keys():
    # 2 new queries at positions 3 and 4 of 5 keys: the first may not see key 4
    np.testing.assert_array_equal(causal_mask(2, 5), [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(causal_mask(5, 5), causal_mask(5))


# --- one head -----------------------------------------------------------------------------


def test_self_attention_matches_the_formula():
    tt.manual_seed(0)
    head = SelfAttention(6, head_size=4)
    x = rand(2, 5, 6, grad=False)
    out = head(x)
    assert out.shape == (2, 5, 4)
    q, k, v = (x.data @ lin.weight.data for lin in (head.query, head.key, head.value))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(4)
    scores[:, causal_mask(5)] = -np.inf
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    np.testing.assert_allclose(out.data, w @ v, rtol=1e-10)
    np.testing.assert_allclose(head.attention_weights, w, rtol=1e-10)
    assert head.attention_weights.shape == (2, 5, 5)
    np.testing.assert_allclose(head.attention_weights.sum(-1), 1.0)


def test_self_attention_gradients():
    with tt.default_dtype(np.float64):
        tt.manual_seed(1)
        head = SelfAttention(5, head_size=3)
    x = rand(2, 4, 5, seed=2)
    gradcheck(lambda x, *params: head(x), [x, *head.parameters()])


def test_self_attention_without_mask_sees_the_future():
    tt.manual_seed(0)
    head = SelfAttention(4, causal=False)
    head(rand(1, 3, 4, grad=False))
    assert (head.attention_weights[0][causal_mask(3)] > 0).all()


# --- many heads ---------------------------------------------------------------------------


def test_multi_head_matches_a_loop_over_heads():
    tt.manual_seed(0)
    with tt.default_dtype(np.float64):
        mha = MultiHeadAttention(12, 3)
    perturb(mha)
    x = rand(2, 7, 12, grad=False)
    out = mha(x)
    expected, weights = reference_attention(x.data, mha)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert mha.attention_weights.shape == (2, 3, 7, 7)
    np.testing.assert_allclose(mha.attention_weights, weights, rtol=1e-10, atol=1e-14)


def test_multi_head_attention_gradients_with_the_causal_mask():
    with tt.default_dtype(np.float64):
        tt.manual_seed(3)
        mha = MultiHeadAttention(8, 2)
    perturb(mha, seed=4)
    x = rand(2, 5, 8, seed=5)
    gradcheck(lambda x, *params: mha(x), [x, *mha.parameters()])


def test_multi_head_attention_dropout_gradients():
    """With dropout the mask is random; reseeding inside fn gives finite differences the same mask."""
    with tt.default_dtype(np.float64):
        tt.manual_seed(3)
        mha = MultiHeadAttention(8, 2, dropout=0.3)
    perturb(mha, seed=4)
    x = rand(2, 5, 8, seed=6)

    def fn(x, *params):
        tt.manual_seed(7)
        return mha(x)

    gradcheck(fn, [x, *mha.parameters()])
    mha.eval()
    a, b = mha(x).data, mha(x).data
    np.testing.assert_array_equal(a, b)  # eval mode: no dropout, deterministic


def test_attention_weights_are_causal_distributions():
    tt.manual_seed(0)
    mha = MultiHeadAttention(16, 4)
    mha(Tensor(np.random.default_rng(0).standard_normal((3, 6, 16))))
    w = mha.attention_weights
    assert isinstance(w, np.ndarray) and w.shape == (3, 4, 6, 6)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert (w[:, :, causal_mask(6)] == 0).all()


def test_changing_a_future_token_never_changes_earlier_outputs():
    tt.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    x = np.random.default_rng(0).standard_normal((1, 6, 8)).astype(np.float32)
    base = mha(Tensor(x)).data
    for t in range(6):
        changed = x.copy()
        changed[:, t] += 10.0
        out = mha(Tensor(changed)).data
        np.testing.assert_array_equal(out[:, :t], base[:, :t])
        assert not np.allclose(out[:, t:], base[:, t:])


def test_num_heads_must_divide_d_model():
    with pytest.raises(ValueError, match="num_heads=5 does not divide d_model=16"):
        MultiHeadAttention(16, 5)


def test_wrong_input_shape_is_a_clear_error():
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(B, T, 8\)"):
        mha(Tensor(np.zeros((2, 3, 6))))


# --- the key/value cache ------------------------------------------------------------------


@pytest.mark.parametrize("shape, heads", [((2, 5, 10), 2), ((2, 5, 12), 5), ((5, 12), 2), ((2, 5, 12), 0)])
def test_the_fused_core_names_a_qkv_that_does_not_split_into_heads(shape, heads):
    from tinytorch.nn.attention import causal_attention

    with pytest.raises(ValueError, match="causal_attention: qkv"):
        causal_attention(Tensor(np.zeros(shape, dtype=np.float32)), heads)


def test_cached_attention_equals_full_attention():
    tt.manual_seed(0)
    mha = MultiHeadAttention(16, 4)
    x = np.random.default_rng(1).standard_normal((2, 9, 16)).astype(np.float32)
    full = mha(Tensor(x)).data
    cache = KVCache(capacity=9)
    pieces = []
    with tt.no_grad():
        pieces.append(mha(Tensor(x[:, :4]), cache=cache).data)  # a prompt of 4 tokens at once
        for t in range(4, 9):  # then one token at a time
            pieces.append(mha(Tensor(x[:, t : t + 1]), cache=cache).data)
            assert mha.attention_weights.shape == (2, 4, 1, t + 1)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, rtol=1e-5, atol=1e-6)
    assert cache.length == 9


def test_cache_overflow_and_grad_mode_are_clear_errors():
    mha = MultiHeadAttention(8, 2)
    cache = KVCache(capacity=3)
    with pytest.raises(RuntimeError, match="no_grad"):
        mha(Tensor(np.zeros((1, 2, 8))), cache=cache)
    with tt.no_grad():
        mha(Tensor(np.zeros((1, 3, 8))), cache=cache)
        with pytest.raises(ValueError, match="capacity 3"):
            mha(Tensor(np.zeros((1, 1, 8))), cache=cache)
