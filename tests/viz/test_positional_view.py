"""Positional-encoding view: the sinusoidal table and the similarity between positions."""

import numpy as np
import pytest
from _viz_helpers import assert_self_contained, assert_valid_html, by_class, parse_svg

from tinytorch.viz import positional_view


def test_sinusoidal_matrix_and_similarity():
    view = positional_view(T=32, d_model=16)
    pe, sim = view.encodings, view.similarity
    assert pe.shape == (32, 16) and sim.shape == (32, 32)
    np.testing.assert_allclose(pe[:, 0], np.sin(np.arange(32)))
    np.testing.assert_allclose(pe[:, 1], np.cos(np.arange(32)))
    np.testing.assert_allclose(np.diag(sim), 8.0)  # d/2 pairs of sin^2 + cos^2
    # Nearby positions are more alike than distant ones.
    assert sim[10, 11] > sim[10, 20]
    root = parse_svg(view.svg)
    assert by_class(root, "tt-pe")[0].get("data-rows") == "32" and by_class(root, "tt-pe")[0].get("data-cols") == "16"
    assert by_class(root, "tt-similarity")[0].get("data-cols") == "32"
    assert "position" in view.svg and "dimension" in view.svg
    assert_valid_html(view.html)
    assert_self_contained(view.html)


def test_matches_tinytorch_nn_when_available():
    from tinytorch import nn

    if not callable(getattr(nn, "sinusoidal_positions", None)):
        pytest.skip("tinytorch.nn.sinusoidal_positions is not written yet")
    np.testing.assert_allclose(positional_view(T=20, d_model=10).encodings, nn.sinusoidal_positions(20, 10), atol=1e-6)


def test_learned_positions_and_cosine():
    class LearnedPositions:  # the shape of an Embedding: .weight (T, C)
        weight = np.random.default_rng(0).normal(size=(24, 8))

    view = positional_view(LearnedPositions(), normalize=True)
    assert "learned" in view.title
    np.testing.assert_allclose(np.diag(view.similarity), 1.0)
    with pytest.raises(ValueError, match=r"\(T, d_model\) matrix"):
        positional_view(np.zeros(5))
