"""Head view markup: selectors for every layer and head, both token columns complete and
escaped, the weights payload exact enough to draw from. (The drawing itself is tested in a
real browser in test_views_in_browser.py.)"""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _viz_helpers import (
    AWKWARD,
    assert_self_contained,
    assert_valid_html,
    causal_attention,
    decode_weights,
    json_payload,
)

from tinytorch.viz import head_view, visible_token


def _options(html, cls):
    block = re.search(rf'<select class="{cls}">(.*?)</select>', html, flags=re.S).group(1)
    return re.findall(r'<option value="([^"]*)"( selected)?>', block)


def test_selectors_offer_every_layer_and_head(weights_4x4, text64):
    view = head_view(weights_4x4, text64, layer=2, head=1)
    layers = _options(view.html, "tt-layer")
    heads = _options(view.html, "tt-head")
    assert [v for v, _ in layers] == ["0", "1", "2", "3"]
    assert [v for v, _ in heads] == ["all", "0", "1", "2", "3"]
    assert [v for v, sel in layers if sel] == ["2"] and [v for v, sel in heads if sel] == ["1"]
    assert_valid_html(view.html)
    assert_self_contained(view.html)
    assert view.svg is None


def test_both_columns_hold_every_token_escaped():
    w = causal_attention(2, 2, len(AWKWARD))
    view = head_view(w, AWKWARD)
    svg = ET.fromstring(re.search(r"<svg\b.*?</svg>", view.html, flags=re.S).group(0))
    for side in ("q", "k"):
        groups = [g for g in svg.iter("g") if g.get("data-side") == side]
        assert [int(g.get("data-i")) for g in groups] == list(range(len(AWKWARD)))
        texts = [[t for t in g.iter("text")][0].text for g in groups]
        assert texts == [visible_token(c) for c in AWKWARD]
    assert "<b>" not in view.html


def test_payload_has_all_layers_and_heads(weights_4x4, text64):
    view = head_view(weights_4x4, text64, threshold=0.05)
    data = json_payload(view.html)
    assert (data["L"], data["H"], data["T"], data["th"]) == (4, 4, 64, 0.05)
    np.testing.assert_allclose(decode_weights(data, 16), weights_4x4.reshape(16, 64, 64), atol=4e-3)


def test_size_budget_for_4_layers_4_heads_64_tokens(weights_4x4, text64):
    assert len(head_view(weights_4x4, text64).html.encode()) < 300_000


def test_all_heads_can_be_the_start_and_bad_choices_are_clear(weights_4x4):
    view = head_view(weights_4x4, head="all")
    assert [v for v, sel in _options(view.html, "tt-head") if sel] == ["all"]
    with pytest.raises(ValueError, match="head=7 is out of range"):
        head_view(weights_4x4, head=7)
    with pytest.raises(ValueError, match="threshold"):
        head_view(weights_4x4, threshold=1.5)


def test_legend_names_each_head_colour():
    from tinytorch.viz.svg import SERIES

    view = head_view(causal_attention(1, 4, 8), "abcdefgh", head="all")
    import re

    buttons = re.findall(
        r'<button type="button" class="tt-legend-head" data-h="(\d)".*?background:(#[0-9a-f]{6}).*?head (\d)</button>',
        view.html,
    )
    assert [(int(h), colour) for h, colour, _ in buttons] == [(h, SERIES[h]) for h in range(4)]
