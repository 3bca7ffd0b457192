"""Attention time-lapse: how a fixed probe sentence's attention changes as the model learns.

The trainer records `attention_snapshots`, a list of (step, (L, H, T, T)) arrays. The HTML
view has a slider (and a play button) that steps through them; `timelapse_small_multiples`
draws the same story as one static grid (rows = steps, columns = heads) for places where
JavaScript does not run (an untrusted notebook, a PDF export).
"""

from __future__ import annotations

import numpy as np

from . import svg as S
from ._inputs import attention_source, is_causal, pick, to_numpy
from .attention import GridLayout, colour_scale, panel_image
from .svg import json_payload
from .view import View, boot_script

LEVELS = 64  # colour levels per frame: plenty for the eye, and frames compress 2-3x better


def _snapshots(source, tokens, tokenizer, max_frames):
    """(steps, weights (S, L, H, T, T), labels, from_positions) from a trainer or a list."""
    snaps = getattr(source, "attention_snapshots", source)
    if tokens is None:  # a trainer knows its probe: as text, or as ids (decoded with tokenizer)
        tokens = getattr(source, "probe_text", None)
        if tokens is None and getattr(source, "probe_ids", None) is not None:
            tokens = [int(i) for i in np.asarray(source.probe_ids).reshape(-1)]
    snaps = list(snaps or [])
    if not snaps:
        raise ValueError(
            "no attention snapshots: give the trainer a probe text so it records them "
            "(see LanguageModelTrainer), train for a while, then pass trainer.attention_snapshots"
        )
    steps, arrays = [], []
    for k, item in enumerate(snaps):
        try:
            step, w = item
        except (TypeError, ValueError):
            raise TypeError(
                f"snapshot {k} must be a (step, weights (L, H, T, T)) pair, got {type(item).__name__}"
            ) from None
        steps.append(int(step))
        arrays.append(to_numpy(w, f"snapshot {k} weights"))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all snapshots must have the same shape (L, H, T, T); got {sorted(shapes)}")
    if len(steps) > max_frames:  # evenly spaced, always keeping the first and the last
        keep = np.unique(np.linspace(0, len(steps) - 1, max_frames).round().astype(np.int64))
        steps, arrays = [steps[i] for i in keep], [arrays[i] for i in keep]
    checked = [attention_source(a, tokens, tokenizer=tokenizer) for a in arrays]
    weights = np.stack([c[0] for c in checked])
    return steps, weights, checked[0][1], checked[0][2]


_JS = r"""
var d=JSON.parse(root.querySelector('script[type="application/json"]').textContent);
var s=root.querySelector('input.tt-step'),lab=root.querySelector('.tt-step-label'),
btn=root.querySelector('button.tt-play');
var frames=root.querySelectorAll('g.tt-frame'),timer=null;
function show(k){for(var n=0;n<frames.length;n++)frames[n].style.display=(n===k)?'':'none';
 s.value=k;lab.textContent='step '+d.steps[k]+'  ('+(k+1)+'/'+d.steps.length+')';
s.setAttribute('aria-valuetext','step '+d.steps[k]);root.dataset.frame=k;}
s.addEventListener('input',function(){show(+s.value);});
btn.addEventListener('click',function(){
if(timer){clearInterval(timer);timer=null;btn.textContent='\u25b6 play';return;}
 btn.textContent='\u275a\u275a pause';var k=(+s.value+1)%frames.length;show(k);
 timer=setInterval(function(){k=+s.value+1;
if(k>=frames.length){clearInterval(timer);timer=null;btn.textContent='\u25b6 play';return;}show(k);},d.ms);});
show(frames.length-1);"""


class TimelapseView(View):
    """Slider view over attention snapshots. Attributes: `steps`, `weights` (S, l, h, T, T)
    as drawn, `layers`, `heads`, `tokens`; `static()` gives the small-multiples fallback."""

    def static(self, **kwargs) -> View:
        """The static small-multiples version of the same snapshots."""
        return timelapse_small_multiples(list(zip(self.steps, self._all)), self.tokens, **kwargs)


def attention_timelapse(
    snapshots,
    tokens=None,
    *,
    tokenizer=None,
    layer=None,
    head=None,
    max_frames: int = 8,
    vmax: float | None = None,
    cell: int | None = None,
    ms_per_frame: int = 700,
    title: str | None = None,
) -> TimelapseView:
    """Step through attention snapshots with a slider (HTML + inline JS).

    Args:
        snapshots: `trainer.attention_snapshots` ([(step, (L, H, T, T)), ...]) or the trainer
            (then its `probe_ids` label the positions, decoded with `tokenizer` if given).
        tokens: the probe text (one label per position) or its ids (with `tokenizer`).
        layer, head: which maps to show (index, list or None for all).
        max_frames: at most this many snapshots, evenly spaced (first and last kept), so the
            output stays small (4 layers x 4 heads x 64 tokens x 8 frames is ~250 KB).

    The last snapshot is visible even where JavaScript does not run.
    """
    steps, weights, labels, _ = _snapshots(snapshots, tokens, tokenizer, max(1, int(max_frames)))
    nS, L, H, T, _ = weights.shape
    layers, heads = pick(L, layer, "layer"), pick(H, head, "head")
    W = weights[:, layers][:, :, heads]  # (S, l, h, T, T)
    causal = is_causal(W)
    top, mask = colour_scale(W, vmax, causal)
    lay = GridLayout(T, len(layers), len(heads), labels, cell=cell)
    names = {(r, c): f"layer {l} \u00b7 head {h}" for r, l in enumerate(layers) for c, h in enumerate(heads)}
    if title is None:
        title = f"Attention during training ({nS} snapshots, steps {steps[0]}\u2013{steps[-1]})"

    about = (
        f"{title}. Attention heatmaps per layer and head at the chosen training step (the slider above "
        f"picks the step); rows are query tokens, columns key tokens. Tokens: {' '.join(lay.labels)}"
    )
    parts = [
        S.svg_open(
            lay.width,
            lay.height,
            about,
            class_="tt-timelapse",
            data_frames=nS,
            data_layers=len(layers),
            data_heads=len(heads),
        ),
        lay.title(title),
    ]
    for f in range(nS):
        hidden = "" if f == nS - 1 else ' style="display:none"'
        parts.append(f'<g class="tt-frame" data-step="{steps[f]}"{hidden}>')
        parts.append(S.text(lay.left, 35, f"step {steps[f]}", size=12, fill="#333"))
        for r in range(len(layers)):
            for c in range(len(heads)):
                parts.append(panel_image(lay, r, c, W[f, r, c], top, mask, levels=LEVELS))
        parts.append("</g>")
    parts.append(lay.axes(names))
    parts.append(lay.colorbar(top, causal))
    parts.append("</svg>")
    svg = "".join(parts)
    rid = S.new_id("tt-lapse")
    controls = (
        f'<div class="tt-controls" style="font-size:13px;margin:4px 0">'
        f'<button class="tt-play" type="button">\u25b6 play</button> '
        f'<label>Training step <input class="tt-step" type="range" min="0" max="{nS - 1}" value="{nS - 1}" '
        f'step="1" aria-valuetext="step {steps[-1]}" style="width:320px;vertical-align:middle"></label> '
        f'<span class="tt-step-label" aria-hidden="true">step {steps[-1]}</span></div>'
    )
    data = {"steps": steps, "ms": int(ms_per_frame)}
    html = (
        f'<div id="{rid}" data-tt-root class="tt-viz tt-timelapse-view" style="font-family:{S.esc(S.SANS)}">'
        f"{controls}{svg}"
        f'<script type="application/json">{json_payload(data)}</script>{boot_script(rid, _JS)}</div>'
    )
    view = TimelapseView(html, svg, title)
    view.steps, view.weights, view.layers, view.heads, view.tokens = steps, W, layers, heads, labels
    view._all = weights
    return view


def timelapse_small_multiples(
    snapshots,
    tokens=None,
    *,
    tokenizer=None,
    layer=-1,
    head=None,
    max_frames: int = 6,
    vmax: float | None = None,
    cell: int | None = None,
    title: str | None = None,
) -> View:
    """Static fallback: one row per snapshot (step), one column per head of one layer
    (default: the last layer). Plain SVG, no JavaScript."""
    steps, weights, labels, _ = _snapshots(snapshots, tokens, tokenizer, max(1, int(max_frames)))
    nS, L, H, T, _ = weights.shape
    lay_idx = pick(L, layer, "layer")[0]
    heads = pick(H, head, "head")
    W = weights[:, lay_idx][:, heads]  # (S, h, T, T)
    causal = is_causal(W)
    top, mask = colour_scale(W, vmax, causal)
    lay = GridLayout(T, nS, len(heads), labels, cell=cell)
    names = {(r, c): f"step {steps[r]} \u00b7 head {h}" for r in range(nS) for c, h in enumerate(heads)}
    if title is None:
        title = f"Layer {lay_idx} attention during training (steps {steps[0]}\u2013{steps[-1]})"
    about = (
        f"{title}. One attention heatmap per training step (rows, steps {', '.join(map(str, steps))}) and head "
        f"(columns); rows of a map are query tokens, columns key tokens. Tokens: {' '.join(lay.labels)}"
    )
    parts = [
        S.svg_open(lay.width, lay.height, about, class_="tt-timelapse-static", data_frames=nS, data_heads=len(heads)),
        lay.title(title),
        S.text(lay.left, 35, "rows: training steps, top to bottom; columns: heads", size=11, fill="#555"),
    ]
    for r in range(nS):
        for c in range(len(heads)):
            parts.append(
                panel_image(lay, r, c, W[r, c], top, mask, levels=LEVELS, data_step=steps[r], data_head=heads[c])
            )
    parts.append(lay.axes(names))
    parts.append(lay.colorbar(top, causal, height=140))
    parts.append("</svg>")
    svg = "".join(parts)
    view = View(f'<div class="tt-viz tt-timelapse-static-view">{svg}</div>', svg, title)
    view.steps, view.weights, view.heads, view.layer = steps, W, heads, lay_idx
    return view
