"""The small helpers every view relies on: readable tokens, escaping, the hand-written PNG
encoder, colour maps and axis ticks."""

import struct
import zlib

import numpy as np
import pytest

from tinytorch.viz import svg as S


def test_visible_token_shows_whitespace_and_control_characters():
    assert S.visible_token(" ") == "\u2423"
    assert S.visible_token("\n") == "\u21b5"
    assert S.visible_token("\t") == "\u21e5"
    assert S.visible_token("\x00") == "\u2400"  # NUL is not even legal in XML
    assert S.visible_token("a b") == "a\u2423b"
    assert S.visible_token("") == "\u2205"
    assert S.visible_token("é") == "é"


def test_esc_escapes_markup_and_quotes():
    assert S.esc('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"


def _decode_png(data: bytes):
    """Minimal PNG reader for palette images: checks every CRC, returns (indices, palette)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind}"
        chunks.setdefault(kind, b"")
        chunks[kind] += body
        pos += 12 + n
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, ctype) == (8, 3)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, w + 1)
    assert np.all(raw[:, 0] == 0)  # filter "none" on every scanline
    return raw[:, 1:], np.frombuffer(chunks[b"PLTE"], dtype=np.uint8).reshape(-1, 3)


def test_palette_png_round_trips():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 7, size=(5, 9)).astype(np.uint8)
    pal = rng.integers(0, 256, size=(7, 3)).astype(np.uint8)
    got_idx, got_pal = _decode_png(S.palette_png(idx, pal))
    np.testing.assert_array_equal(got_idx, idx)
    np.testing.assert_array_equal(got_pal, pal)


def test_heatmap_uri_maps_values_to_colours_and_masks_grey():
    import base64

    values = np.array([[0.0, 0.5], [1.0, 0.25]])
    mask = np.array([[False, True], [False, False]])
    uri = S.heatmap_data_uri(values, 0.0, 1.0, mask=mask, levels=255, scale=2)
    idx, pal = _decode_png(base64.b64decode(uri.split(",", 1)[1]))
    assert idx.shape == (4, 4)  # scale 2
    colours = pal[idx[::2, ::2]]
    table = S.colormap_table("viridis", 255)
    np.testing.assert_array_equal(colours[0, 0], table[0])
    np.testing.assert_array_equal(colours[1, 0], table[-1])
    np.testing.assert_array_equal(colours[0, 1], S.MASKED_RGB)


def test_colormaps_run_dark_to_bright_and_blue_white_red():
    v = S.colormap_table("viridis", 16).astype(int)
    assert v[0].sum() < v[-1].sum()
    d = S.colormap_table("diverging", 3)
    assert d[0, 2] > d[0, 0] and d[2, 0] > d[2, 2] and d[1].min() > 240
    with pytest.raises(ValueError, match="unknown colour map"):
        S.colormap_table("jet")


@pytest.mark.parametrize("lo,hi", [(0, 1), (1.3, 4.2), (0, 3000), (2.5, 2.51)])
def test_nice_ticks_are_round_and_cover_the_range(lo, hi):
    ticks = S.nice_ticks(lo, hi, 5)
    assert 2 <= len(ticks) <= 11
    assert lo - 1e-9 <= ticks[0] and ticks[-1] <= hi + 1e-9
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])
    mant = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert any(np.isclose(mant, m) for m in (1, 2, 2.5, 5))


def test_json_payload_cannot_close_the_script_element():
    out = S.json_payload({"tok": ["</script><b>", "é"]})
    assert "<" not in out and "é" not in out
    import json

    assert json.loads(out)["tok"] == ["</script><b>", "é"]


def test_every_view_is_one_line_of_markup():
    """Notebook files store text as a list of lines and JupyterLite renders a saved output
    with them joined by commas: a line break inside a view's <script> would break it."""
    from tinytorch import viz

    w = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    text = "a\nb\r c"
    views = [
        viz.attention_heatmap(w, text, title="two\nlines"),
        viz.head_view(w, text, title="x\ny"),
        viz.attention_timelapse([(0, w), (5, w)], text),
        viz.timelapse_small_multiples([(0, w)], text),
        viz.loss_curves([{"step": 1, "train_loss": 1.0}], ladder={"a\nb": 1.0}),
        viz.positional_view(T=6, d_model=4),
        viz.next_token_view(np.zeros(6), labels=list(text), prompt="p\nq"),
    ]
    for view in views:
        assert "\n" not in view.html and "\r" not in view.html, type(view).__name__
