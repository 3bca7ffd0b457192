"""Attention heatmaps: the right panels, every token readable and escaped, the causal
triangle visible, exact weights recoverable for the hover read-out, clear errors."""

import re

import numpy as np
import pytest
from _viz_helpers import (
    AWKWARD,
    assert_self_contained,
    assert_valid_html,
    by_class,
    causal_attention,
    decode_weights,
    json_payload,
    parse_svg,
)

from tinytorch.viz import attention_heatmap, visible_token


def test_grid_draws_one_panel_per_layer_and_head(weights_4x4, text64):
    view = attention_heatmap(weights_4x4, text64)
    root = parse_svg(view.svg)
    panels = by_class(root, "tt-panel")
    assert len(panels) == 16
    assert sorted((int(p.get("data-layer")), int(p.get("data-head"))) for p in panels) == [
        (l, h) for l in range(4) for h in range(4)
    ]
    titles = [e.text for e in by_class(root, "tt-panel-title")]
    assert "layer 2 \u00b7 head 3" in titles and len(titles) == 16
    assert view.layers == [0, 1, 2, 3] and view.heads == [0, 1, 2, 3]
    assert_valid_html(view.html)
    assert_self_contained(view.html)


def test_single_head_title_and_selection(weights_4x4, text64):
    view = attention_heatmap(weights_4x4, text64, layer=1, head=2)
    root = parse_svg(view.svg)
    assert len(by_class(root, "tt-panel")) == 1
    title = by_class(root, "tt-title")[0].text
    assert "layer 1" in title and "head 2" in title and "causal" in title
    np.testing.assert_array_equal(view.weights[0, 0], weights_4x4[1, 2])


def test_subset_of_layers_and_heads(weights_4x4, text64):
    view = attention_heatmap(weights_4x4, text64, layer=[0, 3], head=[1, 2])
    panels = by_class(parse_svg(view.svg), "tt-panel")
    assert [(p.get("data-layer"), p.get("data-head")) for p in panels] == [
        ("0", "1"),
        ("0", "2"),
        ("3", "1"),
        ("3", "2"),
    ]


def test_every_token_is_drawn_readably_and_escaped():
    w = causal_attention(1, 2, len(AWKWARD))
    view = attention_heatmap(w, AWKWARD)
    root = parse_svg(view.svg)  # parses, so every < & " was escaped
    expected = [visible_token(c) for c in AWKWARD]
    for group in ("tt-query-labels", "tt-key-labels"):
        labels = [t.text for g in by_class(root, group) for t in g]
        assert labels[: len(AWKWARD)] == expected
    assert "\u2423" in expected and "\u21b5" in expected and "\u21e5" in expected
    # The raw characters never reach the markup unescaped.
    assert "<b>" not in view.html and "&lt;" in view.html and "&amp;" in view.html
    assert_valid_html(view.html)


def test_causal_triangle_is_masked_and_legend_says_so(weights_4x4, text64):
    view = attention_heatmap(weights_4x4, text64)
    assert view.causal
    assert "masked" in view.svg and "(future)" in view.svg
    full = np.full((3, 3), 1 / 3, dtype=np.float32)
    view2 = attention_heatmap(full, "abc")
    assert not view2.causal and "masked" not in view2.svg


def test_hover_payload_holds_the_weights(weights_4x4, text64):
    view = attention_heatmap(weights_4x4, text64, layer=[1, 2])
    data = json_payload(view.html)
    assert data["T"] == 64 and data["causal"] is True and len(data["names"]) == 8
    got = decode_weights(data, 8)
    np.testing.assert_allclose(got, weights_4x4[1:3].reshape(8, 64, 64), atol=4e-3)
    assert len(data["tok"]) == 64


def test_colour_scale_defaults_to_largest_weight_and_can_be_set(weights_4x4):
    view = attention_heatmap(weights_4x4)
    assert view.vmax == pytest.approx(float(weights_4x4.max()))
    assert attention_heatmap(weights_4x4, vmax=1.0).vmax == 1.0
    assert view.svg.count('class="tt-colorbar"') == 1


def test_positions_are_labels_when_no_tokens_are_given():
    view = attention_heatmap(causal_attention(1, 1, 12)[0, 0])
    labels = [t.text for g in by_class(parse_svg(view.svg), "tt-query-labels") for t in g]
    assert labels == [str(i) for i in range(12)]


def test_accepts_tensor_and_multihead_attention_like_modules(text64):
    import tinytorch

    w = causal_attention(1, 4, 64)[0]
    view = attention_heatmap(tinytorch.Tensor(w), text64)
    assert len(view.heads) == 4

    class AfterForward:  # the MultiHeadAttention contract: attention_weights (B, H, T, T)
        attention_weights = np.stack([w, w[::-1]])

    view = attention_heatmap(AfterForward(), text64, batch=1)
    np.testing.assert_array_equal(view.weights[0], w[::-1])


@pytest.mark.parametrize(
    "bad, kwargs, message",
    [
        (np.zeros((2, 3)), {}, "square"),
        (np.zeros((2, 2, 2, 2, 2)), {}, r"\(T, T\), \(H, T, T\) or \(L, H, T, T\)"),
        (np.zeros((1, 1, 4, 4)), {"tokens": "abc"}, "got 3 tokens for attention over T=4"),
        (np.zeros((2, 1, 4, 4)), {"layer": 2}, "layer=2 is out of range: there are 2 layers"),
        (np.zeros((1, 3, 4, 4)), {"head": -4}, "head=-4 is out of range"),
    ],
)
def test_bad_input_gets_a_clear_error(bad, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attention_heatmap(bad, **kwargs)


def test_module_before_forward_pass_is_a_clear_error():
    class Fresh:
        attention_weights = None

    with pytest.raises(ValueError, match="run a forward pass first"):
        attention_heatmap(Fresh())


def test_save_writes_svg_and_html(tmp_path, text64):
    import xml.etree.ElementTree as ET

    view = attention_heatmap(causal_attention(1, 1, 64), text64)
    svg_file = view.save(tmp_path / "a.svg")
    root = ET.parse(svg_file).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    page = view.save(tmp_path / "a.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and view.html in page and '<meta charset="utf-8">' in page
    assert view._repr_html_() == view.html
    assert re.search(r"AttentionHeatmap .*static SVG", repr(view))
