"""Next-token view: the top-k characters and their probabilities at each temperature."""

import numpy as np
import pytest
from _viz_helpers import assert_self_contained, assert_valid_html, by_class, parse_svg

from tinytorch.viz import next_token_view, visible_token

VOCAB = "\n !&<>abcde"


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_top_k_bars_match_softmax_at_each_temperature():
    logits = np.array([0.5, 2.0, -1.0, 1.5, 3.0, 0.0, 0.1, -2.0, 1.0, 0.2, 0.3])
    view = next_token_view(logits, prompt="hello", labels=VOCAB, k=4, temperature=[0.5, 1.0, 2.0])
    root = parse_svg(view.svg)
    panels = by_class(root, "tt-temperature")
    assert [p.get("data-temperature") for p in panels] == ["0.5", "1", "2"]
    for panel, t in zip(panels, (0.5, 1.0, 2.0)):
        p = _softmax(logits / t)
        order = np.argsort(-p)[:4]
        bars = by_class(panel, "tt-bar")
        assert [float(b.get("data-p")) for b in bars] == pytest.approx(p[order], abs=1e-4)
        assert [by_class(b, "tt-token")[0].text for b in bars] == [visible_token(VOCAB[i]) for i in order]
        assert f"other {len(VOCAB) - 4}" in "".join(panel.itertext())
    assert_valid_html(view.html)
    assert_self_contained(view.html)
    assert "hello" in view.title


def test_greedy_temperature_and_escaping():
    logits = np.array([0.0, 0.0, 0.0, 0.0, 5.0, 4.0, 0, 0, 0, 0, 0])  # '<' most likely, then '>'
    view = next_token_view(logits, labels=VOCAB, k=3, temperature=0)
    assert view.top[0.0][0] == ("<", 1.0)
    assert "&lt;" in view.svg and "<<" not in view.svg


def test_last_row_of_sequence_logits_is_used():
    seq = np.zeros((1, 3, 11))
    seq[0, -1, 7] = 9.0
    assert next_token_view(seq, labels=VOCAB, k=1).top[1.0][0][0] == VOCAB[7]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": -1}, "temperature=-1 must be >= 0"),
        ({"labels": "abc"}, "labels has 3 entries but the logits have 11"),
    ],
)
def test_bad_input_is_clear(kwargs, message):
    with pytest.raises(ValueError, match=message):
        next_token_view(np.zeros(11), **kwargs)


def test_diverged_logits_are_reported():
    with pytest.raises(ValueError, match="NaN"):
        next_token_view(np.array([0.0, np.nan]))


def test_a_long_prompt_title_is_not_cut():
    prompt = "ROMEO:\nWhat light through yonder window breaks? It is the east"
    view = next_token_view(np.zeros(11), prompt=prompt, labels=VOCAB, k=10)
    root = parse_svg(view.svg)
    title = by_class(root, "tt-title")[0]
    from tinytorch.viz.svg import text_width

    assert float(root.get("width")) >= float(title.get("x")) + text_width(title.text, 14)
