"""Turn what a student has at hand into plain numpy for the views.

Attention can come from a raw array (T, T), (H, T, T) or (L, H, T, T); from a
`MultiHeadAttention` after a forward pass (its `attention_weights`, (B, H, T, T)); or from
a `TinyGPT` plus a text (and tokenizer) via `model.attention_maps(ids)`. Everything ends
up as float32 (L, H, T, T) plus one readable label per position.
"""

from __future__ import annotations

import numpy as np

from ..validation import integer_ids


def to_numpy(x, what: str = "input") -> np.ndarray:
    """An ndarray from a numpy array, a tinytorch Tensor (or anything with `.data`), or a list."""
    if x is None:
        raise ValueError(f"{what} is None")
    if hasattr(x, "numpy") and callable(x.numpy) and not isinstance(x, np.ndarray):
        x = x.numpy()
    elif hasattr(x, "data") and not isinstance(x, np.ndarray):
        x = x.data
    try:
        return np.asarray(x)
    except Exception as exc:  # e.g. ragged lists
        raise TypeError(f"{what} must be array-like (numpy array or Tensor), got {type(x).__name__}: {exc}") from None


def _ids_and_labels(text, tokens, tokenizer):
    """Token ids for a model, and the label of each position."""
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if tokenizer is None:
            raise ValueError(
                "to run the model on a text, pass its tokenizer too: tokenizer=tok "
                "(or pass the token ids as tokens=ids)"
            )
        ids = np.asarray(tokenizer.encode(text), dtype=np.int64).reshape(-1)
        labels = list(text) if len(text) == len(ids) else decode_each(tokenizer, ids)
        return ids, labels
    if tokens is None:
        raise ValueError("the model needs input: pass text='...' and tokenizer=tok, or token ids as tokens=ids")
    if isinstance(tokens, str):
        if tokenizer is None:
            raise ValueError("tokens is a string: pass it as text='...' together with tokenizer=tok")
        return _ids_and_labels(tokens, None, tokenizer)
    ids = integer_ids(to_numpy(tokens, "tokens"), "tokens").reshape(-1)  # 1.5 is an error, never token 1
    labels = decode_each(tokenizer, ids) if tokenizer is not None else [str(int(i)) for i in ids]
    return ids, labels


def decode_each(tokenizer, ids) -> list[str]:
    """One string per id (`tokenizer.decode([id])`), or the id as text without a tokenizer."""
    if tokenizer is None:
        return [str(int(i)) for i in ids]
    return [tokenizer.decode([int(i)]) for i in ids]


def _check_block_size(model, n: int):
    block = getattr(getattr(model, "config", None), "block_size", None)
    if block is not None and n > block:
        raise ValueError(
            f"the text is {n} tokens long but the model's block_size is {block}: "
            f"pass at most {block} tokens (e.g. text[:{block}])"
        )
    if n == 0:
        raise ValueError("the text is empty: pass at least one character")


def attention_source(source, tokens=None, *, text=None, tokenizer=None, batch: int = 0):
    """Normalise any attention source.

    Returns (weights, labels, from_positions): weights float32 (L, H, T, T) with rows =
    queries and columns = keys; labels a list of T strings (unescaped); from_positions True
    when no tokens were given and labels are just position numbers.
    """
    if hasattr(source, "attention_maps") and callable(source.attention_maps):  # a TinyGPT
        ids, labels = _ids_and_labels(text, tokens, tokenizer)
        _check_block_size(source, len(ids))
        weights = to_numpy(source.attention_maps(ids), "model.attention_maps(ids)")
        if weights.ndim == 5 and weights.shape[0] == 1:  # tolerate a kept batch axis
            weights = weights[0]
        if weights.ndim != 4:
            raise ValueError(
                f"model.attention_maps(ids) should return (n_layer, n_head, T, T), got shape {weights.shape}"
            )
        return _finish(weights, labels, False)

    if hasattr(source, "attention_weights") and not isinstance(source, np.ndarray):  # MultiHeadAttention
        w = source.attention_weights
        if w is None:
            raise ValueError(
                f"{type(source).__name__}.attention_weights is None: run a forward pass first, "
                f"e.g. attn(x), then draw it"
            )
        w = to_numpy(w, "attention_weights")
        if w.ndim == 4:  # (B, H, T, T): one sequence of the batch
            if not -w.shape[0] <= batch < w.shape[0]:
                raise ValueError(f"batch={batch} but the last forward pass had batch size {w.shape[0]}")
            w = w[batch]
        source = w

    weights = to_numpy(source, "attention weights")
    if weights.ndim == 2:
        weights = weights[None, None]
    elif weights.ndim == 3:
        weights = weights[None]
    elif weights.ndim != 4:
        raise ValueError(
            f"attention weights must be (T, T), (H, T, T) or (L, H, T, T); got shape {weights.shape}. "
            f"For MultiHeadAttention.attention_weights (B, H, T, T) pass the module itself or weights[0]."
        )
    if weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"attention weights must be square over time (..., T, T); got shape {weights.shape}")

    T = weights.shape[-1]
    if tokens is None and text is not None:
        tokens = text
    if tokens is None:
        return _finish(weights, [str(i) for i in range(T)], True)
    if isinstance(tokens, str):
        labels = list(tokens)
    else:
        arr = np.asarray(tokens, dtype=object).reshape(-1) if not isinstance(tokens, list) else tokens
        if len(arr) and all(isinstance(t, (int, np.integer)) for t in arr):
            labels = decode_each(tokenizer, arr)
        else:
            labels = [str(t) for t in arr]
    return _finish(weights, labels, False)


def _finish(weights, labels, from_positions):
    weights = np.asarray(weights, dtype=np.float32)
    T = weights.shape[-1]
    if T == 0:
        raise ValueError(
            f"the attention weights are empty (shape {weights.shape}): run the model on at least one token"
        )
    broken = ~np.isfinite(weights)
    if broken.any():
        layer, head, row, col = (int(i) for i in np.argwhere(broken)[0])
        raise ValueError(
            f"the attention weights contain NaN or inf ({int(broken.sum())} entries, the first at layer {layer}, "
            f"head {head}, query {row}, key {col}): the model's weights or input went non-finite, and a heatmap "
            "would hide that. Check the model (e.g. reload a good checkpoint) and draw again"
        )
    if len(labels) != T:
        raise ValueError(
            f"got {len(labels)} tokens for attention over T={T} positions: pass exactly one token "
            f"(character) per position, e.g. the {T}-character text the model read"
        )
    return weights, list(labels), from_positions


def pick(n: int, which, name: str) -> list[int]:
    """Indices chosen by `which` (None = all, an int, or a list of ints) out of range(n)."""
    if which is None:
        return list(range(n))
    items = [which] if isinstance(which, (int, np.integer)) else list(which)
    out = []
    for i in items:
        if not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise ValueError(f"{name}={i!r} is out of range: there are {n} {name}s (0..{n - 1})")
        out.append(int(i) % n)
    if not out:
        raise ValueError(f"{name} selects nothing: pass an index 0..{n - 1} or None for all")
    return out


def is_causal(weights: np.ndarray, tol: float = 1e-6) -> bool:
    """True when every weight above the diagonal (a query looking at a later key) is ~0."""
    T = weights.shape[-1]
    upper = np.triu(np.ones((T, T), dtype=bool), k=1)
    return bool(T > 1 and np.all(np.abs(weights[..., upper]) <= tol))
