"""Every view writes well-formed SVG/HTML for any Unicode string: titles, tokens, labels, legend
names and prompts full of control characters, U+FFFE/U+FFFF, lone surrogates, markup and
astral characters. Generated strings; each view's SVG (and its saved .svg file) is parsed with
xml.etree, its saved .html must encode as UTF-8 and hold only characters XML allows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _viz_helpers import assert_valid_html, causal_attention

from tinytorch import viz
from tinytorch.viz import svg as S

# Characters XML 1.0 (and so SVG) cannot hold at all, even as &#...; references.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NASTY = (
    [chr(c) for c in range(0x20)]
    + [
        "\x7f",
        "\x85",
        "\x9f",
        "\ufffe",
        "\uffff",
        "\ud800",
        "\udbff",
        "\udc00",
        "\udfff",
        "\ufdd0",
        "\ufeff",
        "\u202e",
        "\u200d",
        "\U0001f600",
        "e\u0301",
        "\U0010ffff",
    ]
    + ["]]>", "<script>alert(1)</script>", "&amp;", '"', "'", "--", "<!--", "&#0;", "&#xD800;", "\\", "</svg>"]
)


def _strings(count: int, seed: int) -> list[str]:
    """`count` strings of 1-12 pieces drawn from NASTY and plain letters."""
    rng = np.random.default_rng(seed)
    pool = NASTY + list("abc xyz")
    return ["".join(rng.choice(pool, size=rng.integers(1, 13))) for _ in range(count)]


STRINGS = _strings(24, 0) + NASTY


def _views(s: str, T: int = 6) -> dict:
    """One view of every kind with `s` in every text it shows."""
    tokens = [s[i % len(s) :] + str(i) for i in range(T)]  # distinct tokens, each with the nasty text
    weights = causal_attention(1, 2, T)
    history = [{"step": i, "loss": 3.0 - i * 0.1, "val_loss": 3.1 - i * 0.1, "elapsed": float(i)} for i in range(6)]
    snapshots = [(step, causal_attention(1, 2, T, seed=step)) for step in (0, 10, 20)]
    logits = np.linspace(-2, 2, T)
    return {
        "heatmap": viz.attention_heatmap(weights[0, 0], tokens, title=s),
        "grid": viz.attention_heatmap(weights, tokens, title=s),
        "head view": viz.head_view(weights, tokens, title=s),
        "loss": viz.loss_curves(history, ladder={s: 2.5, "bigram" + s: 2.0}, title=s),
        "positional": viz.positional_view(T=8, d_model=8, title=s),
        "next token": viz.next_token_view(logits, prompt=s, labels=tokens, k=4, temperature=[0, 1.0]),
        "next token titled": viz.next_token_view(logits, labels=tokens, k=3, title=s),
        "timelapse": viz.attention_timelapse(snapshots, tokens, title=s),
        "small multiples": viz.timelapse_small_multiples(snapshots, tokens, title=s),
    }


def _check_markup(markup: str, where: str) -> None:
    assert not NOT_XML.search(markup), f"{where}: a character XML cannot hold: {NOT_XML.search(markup).group(0)!r}"
    markup.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize("s", STRINGS, ids=[f"s{i}" for i in range(len(STRINGS))])
def test_every_view_is_well_formed_for_any_text(tmp_path, s):
    for kind, view in _views(s).items():
        _check_markup(view.html, kind)
        assert_valid_html(view.html)
        if view.svg is not None:
            ET.fromstring(view.svg)
            saved = view.save(tmp_path / f"{kind}.svg")
            ET.parse(saved)  # the standalone file, XML declaration and namespace included
        page = view.save(tmp_path / f"{kind}.html").read_bytes().decode("utf-8")  # strict: no surrogates
        _check_markup(page, f"{kind}.html")


@pytest.mark.parametrize("s", STRINGS, ids=[f"s{i}" for i in range(len(STRINGS))])
def test_the_one_escaping_home_keeps_the_readable_part(s):
    """esc() gives parseable XML text whose parsed value is the input with only the unencodable
    characters replaced (control characters by their pictures, the rest by U+FFFD)."""
    escaped = S.esc(s)
    parsed = ET.fromstring(f'<t a="{escaped}">{escaped}</t>')
    expected = NOT_XML.sub(lambda m: chr(0x2400 + ord(m.group(0))) if m.group(0) < " " else "\ufffd", s)
    assert parsed.text == expected and parsed.get("a") == expected


def test_a_title_of_every_control_character_saves_and_parses(tmp_path):
    title = "".join(chr(c) for c in range(0x20)) + "\ufffe\uffff\ud800"
    view = viz.loss_curves([{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}], title=title)
    root = ET.parse(view.save(tmp_path / "t.svg")).getroot()
    shown = root.find("{http://www.w3.org/2000/svg}title").text
    assert "\u2400" in shown and "\u241f" in shown and "\ufffd\ufffd\ufffd" in shown
