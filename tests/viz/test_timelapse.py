"""Attention time-lapse: one frame per snapshot (evenly thinned), the last one visible
without JS, a slider over them; the static small-multiples fallback."""

import numpy as np
import pytest
from _viz_helpers import assert_self_contained, assert_valid_html, by_class, causal_attention, parse_svg

from tinytorch.viz import attention_timelapse, timelapse_small_multiples


def _snapshots(n, L=2, H=3, T=16):
    return [(100 * k, causal_attention(L, H, T, seed=k)) for k in range(n)]


def test_frames_slider_and_last_frame_visible():
    view = attention_timelapse(_snapshots(5), "To be, or not to")
    root = parse_svg(view.svg)
    frames = by_class(root, "tt-frame")
    assert [int(f.get("data-step")) for f in frames] == [0, 100, 200, 300, 400]
    assert all(len(list(f.iter("image"))) == 6 for f in frames)
    hidden = [("display:none" in (f.get("style") or "")) for f in frames]
    assert hidden == [True, True, True, True, False]
    assert 'type="range" min="0" max="4" value="4"' in view.html
    assert_valid_html(view.html)
    assert_self_contained(view.html)


def test_thinning_keeps_first_and_last_step():
    view = attention_timelapse(_snapshots(20), max_frames=6)
    assert len(view.steps) == 6 and view.steps[0] == 0 and view.steps[-1] == 1900
    assert view.steps == sorted(view.steps)


def test_size_budget_4x4x64_eight_frames():
    snaps = [(k * 250, causal_attention(4, 4, 64, seed=k)) for k in range(12)]
    view = attention_timelapse(snaps, "x" * 64)
    assert len(view.steps) == 8
    assert len(view.html.encode()) < 300_000


def test_small_multiples_rows_are_steps_columns_are_heads():
    view = timelapse_small_multiples(_snapshots(4), "To be, or not to", layer=0)
    panels = [e for e in parse_svg(view.svg).iter() if e.get("data-step") is not None]
    assert [(int(p.get("data-step")), int(p.get("data-head"))) for p in panels] == [
        (s, h) for s in (0, 100, 200, 300) for h in range(3)
    ]
    assert "<script" not in view.html
    assert view.layer == 0
    np.testing.assert_array_equal(view.weights[2, 1], _snapshots(4)[2][1][0, 1])
    static = attention_timelapse(_snapshots(3)).static()
    assert static.layer == 1  # default: the last layer


def test_bad_snapshots_are_clear():
    with pytest.raises(ValueError, match="no attention snapshots"):
        attention_timelapse([])
    with pytest.raises(TypeError, match=r"snapshot 0 must be a \(step, weights"):
        attention_timelapse([np.zeros((1, 1, 2, 2))])
    with pytest.raises(ValueError, match="same shape"):
        attention_timelapse([(0, np.zeros((1, 1, 2, 2))), (1, np.zeros((1, 1, 3, 3)))])


def test_token_labels_stay_readable_in_a_grid():
    """2 layers x 4 heads over 30 tokens: labels were ~5 px; now >= 9 px, thinned when cells are small."""
    probe = "ROMEO:\nWhat light through yonder"
    view = attention_timelapse([(k, causal_attention(2, 4, len(probe), seed=k)) for k in range(3)], probe)
    root = parse_svg(view.svg)
    groups = by_class(root, "tt-query-labels") + by_class(root, "tt-key-labels")
    assert groups and all(float(g.get("font-size")) >= 9 for g in groups)
    shown = len(list(by_class(root, "tt-query-labels")[0]))
    assert 0 < shown <= len(probe)
    ys = [float(t.get("y")) for t in by_class(root, "tt-query-labels")[0]]
    assert min(np.diff(ys)) >= 9, "query labels overlap"
