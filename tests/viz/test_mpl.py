"""The optional matplotlib versions draw the same structure as the SVG views."""

import io

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the matplotlib figures need the [plot] extra: pip install matplotlib")
import matplotlib

matplotlib.use("Agg")

from _viz_helpers import AWKWARD, causal_attention  # noqa: E402

from tinytorch.viz import mpl, visible_token  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_title()]


def test_attention_grid_has_one_axes_per_layer_and_head_with_token_ticks():
    w = causal_attention(2, 3, len(AWKWARD))
    fig = mpl.attention_heatmap(w, AWKWARD)
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"layer {l} \u00b7 head {h}" for l in range(2) for h in range(3)]
    expected = [visible_token(c) for c in AWKWARD]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == expected
    assert [t.get_text() for t in axes[-1].get_xticklabels()] == expected
    data = axes[4].images[0].get_array()
    assert np.ma.is_masked(data[0, 5]) or np.isnan(data[0, 5])  # the future is masked (grey)
    np.testing.assert_allclose(data[5, :6], w[1, 1, 5, :6], rtol=1e-6)
    assert "masked" in fig._suptitle.get_text()
    assert _png(fig).startswith(b"\x89PNG")


def test_single_head():
    fig = mpl.attention_heatmap(causal_attention(3, 2, 10), "0123456789", layer=2, head=1)
    assert [ax.get_title() for ax in _image_axes(fig)] == ["layer 2 \u00b7 head 1"]


def test_loss_curves_panels_and_ladder():
    hist = [
        {"step": s, "train_loss": 3 - s / 50, "val_loss": 3.1 - s / 50 if s % 10 == 0 else None, "elapsed": s * 0.5}
        for s in range(1, 51)
    ]
    fig = mpl.loss_curves(hist, ladder={"bigram": 2.5, "uniform": 4.17})
    assert [ax.get_xlabel() for ax in fig.axes] == ["step", "elapsed time (s)"]
    for ax in fig.axes:
        dashed = [l for l in ax.lines if l.get_linestyle() == "--"]
        assert sorted(l.get_ydata()[0] for l in dashed) == [2.5, 4.17]
        train = ax.lines[0]
        assert len(train.get_xdata()) == 50 and len(ax.lines[1].get_xdata()) == 5
    assert _png(fig).startswith(b"\x89PNG")


def test_positional_and_next_token():
    fig = mpl.positional(T=16, d_model=8)
    imgs = [ax for ax in fig.axes if ax.images]
    assert [ax.images[0].get_array().shape for ax in imgs] == [(16, 8), (16, 16)]
    logits = np.array([0.0, 3.0, 1.0, 2.0])
    fig = mpl.next_token(logits, labels=" \nab", k=3, temperature=[0.5, 1.0])
    axes = [ax for ax in fig.axes if ax.patches]
    assert len(axes) == 2
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["\u21b5", "b", "a"]
    p = np.exp(logits / 0.5) / np.exp(logits / 0.5).sum()
    assert [r.get_width() for r in axes[0].patches] == pytest.approx(sorted(p)[::-1][:3])
    assert _png(fig).startswith(b"\x89PNG")
