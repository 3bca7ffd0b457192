"""Attention heatmaps: one head, or a grid of layers x heads.

Rows are queries (the token doing the looking), columns are keys (the token looked at),
so row i shows where position i's attention went; each row sums to 1. Under a causal
mask the upper triangle (the future) is drawn grey. Hover a cell for its exact weight.
"""

from __future__ import annotations

import base64

import numpy as np

from . import svg as S
from ._inputs import attention_source, is_causal, pick
from .svg import json_payload
from .view import View, boot_script

TITLE_H = 44  # title line + hover read-out line
MIN_FONT = 9  # smallest token label, in pixels


class GridLayout:
    """Where every panel, label and the colour bar go for an (nrows x ncols) grid of
    (T x T) maps with `cell`-pixel cells. Shared by the heatmap and the time-lapse."""

    def __init__(
        self, T: int, nrows: int, ncols: int, labels: list[str], cell: int | None = None, panel_titles: bool = True
    ):
        self.T, self.nrows, self.ncols = T, nrows, ncols
        single = nrows * ncols == 1
        if cell is None:
            # Fit about 900 px of notebook width, and don't let many rows grow taller than ~1200 px.
            cell = 600 // T if single else min(810 // ncols, max(200, 1200 // nrows)) // T
            cell = int(np.clip(cell, 6 if single else 3, 28 if single else 16))
        self.cell = int(cell)
        self.panel = self.T * self.cell
        # Labels stay readable (>= MIN_FONT px, they were ~5 px in a time-lapse grid); when
        # cells are smaller than that, every `label_every`-th token is labelled.
        self.font = float(np.clip(self.cell * 0.85, MIN_FONT, 12))
        self.label_every = int(np.ceil(self.font * 1.05 / self.cell))
        self.labels = [_shorten(s) for s in S.token_labels(labels)]
        longest = max((len(s) for s in self.labels), default=1)
        self.rotate_keys = longest > 1  # multi-character labels go vertical under the columns
        self.label_w = longest * self.font * 0.65 + 4
        self.gap = max(10, self.cell)
        self.panel_title_h = 14 if panel_titles and not single else 0
        self.left = 18 + self.label_w
        self.top = TITLE_H
        key_h = (self.label_w if self.rotate_keys else self.font + 4) + 18
        self.grid_w = ncols * self.panel + (ncols - 1) * self.gap
        self.grid_h = nrows * (self.panel + self.panel_title_h) + (nrows - 1) * self.gap
        self.colorbar_x = self.left + self.grid_w + 16
        self.width = self.colorbar_x + 62
        self.height = self.top + self.grid_h + key_h + 4

    def title(self, text: str) -> str:
        """The view's title line, above the grid."""
        return S.text(self.left, 18, text, size=14, fill="#111", font_weight="600", class_="tt-title")

    def colorbar(self, top: float, causal: bool, height: float | None = None) -> str:
        """The weight colour bar right of the grid, 0 to `top` (with the masked-future swatch when causal)."""
        if height is None:
            height = min(160.0, max(60.0, self.grid_h - 40))
        return S.colorbar(self.colorbar_x, self.top + 10, height, 0.0, top, label="weight", masked_note=causal)

    def origin(self, r: int, c: int) -> tuple[float, float]:
        """Top-left corner of panel (r, c)."""
        x = self.left + c * (self.panel + self.gap)
        y = self.top + r * (self.panel + self.panel_title_h + self.gap) + self.panel_title_h
        return x, y

    def axes(self, panel_titles: dict[tuple[int, int], str]) -> str:
        """Panel titles, frames, token labels (queries left of the first column, keys under
        the last row) and axis names."""
        out, c, fs = [], self.cell, self.font
        for (r, col), name in panel_titles.items():
            x, y = self.origin(r, col)
            out.append(
                f'<rect x="{S.coord(x - 0.5)}" y="{S.coord(y - 0.5)}" width="{S.coord(self.panel + 1)}" '
                f'height="{S.coord(self.panel + 1)}" fill="none" stroke="#999" stroke-width="0.5"/>'
            )
            if self.panel_title_h:
                out.append(S.text(x, y - 4, name, size=11, fill="#333", class_="tt-panel-title"))
        for r in range(self.nrows):
            x, y = self.origin(r, 0)
            out.append(
                f'<g class="tt-query-labels" font-family="{S.esc(S.FONT)}" font-size="{S.coord(fs)}" '
                f'text-anchor="end" fill="#222">'
            )
            out.extend(
                f'<text x="{S.coord(x - 3)}" y="{S.coord(y + (i + 0.5) * c + fs * 0.35)}">{S.esc(lab)}</text>'
                for i, lab in enumerate(self.labels)
                if i % self.label_every == 0
            )
            out.append("</g>")
        for col in range(self.ncols):
            x, y = self.origin(self.nrows - 1, col)
            y0 = y + self.panel + 3
            out.append(
                f'<g class="tt-key-labels" font-family="{S.esc(S.FONT)}" font-size="{S.coord(fs)}" fill="#222" '
                f'text-anchor="{"end" if self.rotate_keys else "middle"}">'
            )
            for j, lab in enumerate(self.labels):
                if j % self.label_every:
                    continue
                kx = x + (j + 0.5) * c
                if self.rotate_keys:
                    out.append(
                        f'<text x="{S.coord(kx + fs * 0.35)}" y="{S.coord(y0)}" '
                        f'transform="rotate(-90 {S.coord(kx + fs * 0.35)} {S.coord(y0)})">{S.esc(lab)}</text>'
                    )
                else:
                    out.append(f'<text x="{S.coord(kx)}" y="{S.coord(y0 + fs)}">{S.esc(lab)}</text>')
            out.append("</g>")
        # Axis names.
        mid_y = self.top + self.grid_h / 2
        out.append(
            S.text(
                10,
                mid_y,
                "query (looking) \u2192",
                size=11,
                anchor="middle",
                fill="#555",
                transform=f"rotate(-90 10 {S.coord(mid_y)})",
            )
        )
        out.append(
            S.text(
                self.left + self.grid_w / 2,
                self.height - 6,
                "key (looked at) \u2192",
                size=11,
                anchor="middle",
                fill="#555",
            )
        )
        return "".join(out)


def _shorten(label: str, limit: int = 8) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def causal_mask_upper(T: int) -> np.ndarray:
    """(T, T) bool, True above the diagonal: the keys a causal query may not see."""
    return np.triu(np.ones((T, T), dtype=bool), k=1)


def colour_scale(weights: np.ndarray, vmax: float | None, causal: bool):
    """(top, mask) for maps (..., T, T): the top of the colour scale (`vmax`, else the largest
    weight; never 0), shared by every panel so they compare, and the future to grey out (None
    unless causal)."""
    top = float(weights.max()) if vmax is None else float(vmax)
    top = top if top > 0 else 1.0
    return top, (causal_mask_upper(weights.shape[-1]) if causal else None)


def panel_image(
    layout: GridLayout, r: int, c: int, weights: np.ndarray, vmax: float, mask, levels: int = 255, **attrs
) -> str:
    """One (T, T) map as a crisp palette-PNG <image> at panel (r, c)."""
    x, y = layout.origin(r, c)
    scale = 2 if layout.cell >= 4 else 1  # integer upscaling keeps edges sharp even without CSS support
    uri = S.heatmap_data_uri(weights, 0.0, vmax, "viridis", mask=mask, levels=levels, scale=scale)
    return S.image(x, y, layout.panel, layout.panel, uri, **attrs)


def encode_weights(weights: np.ndarray, causal: bool) -> str:
    """Weights (N, T, T) in [0, 1] as base64 bytes for the hover read-out in JS.

    Stored as round(sqrt(w) * 255): square-root spacing keeps small weights (where most of
    attention lives) accurate to ~0.001 in one byte; only the lower triangle when causal.
    """
    q = np.round(np.sqrt(np.clip(weights, 0.0, 1.0)) * 255).astype(np.uint8)
    if causal:
        rows, cols = np.tril_indices(weights.shape[-1])
        q = q[:, rows, cols]
    return base64.b64encode(np.ascontiguousarray(q).tobytes()).decode("ascii")


_HOVER_JS = """
var d=JSON.parse(root.querySelector('script[type="application/json"]').textContent);
var raw=atob(d.w),w=new Uint8Array(raw.length);for(var i=0;i<raw.length;i++)w[i]=raw.charCodeAt(i);
var T=d.T,out=root.querySelector('.tt-readout'),box=root.querySelector('.tt-cursor');
function val(p,i,j){if(d.causal){if(j>i)return null;var q=w[p*T*(T+1)/2+i*(i+1)/2+j];}else{var q=w[(p*T+i)*T+j];}
return (q/255)*(q/255);}
out.textContent=d.hint;
root.querySelectorAll('image[data-panel]').forEach(function(im){
 im.addEventListener('mousemove',function(e){var b=im.getBoundingClientRect();
  var j=Math.min(T-1,Math.max(0,Math.floor((e.clientX-b.left)/b.width*T))),
i=Math.min(T-1,Math.max(0,Math.floor((e.clientY-b.top)/b.height*T)));
  var p=+im.dataset.panel,v=val(p,i,j);
  out.textContent=d.names[p]+'  query '+i+' '+d.tok[i]+'  \\u2192  key '+j+' '+d.tok[j]+' :  '+
(v===null?'masked (future)':v.toFixed(3));
  var x=+im.getAttribute('x'),y=+im.getAttribute('y'),c=+im.getAttribute('width')/T;
  box.setAttribute('x',x+j*c);box.setAttribute('y',y+i*c);box.setAttribute('width',c);box.setAttribute('height',c);
box.style.display='';});
 im.addEventListener('mouseleave',function(){box.style.display='none';out.textContent=d.hint;});
});"""


class AttentionHeatmap(View):
    """An attention heatmap (one head) or a grid (layers x heads).

    Attributes: `weights` (L, H, T, T) as drawn, `layers` and `heads` (original indices),
    `tokens` (the labels, unescaped), `causal`, `vmax`, plus View's `html`, `svg`, `save`.
    """


def attention_heatmap(
    source,
    tokens=None,
    *,
    text: str | None = None,
    tokenizer=None,
    layer=None,
    head=None,
    batch: int = 0,
    vmax: float | None = None,
    causal: bool | None = None,
    title: str | None = None,
    cell: int | None = None,
) -> AttentionHeatmap:
    """Draw attention weights as heatmaps: rows = queries, columns = keys.

    Args:
        source: a (T, T), (H, T, T) or (L, H, T, T) array/Tensor of weights; a
            MultiHeadAttention after a forward pass (uses `attention_weights[batch]`); or a
            TinyGPT (runs `model.attention_maps(ids)` on `text`/`tokens`).
        tokens: one label per position (a str of T characters or a list), or token ids
            (decoded with `tokenizer`). Spaces show as '␣', newlines as '↵'.
        text, tokenizer: the text to run a model on (and the tokenizer that encodes it).
        layer, head: an index, a list of indices, or None for all.
        vmax: the top of the colour scale (default: the largest weight drawn, shared by all
            panels so they compare). causal: grey out the future (default: detect it).
        cell: pixels per cell (default: fits a notebook's width).

    Returns an AttentionHeatmap; in Jupyter it displays itself. Hover a cell for its weight.
    """
    weights, labels, from_positions = attention_source(source, tokens, text=text, tokenizer=tokenizer, batch=batch)
    L, H, T, _ = weights.shape
    layers, heads = pick(L, layer, "layer"), pick(H, head, "head")
    W = weights[np.ix_(layers, heads)]  # (l, h, T, T)
    causal = is_causal(W) if causal is None else bool(causal)
    top, mask = colour_scale(W, vmax, causal)
    single = len(layers) * len(heads) == 1
    lay = GridLayout(T, len(layers), len(heads), labels, cell=cell)

    names = {}
    for r, l in enumerate(layers):
        for c, h in enumerate(heads):
            names[(r, c)] = f"layer {l} \u00b7 head {h}"
    if title is None:
        title = (
            f"Attention, {names[(0, 0)]}"
            if single
            else f"Attention, layers {_span(layers)} \u00d7 heads {_span(heads)}"
        )
        title += f"  (T={T}{', causal' if causal else ''})"

    rid = S.new_id("tt-attn")
    masked = ", the grey upper triangle is the masked future" if causal else ""
    about = (
        f"{title}. Heatmap{'s' * (not single)} of attention weights: row i is query token i, column j is "
        f"key token j; brighter means more attention{masked}. "
        f"Tokens: {' '.join(lay.labels)}"
    )
    parts = [
        S.svg_open(lay.width, lay.height, about, class_="tt-attention", data_layers=len(layers), data_heads=len(heads)),
        lay.title(title),
        S.text(lay.left, 35, "", size=11, fill="#555", class_="tt-readout"),
    ]  # filled by JS
    panel_names = []
    for r, l in enumerate(layers):
        for c, h in enumerate(heads):
            parts.append(
                panel_image(
                    lay,
                    r,
                    c,
                    W[r, c],
                    top,
                    mask,
                    class_="tt-panel",
                    data_layer=l,
                    data_head=h,
                    data_panel=len(panel_names),
                )
            )
            panel_names.append(names[(r, c)])
    parts.append(lay.axes(names))
    parts.append(
        '<rect class="tt-cursor" x="0" y="0" width="0" height="0" fill="none" stroke="#ff2d55" '
        'stroke-width="1.5" style="display:none;pointer-events:none"/>'
    )
    parts.append(lay.colorbar(top, causal))
    parts.append("</svg>")
    svg = "".join(parts)

    data = {
        "T": T,
        "causal": causal,
        "names": panel_names,
        "hint": "hover a cell to read its weight",
        "tok": ["#" + lab if from_positions else "'" + S.visible_token(lab) + "'" for lab in labels],
        "w": encode_weights(W.reshape(-1, T, T), causal),
    }
    payload = json_payload(data)
    html = (
        f'<div id="{rid}" data-tt-root class="tt-viz tt-attention-view">{svg}'
        f'<script type="application/json">{payload}</script>{boot_script(rid, _HOVER_JS)}</div>'
    )
    view = AttentionHeatmap(html, svg, title)
    view.weights, view.layers, view.heads, view.tokens = W, layers, heads, labels
    view.causal, view.vmax = causal, top
    return view


def _span(idx: list[int]) -> str:
    if len(idx) == 1:
        return str(idx[0])
    if idx == list(range(idx[0], idx[-1] + 1)):
        return f"{idx[0]}\u2013{idx[-1]}"
    return ",".join(map(str, idx))
