"""Generation: the key/value cache changes nothing but speed, seeds reproduce, sampling is sound."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.models import TinyGPT, TinyGPTConfig
from tinytorch.models.generation import sample_next
from tinytorch.text import CharTokenizer

CONFIG = TinyGPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)


def trained_looking_model(config=CONFIG, seed=0, sharpness=30.0):
    """A random model whose head is scaled up, so its predictions are confident like a trained one's."""
    tt.manual_seed(seed)
    m = TinyGPT(config)
    m.lm_head.weight.data = m.lm_head.weight.data * sharpness
    return m


def prompt(T=3, B=None, seed=0):
    shape = (T,) if B is None else (B, T)
    return np.random.default_rng(seed).integers(0, CONFIG.vocab_size, shape, dtype=np.int64)


# --- the cache ---------------------------------------------------------------------------------


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.7, 5), (0.0, None)])
def test_cache_and_no_cache_give_the_same_tokens(positions, temperature, top_k):
    config = TinyGPTConfig(**{**CONFIG.to_dict(), "positions": positions})
    m = trained_looking_model(config, sharpness=3.0)
    # 40 new tokens with block_size 8: the context window restarts several times
    for start in (prompt(3, B=2), prompt(11, B=1, seed=1)):  # a prompt longer than block_size too
        a = m.generate(start, 40, temperature=temperature, top_k=top_k, seed=5, use_cache=True)
        b = m.generate(start, 40, temperature=temperature, top_k=top_k, seed=5, use_cache=False)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (start.shape[0], start.shape[1] + 40)
        np.testing.assert_array_equal(a[:, : start.shape[1]], start)


def test_no_cache_generation_is_the_model_forward_on_the_window():
    """Greedy decoding step by step by hand, with the documented window, equals generate()."""
    m = trained_looking_model(sharpness=3.0)
    out = list(prompt(2))
    start = 0
    keep = CONFIG.block_size - CONFIG.block_size // 4
    for _ in range(20):
        if len(out) - start > CONFIG.block_size:
            start = len(out) - keep
        logits = m(np.array([out[start:]])).data[0, -1]
        out.append(int(np.argmax(logits)))
    np.testing.assert_array_equal(m.generate(prompt(2), 20, temperature=0), out)


def test_same_seed_same_text_other_seed_other_text():
    m = trained_looking_model(sharpness=1.0)
    a = m.generate(prompt(), 50, seed=123)
    b = m.generate(prompt(), 50, seed=123)
    c = m.generate(prompt(), 50, seed=124)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seedless_generation_follows_manual_seed_and_a_seed_leaves_the_global_generator_alone():
    m = trained_looking_model(sharpness=1.0)
    tt.manual_seed(9)
    a = m.generate(prompt(), 30)
    tt.manual_seed(9)
    before = tt.rng.rng().bit_generator.state
    m.generate(prompt(), 30, seed=1)
    assert tt.rng.rng().bit_generator.state == before
    np.testing.assert_array_equal(m.generate(prompt(), 30), a)


def test_low_temperature_is_stable_and_nearly_greedy():
    m = trained_looking_model(sharpness=300.0)  # huge logits: a naive exp(logits / 0.1) overflows
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        cold = m.generate(prompt(B=2), 30, temperature=0.1, seed=0)
    assert cold.min() >= 0 and cold.max() < CONFIG.vocab_size
    np.testing.assert_array_equal(cold, m.generate(prompt(B=2), 30, temperature=0.1, seed=0))
    # where the best logit leads by >= 1, temperature 0.1 picks it (the runner-up has p < e^-10)
    logits = np.random.default_rng(0).standard_normal((500, 65)).astype(np.float32) * 1e3
    logits[np.arange(500), np.arange(500) % 65] = logits.max(axis=1) + 1.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        picked = sample_next(logits, temperature=0.1, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(picked, np.arange(500) % 65)


def test_top_k_is_respected():
    logits = np.random.default_rng(0).standard_normal((4, 20))
    allowed = np.argsort(logits, axis=-1)[:, -3:]
    gen = np.random.default_rng(1)
    seen = [set() for _ in range(4)]
    for _ in range(300):
        for row, token in enumerate(sample_next(logits, temperature=2.0, top_k=3, generator=gen)):
            seen[row].add(int(token))
    for row in range(4):
        assert seen[row] == set(allowed[row].tolist())  # only, and all of, the top 3
    # top_k=1 is greedy
    np.testing.assert_array_equal(sample_next(logits, top_k=1, generator=gen), logits.argmax(-1))


def test_top_k_in_generate_only_picks_among_the_model_top_k():
    m = trained_looking_model(sharpness=1.0)
    out = m.generate(prompt(), 5, top_k=2, seed=0)  # 3 + 5 tokens fit in block_size: the window is out[:t]
    for t in range(3, out.shape[0]):
        logits = m(out[None, :t]).data[0, -1]
        assert out[t] in np.argsort(logits)[-2:]


def test_sampling_matches_the_softmax_distribution():
    logits = np.array([[2.0, 1.0, 0.0, -1.0]])
    p = np.exp(logits[0] / 0.8)
    p /= p.sum()
    gen = np.random.default_rng(0)
    draws = np.array([sample_next(logits, temperature=0.8, generator=gen)[0] for _ in range(20000)])
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, p, atol=0.012)


# --- input and output forms -----------------------------------------------------------------


def test_input_kinds_are_kept():
    m = trained_looking_model()
    one = m.generate(prompt(), 5, seed=0)
    assert isinstance(one, np.ndarray) and one.shape == (8,) and one.dtype == np.int64
    as_tensor = m.generate(Tensor(prompt()), 5, seed=0)
    assert isinstance(as_tensor, Tensor)
    np.testing.assert_array_equal(as_tensor.data, one)
    np.testing.assert_array_equal(m.generate(list(prompt()), 5, seed=0), one)
    np.testing.assert_array_equal(m.generate(prompt(), 0), prompt())


def test_generate_restores_training_mode():
    m = trained_looking_model(TinyGPTConfig(**{**CONFIG.to_dict(), "dropout": 0.2}))
    m.train()
    a = m.generate(prompt(), 20, seed=0)
    assert m.training
    m.eval()
    np.testing.assert_array_equal(m.generate(prompt(), 20, seed=0), a)  # dropout was off both times
    assert not m.training


def test_bad_generation_arguments():
    m = trained_looking_model()
    with pytest.raises(ValueError, match="max_new_tokens"):
        m.generate(prompt(), -1)
    with pytest.raises(ValueError, match="temperature"):
        m.generate(prompt(), 3, temperature=-0.5)
    with pytest.raises(ValueError, match="top_k"):
        m.generate(prompt(), 3, top_k=0)
    with pytest.raises(ValueError, match="at least one token"):
        m.generate(np.zeros(0, dtype=np.int64), 3)
    with pytest.raises(TypeError, match="integer"):
        m.generate(prompt().astype(np.float64), 3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m.generate(np.array([99]), 3)


# --- text ------------------------------------------------------------------------------------


def test_generate_text_continues_a_prompt():
    text = "To be, or not to be: that is the question.\n"
    tok = CharTokenizer().fit(text)
    m = trained_looking_model(TinyGPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=8))
    out = m.generate_text(tok, "To be", max_new_tokens=40, seed=3)
    assert out.startswith("To be") and len(out) == 45
    assert set(out) <= set(text)
    assert out == m.generate_text(tok, "To be", max_new_tokens=40, seed=3, use_cache=False)
    assert len(m.generate_text(tok, "", max_new_tokens=10, seed=0)) == 10
    with pytest.raises(ValueError, match="Z"):
        m.generate_text(tok, "Zounds", max_new_tokens=5)
