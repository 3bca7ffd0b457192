"""Turning a language model's logits into text: checking token ids, sampling, a text helper.

Shared by `TinyGPT` and `BigramLanguageModel`. Sampling is done in float64 on the last
position's logits (B, V):

    p = softmax(logits / temperature)       temperature < 1 sharpens, > 1 flattens
    keep only the top_k most likely tokens  (optional)
    draw one token per row from p

Randomness comes from `np.random.default_rng(seed)` when a seed is given (the same seed gives
the same text, and the global generator is left alone), else from `tinytorch.rng.rng()`.
"""

import numpy as np

from ..rng import rng as global_rng
from ..tensor import Tensor


def as_token_ids(idx, vocab_size: int, who: str = "model", allow_1d: bool = False) -> np.ndarray:
    """Validate token ids and return them as an int64 numpy array.

    idx: numpy array, Tensor or nested list of ints, shape (B, T) (or (T,) when `allow_1d`).
    Raises TypeError for non-integer ids and ValueError for a wrong shape or an id outside
    0 .. vocab_size-1, each saying how to fix it.
    """
    data = idx.data if isinstance(idx, Tensor) else idx
    array = np.asarray(data)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "U" or array.dtype == object:
            raise TypeError(f"{who} takes token ids, not text: encode it first, e.g. tokenizer.encode(text)")
        raise TypeError(
            f"{who} takes integer token ids, got dtype {array.dtype}: pass np.asarray(ids, dtype=np.int64) "
            "(ids from tokenizer.encode() or get_batch() already are)"
        )
    wanted = "(B, T) or (T,)" if allow_1d else "(B, T)"
    if array.ndim not in ((1, 2) if allow_1d else (2,)):
        hint = " For one sequence use ids[None, :]." if array.ndim == 1 else ""
        raise ValueError(f"{who} expects token ids of shape {wanted}, got shape {array.shape}.{hint}")
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        bad = array.min() if array.min() < 0 else array.max()
        raise ValueError(
            f"token id {int(bad)} is outside the vocabulary (0 .. {vocab_size - 1}): was the text encoded with a "
            f"different tokenizer, or the model built with a smaller vocab_size?"
        )
    return array.astype(np.int64, copy=False)


def check_sampling(max_new_tokens, temperature, top_k) -> None:
    """Raise a clear error for sampling settings that cannot work."""
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means always take the most likely token), got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k must be None or an int >= 1, got {top_k!r}")


def sampling_generator(seed) -> np.random.Generator:
    """A private generator for `seed`, or the global one (tinytorch.manual_seed) when seed is None."""
    return global_rng() if seed is None else np.random.default_rng(seed)


def sample_next(logits: np.ndarray, temperature: float = 1.0, top_k: int = None, generator=None) -> np.ndarray:
    """Draw one token per row: logits (B, V) -> ids (B,) int64.

    Numerically stable at any temperature: the row maximum is subtracted before exp (so the
    largest term is exp(0) = 1 and nothing overflows, even at temperature 0.01), in float64.
    temperature == 0 is greedy decoding (argmax). top_k keeps only the k largest logits.
    """
    generator = global_rng() if generator is None else generator
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"sample_next expects logits of shape (B, V), got {z.shape}")
    B, V = z.shape
    if top_k is not None and top_k < V:
        kth = np.partition(z, V - top_k, axis=-1)[:, V - top_k : V - top_k + 1]  # k-th largest per row
        z = np.where(z < kth, -np.inf, z)
    if temperature == 0:
        return np.argmax(z, axis=-1).astype(np.int64)
    z = z / temperature
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    cumulative = np.cumsum(p, axis=-1)
    u = generator.random(B) * cumulative[:, -1]
    # The first index whose cumulative mass exceeds u: a token with p = 0 is never chosen.
    choice = (cumulative <= u[:, None]).sum(axis=-1)
    last_possible = V - 1 - np.argmax(p[:, ::-1] > 0, axis=-1)
    return np.minimum(choice, last_possible).astype(np.int64)


def generate_text(model, tokenizer, prompt: str = "\n", max_new_tokens: int = 200, temperature: float = 1.0,
                  top_k: int = None, seed=None, **kwargs) -> str:
    """Continue `prompt` with `max_new_tokens` characters from `model`; returns prompt + continuation.

    Works with any model that has `generate(idx, max_new_tokens, temperature, top_k, seed, ...)`
    and a tokenizer with `encode`/`decode` (e.g. CharTokenizer). A character the tokenizer does
    not know raises the tokenizer's error, naming it. An empty prompt starts from a newline.
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    ids = np.asarray(tokenizer.encode(prompt if prompt else "\n"), dtype=np.int64)
    out = model.generate(ids, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed, **kwargs)
    text = tokenizer.decode(np.asarray(out.data if isinstance(out, Tensor) else out))
    return text if prompt else text[1:]
