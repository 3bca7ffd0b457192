"""Fixtures for the view tests; the checks themselves live in _viz_helpers.py."""

import pytest
from _viz_helpers import causal_attention


@pytest.fixture
def weights_4x4():
    """Causal softmax attention, 4 layers x 4 heads x 64 tokens: the performance case."""
    return causal_attention(4, 4, 64)


@pytest.fixture
def text64():
    """64 characters of Shakespeare-like text with spaces, newlines, < > & and quotes."""
    base = "First Citizen:\nBefore we proceed any further, hear me <speak> & 'all'.\n"
    return (base * 2)[:64]
