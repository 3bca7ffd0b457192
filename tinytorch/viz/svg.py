"""Tiny SVG helpers shared by every view: escaping, readable token labels, colour maps,
palette PNGs for heatmap cells, number formatting and axis ticks.

Why PNG inside SVG: a 4 x 4 grid of 64 x 64 attention maps is 65,536 cells; one `<rect>`
each would be ~3 MB of markup. One small palette PNG per map (a `data:` URI, nothing
fetched) keeps a whole grid around 100 KB while labels, titles and legends stay vector text.
"""

from __future__ import annotations

import base64
import html
import itertools
import re
import struct
import zlib

import numpy as np

FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
MASKED_RGB = (232, 232, 232)  # cells a causal mask hides (the future): light grey

# Colour maps as (position, r, g, b) anchors, linearly interpolated.
VIRIDIS = np.array(
    [
        (0.0, 68, 1, 84),
        (0.1, 72, 36, 117),
        (0.2, 65, 68, 135),
        (0.3, 53, 95, 141),
        (0.4, 42, 120, 142),
        (0.5, 33, 145, 140),
        (0.6, 34, 168, 132),
        (0.7, 68, 191, 112),
        (0.8, 122, 209, 81),
        (0.9, 189, 223, 38),
        (1.0, 253, 231, 37),
    ],
    dtype=np.float64,
)
# Blue (negative) - white (zero) - red (positive), for signed values like sin/cos encodings.
DIVERGING = np.array(
    [
        (0.0, 5, 48, 97),
        (0.1, 33, 102, 172),
        (0.2, 67, 147, 195),
        (0.3, 146, 197, 222),
        (0.4, 209, 229, 240),
        (0.5, 247, 247, 247),
        (0.6, 253, 219, 199),
        (0.7, 244, 165, 130),
        (0.8, 214, 96, 77),
        (0.9, 178, 24, 43),
        (1.0, 103, 0, 31),
    ],
    dtype=np.float64,
)
COLORMAPS = {"viridis": VIRIDIS, "diverging": DIVERGING}

# Distinct colours for lines/series (Tableau 10): heads in the head view, curves.
SERIES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

_VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d", "\x7f": "\u2421"}
_ids = itertools.count(1)


# Characters XML 1.0 forbids even as references (C0 controls but tab and line breaks; lone
# surrogates, which UTF-8 cannot encode either; U+FFFE and U+FFFF), and what they become.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(match: re.Match) -> str:
    code = ord(match.group(0))
    return chr(0x2400 + code) if code < 0x20 else "\ufffd"  # a control picture, else the replacement mark


def esc(text) -> str:
    """Escape any text for HTML/SVG content and attribute values: the one escaping home of the views.

    & < > " ' become references; tabs and line breaks become character references so every view's markup
    stays on one line (see view.boot_script); characters XML cannot hold (control characters,
    lone surrogates, U+FFFE/U+FFFF) become their control picture or U+FFFD, so the output is
    well-formed XML and encodes as UTF-8 whatever the input."""
    text = _NOT_XML.sub(_xml_safe, str(text))
    # Tab and line breaks as references too: in an attribute, XML would read them as spaces.
    return html.escape(text, quote=True).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def visible_token(token: str) -> str:
    """A token as readable characters: space -> '␣', newline -> '↵', tab -> '⇥', other
    control characters -> their Unicode control picture (they are not even legal in XML)."""
    out = []
    for ch in str(token):
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif ord(ch) < 0x20:
            out.append(chr(0x2400 + ord(ch)))
        elif 0xD800 <= ord(ch) <= 0xDFFF or ch in "\ufffe\uffff":  # cannot be encoded / not XML
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out) if out else "\u2205"  # an empty token shows as '∅'


def token_labels(tokens) -> list[str]:
    """Readable, *unescaped* labels for a sequence of tokens (escape at the point of use)."""
    return [visible_token(t) for t in tokens]


def new_id(prefix: str = "tt") -> str:
    """A DOM id unique within this Python process (several views share one notebook page)."""
    return f"{prefix}{next(_ids)}-{np.random.default_rng().integers(1 << 30):x}"


def fmt(x: float, digits: int = 3) -> str:
    """A short number: 3 significant digits, no trailing zeros, no '-0'."""
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{float(x):.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return "0" if s in ("-0", "0.0") else s


def coord(x: float) -> str:
    """A coordinate with at most 1 decimal: enough for screen pixels, keeps markup small."""
    r = round(float(x), 1)
    return str(int(r)) if r == int(r) else str(r)


def colormap_table(name: str = "viridis", levels: int = 256) -> np.ndarray:
    """(levels, 3) uint8 RGB table sampled evenly from a named colour map."""
    try:
        anchors = COLORMAPS[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}: choose one of {sorted(COLORMAPS)}") from None
    t = np.linspace(0.0, 1.0, levels)
    rgb = [np.interp(t, anchors[:, 0], anchors[:, k]) for k in (1, 2, 3)]
    return np.clip(np.round(np.stack(rgb, axis=1)), 0, 255).astype(np.uint8)


def hex_color(rgb) -> str:
    """'#rrggbb' for an (r, g, b) triple of 0-255 ints."""
    r, g, b = (int(c) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def color_at(value: float, vmin: float, vmax: float, cmap: str = "viridis") -> str:
    """'#rrggbb' of one value on a colour map."""
    table = colormap_table(cmap, 256)
    t = 0.0 if vmax <= vmin else (float(value) - vmin) / (vmax - vmin)
    return hex_color(table[int(np.clip(round(t * 255), 0, 255))])


def quantize(values: np.ndarray, vmin: float, vmax: float, levels: int) -> np.ndarray:
    """Map values onto integer levels 0..levels-1 (uint8), clipping outside [vmin, vmax]."""
    span = (vmax - vmin) or 1.0
    q = np.round((np.asarray(values, dtype=np.float64) - vmin) / span * (levels - 1))
    return np.clip(np.nan_to_num(q, nan=0.0), 0, levels - 1).astype(np.uint8)


def palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """Encode an (h, w) uint8 index image with an (n <= 256, 3) RGB palette as PNG bytes.

    Written by hand (zlib + struct are in every Python, Pyodide included) so no imaging
    library is needed.
    """
    indices = np.ascontiguousarray(indices, dtype=np.uint8)
    h, w = indices.shape
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    # Each scanline starts with filter byte 0 ("none"); deflate finds the repeats itself.
    raw = np.hstack([np.zeros((h, 1), dtype=np.uint8), indices]).tobytes()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", palette.tobytes())
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def heatmap_data_uri(
    values: np.ndarray,
    vmin: float,
    vmax: float,
    cmap: str = "viridis",
    mask: np.ndarray | None = None,
    levels: int = 255,
    scale: int = 1,
) -> str:
    """A `data:image/png;base64,...` URI for an (h, w) array; `mask` cells (True) are grey.

    `scale` repeats every cell scale x scale pixels so browsers that smooth upscaled
    images still show crisp cell edges (deflate squeezes the repeats away).
    """
    levels = int(min(max(levels, 2), 255))
    idx = quantize(values, vmin, vmax, levels)
    palette = np.vstack([colormap_table(cmap, levels), np.array([MASKED_RGB], dtype=np.uint8)])
    if mask is not None:
        idx = np.where(mask, np.uint8(levels), idx)  # the extra palette entry
    if scale > 1:
        idx = np.repeat(np.repeat(idx, scale, axis=0), scale, axis=1)
    return "data:image/png;base64," + base64.b64encode(palette_png(idx, palette)).decode("ascii")


def attributes(attrs: dict) -> str:
    """Keyword arguments as SVG attributes: class_="a" -> class="a", data_head=2 -> data-head="2"."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())


def image(x, y, width, height, uri: str, **attrs) -> str:
    """An SVG <image> that draws cells as sharp squares."""
    extra = attributes(attrs)
    return (
        f'<image x="{coord(x)}" y="{coord(y)}" width="{coord(width)}" height="{coord(height)}" '
        f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{uri}"{extra}/>'
    )


def text(
    x,
    y,
    content: str,
    size: float = 11,
    anchor: str = "start",
    family: str = SANS,
    fill: str = "#222",
    baseline: str | None = None,
    transform: str | None = None,
    **attrs,
) -> str:
    """An SVG <text>; `content` is escaped here."""
    extra = f' dominant-baseline="{baseline}"' if baseline else ""
    extra += f' transform="{transform}"' if transform else ""
    extra += attributes(attrs)
    return (
        f'<text x="{coord(x)}" y="{coord(y)}" font-size="{coord(size)}" text-anchor="{anchor}" '
        f'font-family="{esc(family)}" fill="{fill}"{extra}>{esc(content)}</text>'
    )


def svg_open(width: float, height: float, label: str, role: str = "img", **attrs) -> str:
    """The opening <svg> tag and its <title>; it scales down to fit narrow notebook outputs.

    `label` is the figure's text alternative (screen readers say it; browsers show it as a
    tooltip): what the figure shows, in a sentence. role="img" makes the figure one image;
    role="group" keeps interactive parts inside reachable (the head view).
    No xmlns here: inline SVG in HTML does not need one (View.save adds it for .svg files).
    """
    extra = attributes(attrs)
    return (
        f'<svg width="{coord(width)}" height="{coord(height)}" viewBox="0 0 {coord(width)} {coord(height)}" '
        f'style="max-width:100%;height:auto;background:#fff" role="{role}" aria-label="{esc(label)}"{extra}>'
        f"<title>{esc(label)}</title>"
    )


def text_width(content: str, size: float) -> float:
    """A generous estimate of a sans-serif text's width in pixels (no font metrics here)."""
    return len(str(content)) * size * 0.62


def colorbar(
    x,
    y,
    height,
    vmin: float,
    vmax: float,
    cmap: str = "viridis",
    label: str = "",
    width: float = 10,
    masked_note: bool = False,
) -> str:
    """A vertical colour scale with min/mid/max ticks, and optionally a 'masked' swatch."""
    strip = colormap_table(cmap, 128)[::-1][:, None, :]  # top = vmax
    idx = np.arange(128, dtype=np.uint8)[:, None]
    uri = "data:image/png;base64," + base64.b64encode(palette_png(idx, strip[:, 0, :])).decode("ascii")
    parts = [
        '<g class="tt-colorbar">',
        image(x, y, width, height, uri),
        f'<rect x="{coord(x)}" y="{coord(y)}" width="{coord(width)}" height="{coord(height)}" '
        'fill="none" stroke="#888" stroke-width="0.5"/>',
    ]
    for frac, value in ((0.0, vmax), (0.5, (vmin + vmax) / 2), (1.0, vmin)):
        ty = y + frac * height
        parts.append(
            f'<line x1="{coord(x + width)}" x2="{coord(x + width + 3)}" y1="{coord(ty)}" y2="{coord(ty)}" '
            'stroke="#666"/>'
        )
        parts.append(text(x + width + 5, ty, fmt(value), size=10, baseline="middle"))
    if label:
        parts.append(text(x, y - 12, label, size=10))
    if masked_note:
        my = y + height + 10
        parts.append(
            f'<rect x="{coord(x)}" y="{coord(my)}" width="{coord(width)}" height="{coord(width)}" '
            f'fill="{hex_color(MASKED_RGB)}" stroke="#888" stroke-width="0.5"/>'
        )
        parts.append(text(x + width + 5, my + width / 2, "masked", size=10, baseline="middle"))
        parts.append(text(x + width + 5, my + width / 2 + 12, "(future)", size=10, baseline="middle"))
    parts.append("</g>")
    return "".join(parts)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = np.ceil(lo / step - 1e-9) * step
    ticks = np.arange(start, hi + step * 1e-6, step)
    return [float(round(t, 10)) for t in ticks]


def json_payload(data) -> str:
    """JSON safe to inline in a <script> element: ASCII only and no '<' (so no '</script>')."""
    import json

    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
