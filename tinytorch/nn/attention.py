"""Causal self-attention: every token looks back at the tokens before it.

Three things live here, from the one you read first to the one that trains fast:

- `causal_mask(T)`: which (query, key) pairs are forbidden.
- `SelfAttention(d_model)`: one head, written with explicit Tensor ops so the maths reads
  straight off the page: q, k, v projections, scores q k^T / sqrt(d), mask, softmax, @ v.
- `MultiHeadAttention(d_model, num_heads)`: H heads computed at once (no Python loop over
  heads, batch or time). One Linear makes q, k and v (C -> 3C), a fused attention core does
  split heads -> scores -> mask -> softmax -> @ v -> merge heads in one op whose backward is
  derived by hand right beside it, and a Linear projects back (C -> C). It keeps the last
  attention weights for pictures, and a key/value cache makes generation cost O(T) a token.

Shapes: B batch, T time (tokens), C = d_model channels, H heads, d = C / H per head.
"""

import numpy as np

from .. import kernels
from ..rng import rng
from ..tensor import Tensor, is_grad_enabled
from ..validation import allocating, check_allocation, non_negative_int, positive_int, real_number
from ..wasm import attention as wasm_attention
from ..wasm import elementwise
from .layers import Dropout, Linear
from .module import Module

# ----------------------------------------------------------------------------- the mask


def causal_mask(T: int, T_keys: int = None) -> np.ndarray:
    """Boolean (T, T) array, **True where attention is NOT allowed** (a key in the future).

    Row i is query position i, column j is key position j; entry (i, j) is True when j > i.
    That is the convention of `Tensor.masked_fill(mask, -inf)`: True marks what gets hidden.

        causal_mask(3) = [[False,  True,  True],
                          [False, False,  True],
                          [False, False, False]]

    With `T_keys` > T the T queries are the *last* T positions of T_keys (the case of
    generation with a key/value cache): query i sits at position T_keys - T + i.
    """
    T = non_negative_int(T, "causal_mask: T")
    sizes = {"T": T} if T_keys is None else {"T": T, "T_keys": non_negative_int(T_keys, "causal_mask: T_keys")}
    T_keys = sizes.get("T_keys", T)
    if T_keys < T:
        raise ValueError(f"causal_mask needs 0 <= T <= T_keys, got T={T}, T_keys={T_keys}")
    check_allocation("causal_mask", sizes, (T, T_keys), bool, "the mask")
    return np.triu(np.ones((T, T_keys), dtype=bool), k=T_keys - T + 1)


_additive_masks = {}


def _additive_causal_mask(T: int, T_keys: int, dtype) -> np.ndarray:
    """0 where allowed, -inf where hidden: added to the scores in one broadcast (cached)."""
    key = (T, T_keys, np.dtype(dtype))
    mask = _additive_masks.get(key)
    if mask is None:
        mask = np.where(causal_mask(T, T_keys), -np.inf, 0.0).astype(dtype)
        mask.setflags(write=False)
        if len(_additive_masks) > 64:  # generation makes one per length; keep the cache small
            _additive_masks.clear()
        _additive_masks[key] = mask
    return mask


# ----------------------------------------------------------------------------- one head, for reading


def _check_input(x, d_model, who) -> Tensor:
    """x as a Tensor of shape (B, T, d_model), or a ValueError naming the shape it has."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ValueError(f"{who}(d_model={d_model}) expects input of shape (B, T, {d_model}), got {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(
            f"{who}: the sequence is empty (T=0, input shape {x.shape}): a token needs at least "
            "itself to attend to; pass at least one token"
        )
    return x


class SelfAttention(Module):
    """One attention head, written out step by step (the teaching version).

    SelfAttention(d_model, head_size=None, causal=True): x (B, T, d_model) -> (B, T, head_size)
    (head_size defaults to d_model). Each token makes a query ("what am I looking for?"), a key
    ("what do I contain?") and a value ("what do I pass on?"):

        q, k, v = x @ Wq, x @ Wk, x @ Wv                 each (B, T, head_size)
        scores  = q @ k^T / sqrt(head_size)              (B, T, T)  (the scaling keeps softmax soft)
        scores  = scores with -inf where causal_mask     (no peeking at later tokens)
        weights = softmax(scores, axis=-1)               (B, T, T)  each row sums to 1
        out     = weights @ v                            (B, T, head_size)

    `attention_weights` keeps the last forward's weights as a numpy array (B, T, T).
    """

    def __init__(self, d_model: int, head_size: int = None, causal: bool = True):
        super().__init__()
        d_model = positive_int(d_model, "SelfAttention: d_model")
        head_size = d_model if head_size is None else positive_int(head_size, "SelfAttention: head_size")
        self.d_model, self.head_size, self.causal = d_model, head_size, bool(causal)
        check_allocation(
            "SelfAttention",
            {"d_model": d_model, "head_size": head_size},
            (d_model, head_size),
            what="each projection's weight",
        )
        self.query = Linear(self.d_model, head_size, bias=False)
        self.key = Linear(self.d_model, head_size, bias=False)
        self.value = Linear(self.d_model, head_size, bias=False)
        self.attention_weights = None

    def forward(self, x) -> Tensor:
        """x (B, T, d_model) -> (B, T, head_size)."""
        x = _check_input(x, self.d_model, type(self).__name__)
        T = x.shape[-2]
        q, k, v = self.query(x), self.key(x), self.value(x)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / np.sqrt(self.head_size))
        if self.causal:
            scores = scores.masked_fill(causal_mask(T), -np.inf)
        weights = scores.softmax(axis=-1)
        self.attention_weights = weights.data
        return weights @ v

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, head_size={self.head_size}, causal={self.causal}"


# ----------------------------------------------------------------------------- the fused core


def causal_attention(qkv: Tensor, num_heads: int, dropout: float = 0.0):
    """Fused multi-head causal attention: qkv (B, T, 3C) -> (y (B, T, C) Tensor, weights (B, H, T, T)).

    The forward is the maths of `SelfAttention` for H heads at once, on numpy arrays; the
    backward is derived by hand. With P = softmax(S), S = q k^T * scale (masked), y = P v:

        dP = dy v^T          dv = P^T dy
        dS = P * (dP - sum_j(dP * P))          (softmax backward, row by row)
        dq = dS k * scale    dk = dS^T q * scale

    then dq, dk, dv are written back into the (B, T, 3C) layout of qkv. `dropout` > 0 drops
    attention weights (scaled by 1/(1-p)); `weights` returned are always before dropout.
    """
    data = qkv.data
    if data.ndim != 3:
        raise ValueError(f"causal_attention: qkv must be (B, T, 3C), got shape {data.shape}")
    B, T, C3 = data.shape
    C, H = C3 // 3, int(num_heads)
    if H < 1 or C3 != 3 * C or C % H:
        raise ValueError(
            f"causal_attention: qkv's last dim {C3} must be 3 x C with C divisible by num_heads={num_heads} "
            "(q, k and v side by side, C / num_heads channels per head)"
        )
    d = C // H
    scale = 1.0 / float(np.sqrt(d))
    if dropout == 0.0 and kernels.fused(data):  # Pyodide: the same maths in one SIMD call each way
        return _simd_causal_attention(qkv, H, scale)
    # (B, T, 3, H, d) -> (3, B, H, T, d): one contiguous copy. einsum (no BLAS) is ~2x slower
    # on strided views, and with BLAS the copy costs next to nothing.
    q, k, v = np.ascontiguousarray(data.reshape(B, T, 3, H, d).transpose(2, 0, 3, 1, 4))

    att = kernels.bmm_nt(q, k)  # (B, H, T, T) scores, updated in place to weights below
    if kernels.fused(att):  # Pyodide: scale, mask and softmax in one SIMD pass per row
        elementwise.softmax_causal(att, scale)
    else:
        att *= scale
        att += _additive_causal_mask(T, T, att.dtype)
        att -= att.max(axis=-1, keepdims=True)  # stable softmax: the diagonal is never masked
        np.exp(att, out=att)
        att /= att.sum(axis=-1, keepdims=True)

    keep = None
    used = att
    if dropout > 0.0:
        keep = (rng().random(att.shape, dtype=att.dtype) >= dropout) * att.dtype.type(1.0 / (1.0 - dropout))
        used = att * keep
    y = kernels.bmm(used, v).transpose(0, 2, 1, 3).reshape(B, T, C)  # merge heads (a copy)
    out = Tensor._from_op(y, (qkv,), "causal_attention")

    def _backward(grad):
        dy = grad.reshape(B, T, H, d).transpose(0, 2, 1, 3)  # (B, H, T, d)
        datt = kernels.bmm_nt(dy, v)  # dP
        dv = kernels.bmm_tn(used, dy)
        if keep is not None:
            datt *= keep
        ds = datt  # dS = P * (dP - sum_j(dP * P)), in dP's buffer: no (B, H, T, T) temporaries
        if kernels.fused(ds, att):
            elementwise.softmax_backward(ds, att, scale)
        else:
            ds -= (datt * att).sum(axis=-1, keepdims=True)
            ds *= att
            ds *= scale
        # Write dq, dk, dv straight into the (B, T, 3, H, d) layout of qkv: one copy each
        # (np.stack then reshape would copy everything twice).
        dqkv = np.empty((B, T, 3, H, d), dtype=ds.dtype)
        dqkv[:, :, 0] = kernels.bmm(ds, k).transpose(0, 2, 1, 3)  # dq
        dqkv[:, :, 1] = kernels.bmm_tn(ds, q).transpose(0, 2, 1, 3)  # dk
        dqkv[:, :, 2] = dv.transpose(0, 2, 1, 3)
        qkv._accumulate(dqkv.reshape(B, T, C3))

    return out._with_backward(_backward), att


def _simd_causal_attention(qkv: Tensor, H: int, scale: float):
    """`causal_attention` without dropout on the SIMD module (tinytorch.wasm.attention): the maths
    above, each product half as long because it skips what the mask makes zero."""
    y, att = wasm_attention.forward(qkv.data, H, scale)
    out = Tensor._from_op(y, (qkv,), "causal_attention")

    def _backward(grad):
        grad = grad if kernels.fused(grad) else np.ascontiguousarray(grad, dtype=np.float32)
        qkv._accumulate(wasm_attention.backward(qkv.data, att, grad, H, scale))

    return out._with_backward(_backward), att


# ----------------------------------------------------------------------------- key/value cache


class KVCache:
    """The keys and values one attention layer has already computed, for generation.

    Generating token t+1 needs the keys and values of tokens 0..t; without a cache every new
    token re-runs the whole sequence (O(T^2) work per token in attention, O(T) in the linear
    layers), with it only the new token is pushed through (O(T) per token). Arrays of shape
    (B, H, capacity, d) are allocated once and filled from the left; `length` says how far.
    """

    def __init__(self, capacity: int):
        self.capacity = positive_int(capacity, "KVCache: capacity")
        self.keys = None
        self.values = None
        self.length = 0

    def append(self, k: np.ndarray, v: np.ndarray):
        """Add k, v (B, H, T_new, d); return views of all keys and values so far (B, H, length, d)."""
        B, H, T_new, d = k.shape
        if self.keys is None or self.keys.shape[:2] != (B, H) or self.keys.shape[3] != d:
            sizes = {"capacity": self.capacity, "B (rows)": B, "H (heads)": H, "d (channels per head)": d}
            with allocating("KVCache", sizes, (B, H, self.capacity, d), k.dtype, "its keys (and as much for values)"):
                keys, values = np.empty((B, H, self.capacity, d), k.dtype), np.empty((B, H, self.capacity, d), v.dtype)
            self.keys, self.values, self.length = keys, values, 0
        end = self.length + T_new
        if end > self.capacity:
            raise ValueError(
                f"key/value cache overflow: {self.length} cached + {T_new} new tokens > capacity {self.capacity} "
                "(the model's block_size): reset() the cache and re-run the last block_size tokens"
            )
        self.keys[:, :, self.length : end] = k
        self.values[:, :, self.length : end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]

    def reset(self) -> None:
        """Forget everything (the arrays are kept for reuse)."""
        self.length = 0

    def __repr__(self) -> str:
        return f"KVCache(length={self.length}, capacity={self.capacity})"


def _cached_attention(q, keys, values, scale):
    """Attention of T_new queries over all cached keys (no graph: generation only).

    q (B, H, T_new, d), keys/values (B, H, T_keys, d) -> (y (B, H, T_new, d), weights).
    """
    T_new, T_keys = q.shape[2], keys.shape[2]
    att = kernels.bmm_nt(q, keys)
    att *= scale
    if T_new > 1:  # a single new token may look at everything before it: nothing to hide
        att += _additive_causal_mask(T_new, T_keys, att.dtype)
    att -= att.max(axis=-1, keepdims=True)
    np.exp(att, out=att)
    att /= att.sum(axis=-1, keepdims=True)
    return kernels.bmm(att, values), att


# ----------------------------------------------------------------------------- many heads, fast


class MultiHeadAttention(Module):
    """H causal attention heads side by side, then one projection: x (B, T, C) -> (B, T, C).

    MultiHeadAttention(d_model, num_heads, dropout=0.0). Each head works in d = C / H
    dimensions, so H heads cost about the same as one head of size C but can look for H
    different things (the previous letter, the start of the word, the speaker's name...).

        qkv = x @ W_qkv + b            (B, T, 3C)        one Linear(C, 3C) for all heads
        y   = causal_attention(qkv)    (B, T, C)         fused: split heads, softmax(q k^T / sqrt(d)) v, merge
        out = dropout(y @ W_proj + b)  (B, T, C)         Linear(C, C)

    `attention_weights` holds the last forward's weights as numpy (B, H, T, T) (for
    heatmaps; with a cache, (B, H, T_new, T_keys)). Pass `cache=KVCache(...)` (inside
    `no_grad()`) to attend over earlier tokens without recomputing them.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        d_model = positive_int(d_model, "MultiHeadAttention: d_model")
        num_heads = positive_int(num_heads, "MultiHeadAttention: num_heads")
        if d_model % num_heads:
            divisors = [h for h in range(1, d_model + 1) if d_model % h == 0 and h <= 16]
            raise ValueError(
                f"num_heads={num_heads} does not divide d_model={d_model}: every head gets d_model / num_heads "
                f"channels. Choose num_heads from {divisors} or change d_model."
            )
        self.d_model, self.num_heads, self.head_size = d_model, num_heads, d_model // num_heads
        self.dropout = real_number(dropout, "MultiHeadAttention: dropout", minimum=0.0, below=1.0)
        check_allocation("MultiHeadAttention", {"d_model": d_model}, (d_model, 3 * d_model), what="the q, k, v weight")
        self.qkv = Linear(d_model, 3 * d_model)
        self.proj = Linear(d_model, d_model)
        self.resid_dropout = Dropout(self.dropout)
        self.attention_weights = None

    def forward(self, x, cache: KVCache = None) -> Tensor:
        """x (B, T, C) -> (B, T, C). With `cache`, x holds only the new tokens."""
        x = _check_input(x, self.d_model, type(self).__name__)
        qkv = self.qkv(x)
        if cache is not None:
            y = self._forward_cached(qkv, cache)
        else:
            p = self.dropout if self.training else 0.0
            y, self.attention_weights = causal_attention(qkv, self.num_heads, p)
        out = self.proj(y)
        if self.training and self.dropout > 0.0:
            out = self.resid_dropout(out)
        return out

    def _forward_cached(self, qkv: Tensor, cache: KVCache) -> Tensor:
        if is_grad_enabled() and qkv.requires_grad:
            raise RuntimeError(
                "the key/value cache is for generation only (no gradients flow through it): "
                "call the model inside `with tinytorch.no_grad():`"
            )
        B, T, _ = qkv.shape
        H, d = self.num_heads, self.head_size
        q, k, v = qkv.data.reshape(B, T, 3, H, d).transpose(2, 0, 3, 1, 4)
        keys, values = cache.append(k, v)
        y, self.attention_weights = _cached_attention(q, keys, values, 1.0 / float(np.sqrt(d)))
        return Tensor(y.transpose(0, 2, 1, 3).reshape(B, T, self.d_model), dtype=y.dtype)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, dropout={self.dropout}"
