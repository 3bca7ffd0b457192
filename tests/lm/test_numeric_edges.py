"""Sampling at the edges: temperatures down to the smallest float act as greedy, no probability
is ever NaN (sampling or the next-token view), and a number of tokens that cannot be allocated
is refused up front, naming the argument. Generated cases over temperatures, logit scales and
sizes."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import viz
from tinytorch.models import BigramLanguageModel, TinyGPT, TinyGPTConfig
from tinytorch.models.generation import GREEDY_TEMPERATURE, MAX_NEW_TOKENS, next_token_probabilities, sample_next

TINY = [0.0, 5e-324, 1e-320, 1e-310, 1e-300, 1e-100, 1e-12, 1e-7, GREEDY_TEMPERATURE * 0.999]
SMALL_BUT_SAMPLED = [GREEDY_TEMPERATURE, 1e-5, 1e-3, 0.01, 0.5, 1.0, 3.0, 1e6, 1e300]
SCALES = [1e-3, 1.0, 30.0, 1e4, 1e30, 1e300]


def _logits(seed: int, scale: float, V: int = 17, B: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(B, V)) * scale


@pytest.mark.parametrize("temperature", TINY)
@pytest.mark.parametrize("scale", SCALES)
def test_tiny_temperatures_are_greedy(temperature, scale):
    z = _logits(int(scale) % 7, scale)
    p = next_token_probabilities(z, temperature)
    assert np.all(np.isfinite(p))
    np.testing.assert_array_equal(p.argmax(-1), z.argmax(-1))
    np.testing.assert_array_equal(p.max(-1), 1.0)
    np.testing.assert_array_equal(sample_next(z, temperature, generator=np.random.default_rng(0)), z.argmax(-1))


@pytest.mark.parametrize("temperature", SMALL_BUT_SAMPLED)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("top_k", [None, 1, 5])
def test_probabilities_are_never_nan(temperature, scale, top_k):
    z = _logits(3, scale)
    p = next_token_probabilities(z, temperature, top_k)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), 1.0)
    ids = sample_next(z, temperature, top_k, generator=np.random.default_rng(1))
    assert np.all(p[np.arange(len(ids)), ids] > 0), "a token with probability 0 was drawn"


def _gpt():
    tt.manual_seed(0)
    return TinyGPT(TinyGPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0))


@pytest.mark.parametrize("temperature", TINY)
@pytest.mark.parametrize("make", [_gpt, lambda: BigramLanguageModel(11)])
def test_generate_at_a_tiny_temperature_is_greedy_decoding(temperature, make):
    model = make()
    prompt = np.array([[3, 1, 4]])
    greedy = model.generate(prompt, 12, temperature=0)
    np.testing.assert_array_equal(model.generate(prompt, 12, temperature=temperature, seed=5), greedy)


@pytest.mark.parametrize("temperature", TINY + SMALL_BUT_SAMPLED)
def test_the_next_token_view_never_shows_nan(temperature):
    logits = _logits(0, 50.0, B=1)[0]
    view = viz.next_token_view(logits, labels=[chr(97 + i) for i in range(17)], k=5, temperature=temperature)
    for p in view.probabilities.values():
        assert np.all(np.isfinite(p)) and abs(p.sum() - 1) < 1e-9
    assert not re.search(r"\bnan\b", view.svg, re.I)
    assert ("(greedy)" in view.svg) == (temperature < GREEDY_TEMPERATURE)


@pytest.mark.parametrize("temperature", [-1e-9, -1, float("nan"), float("inf"), "hot", None, [0.5]])
def test_a_temperature_that_is_not_one_is_refused_by_name(temperature):
    with pytest.raises(ValueError, match="temperature"):
        next_token_probabilities(_logits(0, 1.0), temperature)
    with pytest.raises(ValueError, match="temperature"):
        _gpt().generate(np.array([[1]]), 2, temperature=temperature)


HUGE = [MAX_NEW_TOKENS + 1, 10**9, 2**40, 2**63 - 1, 2**64, 10**30]


@pytest.mark.parametrize("n", HUGE)
@pytest.mark.parametrize("make", [_gpt, lambda: BigramLanguageModel(11)])
def test_a_huge_max_new_tokens_is_refused_up_front_by_name(n, make):
    model = make()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            model.generate(np.array([[1, 2]] * 4), n)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "max_new_tokens" in str(error.value) and f"{n:,}" in str(error.value)
    assert peak < 2**20, f"{peak:,} bytes taken before refusing"


def test_the_largest_allowed_request_is_not_refused_by_the_check():
    from tinytorch.models.generation import check_sampling

    check_sampling(MAX_NEW_TOKENS, 1.0, None)
