"""Helpers for the view tests (imported by name: tests/ folders are not packages): realistic
attention weights, a text with every awkward character, and checks that markup is well formed
and self-contained."""

from __future__ import annotations

import base64
import html.parser
import re
import xml.etree.ElementTree as ET

import numpy as np

# Space, newline, tab and the characters HTML/XML must escape, all in a 16-character probe.
AWKWARD = "a <b> & \"c\"\n'd'\t"
assert len(AWKWARD) == 16


def causal_attention(L: int, H: int, T: int, seed: int = 0, sharpness: float = 2.0) -> np.ndarray:
    """Softmax attention (L, H, T, T) with a causal mask: rows sum to 1, future = 0."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(L, H, T, T)) * sharpness
    scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Balance(html.parser.HTMLParser):
    """Checks that every HTML element is closed, in order (void elements excepted)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <image .../>, <rect .../>: self-closed SVG elements

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_valid_html(markup: str):
    """Balanced tags, and every inline <svg> is well-formed XML."""
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, f"unclosed elements: {parser.stack}"
    for svg in re.findall(r"<svg\b.*?</svg>", markup, flags=re.S):
        ET.fromstring(svg)


def assert_self_contained(markup: str):
    """Nothing the browser would fetch: no http(s) URLs, no src= attributes, no
    stylesheets or fonts from elsewhere; images only as data: URIs."""
    # Base64 payloads are data, not references (and may contain "http" by chance): drop them.
    low = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", markup)
    low = re.sub(r'"w":"[A-Za-z0-9+/=]*"', '"w":""', low).lower()
    assert "http" not in low, "found an http reference"
    assert "src=" not in low, "found a src= attribute (external script or image)"
    assert "<link" not in low and "@import" not in low and "@font-face" not in low
    assert "url(" not in low
    for href in re.findall(r'href="([^"]*)"', markup):
        assert href.startswith("data:image/png;base64,"), href[:40]


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def json_payload(markup: str) -> dict:
    import json

    m = re.search(r'<script type="application/json">(.*?)</script>', markup, flags=re.S)
    assert m, "no JSON payload"
    return json.loads(m.group(1))


def decode_weights(payload: dict, n_maps: int) -> np.ndarray:
    """Undo encode_weights: (n_maps, T, T) from the base64 sqrt-quantised bytes."""
    T = payload["T"]
    q = np.frombuffer(base64.b64decode(payload["w"]), dtype=np.uint8).astype(np.float64)
    w = (q / 255.0) ** 2
    if payload["causal"]:
        out = np.zeros((n_maps, T, T))
        rows, cols = np.tril_indices(T)
        out[:, rows, cols] = w.reshape(n_maps, -1)
        return out
    return w.reshape(n_maps, T, T)
