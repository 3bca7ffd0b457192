"""Sinusoidal positional encodings: the formula, its relative-position property, the module."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import PositionalEncoding, sinusoidal_positions


def test_table_follows_the_formula():
    T, d = 50, 16
    table = sinusoidal_positions(T, d)
    assert table.shape == (T, d)
    for pos in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert table[pos, 2 * i] == pytest.approx(np.sin(angle), abs=1e-12)
            assert table[pos, 2 * i + 1] == pytest.approx(np.cos(angle), abs=1e-12)
    # position 0 is sin(0)=0, cos(0)=1 in every pair
    np.testing.assert_array_equal(table[0], np.tile([0.0, 1.0], d // 2))
    assert np.abs(table).max() <= 1.0


def test_odd_d_model_ends_with_a_sine():
    table = sinusoidal_positions(5, 7)
    assert table.shape == (5, 7)
    angle = 3 / 10000 ** (6 / 7)
    assert table[3, 6] == pytest.approx(np.sin(angle))


def test_similarity_depends_only_on_the_distance():
    """<PE[p], PE[p+k]> = sum_i cos(k w_i): the same for every p, which lets attention read offsets."""
    table = sinusoidal_positions(64, 32)
    for k in (1, 5, 20):
        dots = [table[p] @ table[p + k] for p in range(0, 64 - k)]
        assert np.ptp(dots) < 1e-9
    # and nearby positions are more alike than distant ones
    assert table[10] @ table[11] > table[10] @ table[40]


def test_module_adds_the_table_and_has_no_parameters():
    pe = PositionalEncoding(8, max_len=20)
    assert list(pe.parameters()) == []
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    out = pe(Tensor(x))
    assert out.shape == (2, 5, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, x + sinusoidal_positions(5, 8), rtol=1e-6, atol=1e-6)
    # `start` shifts the positions (generation with a cache)
    shifted = pe(Tensor(x[:, :1]), start=4)
    np.testing.assert_allclose(shifted.data[:, 0], x[:, 0] + sinusoidal_positions(5, 8)[4], rtol=1e-6, atol=1e-6)


def test_gradient_passes_straight_through():
    with tt.default_dtype(np.float64):
        pe = PositionalEncoding(6, max_len=10)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 4, 6)), requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: pe(x), [x])


def test_too_long_sequence_is_a_clear_error():
    pe = PositionalEncoding(8, max_len=10)
    with pytest.raises(ValueError, match="max_len=10"):
        pe(Tensor(np.zeros((1, 11, 8))))
    with pytest.raises(ValueError, match="max_len=10"):
        pe(Tensor(np.zeros((1, 3, 8))), start=8)


def test_wrong_width_is_a_clear_error():
    pe = PositionalEncoding(8, max_len=10)
    with pytest.raises(ValueError, match=r"\(B, T, 8\)"):
        pe(Tensor(np.zeros((1, 3, 5))))
