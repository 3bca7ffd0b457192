"""Turning a language model's logits into text: sampling settings, sampling, a text helper.

Shared by `TinyGPT` and `BigramLanguageModel`. Sampling is done in float64 on the last
position's logits (B, V):

    p = softmax(logits / temperature)       temperature < 1 sharpens, > 1 flattens
    keep only the top_k most likely tokens  (optional)
    draw one token per row from p

A temperature below GREEDY_TEMPERATURE (1e-6), 0 included, is greedy decoding: the most likely
token every time. (At such temperatures softmax already gives the top token all the mass unless
two logits are within ~1e-5 of each other, and dividing by a temperature near 0 overflows.)

Randomness comes from `np.random.default_rng(seed)` when a seed is given (the same seed gives
the same text, and the global generator is left alone), else from `tinytorch.rng.rng()`.
"""

import numpy as np

from ..rng import rng as global_rng
from ..tensor import Tensor
from ..validation import allocating, non_negative_int, positive_int, real_number

#: Temperatures below this (0 included) are greedy: always the most likely token.
GREEDY_TEMPERATURE = 1e-6
#: The most tokens one generate() call makes: a row of ids must fit in memory before the first
#: token is drawn (8 bytes each; in the browser all of memory is 2-4 GB), and at about a
#: millisecond a token this many already take hours.
MAX_NEW_TOKENS = 10_000_000


def check_sampling(max_new_tokens, temperature, top_k) -> None:
    """Raise a clear error for sampling settings that cannot work, before anything is allocated."""
    non_negative_int(max_new_tokens, "max_new_tokens")
    if max_new_tokens > MAX_NEW_TOKENS:
        raise ValueError(
            f"max_new_tokens={max_new_tokens:,} is more than generate makes in one call "
            f"(at most {MAX_NEW_TOKENS:,}): ask for fewer tokens, or call generate again on its output"
        )
    check_temperature(temperature)
    if top_k is not None:
        positive_int(top_k, "top_k (or None for all tokens)")


def check_temperature(temperature) -> float:
    """temperature as a float >= 0 (below GREEDY_TEMPERATURE: greedy), or a ValueError naming it."""
    return real_number(temperature, "temperature", minimum=0.0, hint=" (0 means always take the most likely token)")


def check_finite_weights(model, who: str) -> None:
    """A model whose weights hold NaN or inf cannot generate (it would emit token 0 forever): say which."""
    bad = [name for name, p in model.named_parameters() if not np.all(np.isfinite(p.data))]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise FloatingPointError(
            f"{who}: the model's weights contain NaN or inf ({shown}), so its predictions are meaningless: "
            "training diverged. Load the last good checkpoint, or retrain with a smaller learning rate."
        )


def output_ids(ids: np.ndarray, max_new_tokens: int, who: str) -> np.ndarray:
    """The (B, T0 + max_new_tokens) int64 array generate fills, the prompt ids (B, T0) copied in;
    refused up front, naming max_new_tokens and the prompt's rows, if it cannot be allocated."""
    B, T0 = ids.shape
    sizes = {"max_new_tokens": max_new_tokens, "the prompt's rows B": B}
    with allocating(who, sizes, (B, T0 + max_new_tokens), np.int64, "the output ids"):
        out = np.empty((B, T0 + max_new_tokens), dtype=np.int64)
    out[:, :T0] = ids
    return out


def sampling_generator(seed) -> np.random.Generator:
    """A private generator for `seed`, or the global one (tinytorch.manual_seed) when seed is None."""
    return global_rng() if seed is None else np.random.default_rng(seed)


def next_token_probabilities(logits, temperature: float = 1.0, top_k: int = None) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, in float64: logits (..., V) -> (..., V).

    The one numpy softmax that sampling and the views share. The row maximum is subtracted
    before dividing by the temperature (every value is then <= 0: nothing overflows, whatever
    the temperature). A temperature below GREEDY_TEMPERATURE (1e-6; 0 included) puts all the
    mass on the most likely token (greedy); top_k keeps only the k largest logits of each row.
    """
    temperature = check_temperature(temperature)
    z = np.array(logits, dtype=np.float64)  # a copy: updated in place below
    V = z.shape[-1]
    if top_k is not None and top_k < V:
        kth = np.partition(z, V - top_k, axis=-1)[..., V - top_k : V - top_k + 1]  # k-th largest per row
        z[z < kth] = -np.inf
    if temperature < GREEDY_TEMPERATURE:
        p = np.zeros_like(z)
        np.put_along_axis(p, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
        return p
    z -= z.max(axis=-1, keepdims=True)
    z /= temperature
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def sample_next(logits: np.ndarray, temperature: float = 1.0, top_k: int = None, generator=None) -> np.ndarray:
    """Draw one token per row: logits (B, V) -> ids (B,) int64.

    p = next_token_probabilities(logits, temperature, top_k), then one draw per row from p.
    A temperature below GREEDY_TEMPERATURE (0 included) is greedy decoding (argmax).
    """
    generator = global_rng() if generator is None else generator
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"sample_next expects logits of shape (B, V), got {z.shape}")
    B, V = z.shape
    broken = np.isnan(z).any(axis=-1) | np.isposinf(z).any(axis=-1) | np.all(np.isneginf(z), axis=-1)
    if broken.any():
        row = int(np.argmax(broken))
        raise FloatingPointError(
            f"sample_next: the logits of row {row} are not usable (they contain NaN or +inf, or are all -inf): "
            "the model's weights or input went non-finite; check them before sampling"
        )
    if check_temperature(temperature) < GREEDY_TEMPERATURE:
        return np.argmax(z, axis=-1).astype(np.int64)  # top_k cannot change the most likely token
    p = next_token_probabilities(z, temperature, top_k)
    cumulative = np.cumsum(p, axis=-1)
    u = generator.random(B) * cumulative[:, -1]
    # The first index whose cumulative mass exceeds u: a token with p = 0 is never chosen.
    choice = (cumulative <= u[:, None]).sum(axis=-1)
    last_possible = V - 1 - np.argmax(p[:, ::-1] > 0, axis=-1)
    return np.minimum(choice, last_possible).astype(np.int64)


def generate_text(
    model,
    tokenizer,
    prompt: str = "\n",
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int = None,
    seed=None,
    **kwargs,
) -> str:
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
