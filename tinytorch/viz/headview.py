"""Interactive head view: the tokens twice, queries on the left and keys on the right, with
a line from query i to key j whose opacity is the attention weight. Pick the layer and the
head (or all heads, one colour each); hover a token to see only its lines, click to pin.

No widget server: one HTML fragment with inline SVG and inline JS. The weights travel once
as compact base64 (one byte each, lower triangle only under a causal mask) and the lines are
drawn by the browser, so the HTML for 4 layers x 4 heads x 64 tokens stays under ~100 KB.
"""

from __future__ import annotations

from . import svg as S
from ._inputs import attention_source, is_causal, pick
from .attention import encode_weights
from .svg import json_payload
from .view import View, boot_script

ROW_H = 14  # pixels per token row
GAP = 210  # horizontal space the lines span

_JS = r"""
var d=JSON.parse(root.querySelector('script[type="application/json"]').textContent);
var raw=atob(d.w),w=new Uint8Array(raw.length);for(var n=0;n<raw.length;n++)w[n]=raw.charCodeAt(n);
var T=d.T,H=d.H,tri=T*(T+1)/2;
var selL=root.querySelector('select.tt-layer'),selH=root.querySelector('select.tt-head');
var gl=root.querySelector('g.tt-lines'),info=root.querySelector('.tt-info');
var qbg=root.querySelectorAll('rect.tt-qbg'),kbg=root.querySelectorAll('rect.tt-kbg'),
kval=root.querySelectorAll('text.tt-kval'),qval=root.querySelectorAll('text.tt-qval');
var focus=null,pinned=false;
function val(l,h,i,j){var q;
if(d.causal){if(j>i)return 0;q=w[(l*H+h)*tri+i*(i+1)/2+j];}else{q=w[((l*H+h)*T+i)*T+j];}
return (q/255)*(q/255);}
function heads(){return selH.value==='all'?d.heads:[+selH.value];}
function draw(){
 var l=+selL.value,hs=heads(),all=hs.length>1,out=[],count=0;
 for(var a=0;a<hs.length;a++){var h=hs[a],col=d.colors[h%d.colors.length];
  for(var i=0;i<T;i++){for(var j=0;j<(d.causal?i+1:T);j++){var v=val(l,h,i,j);if(v<d.th)continue;count++;
var op=Math.min(1,all?v*0.8:v).toFixed(3);
   out.push('<line class="tt-line" data-h="'+h+'" data-i="'+i+'" data-j="'+j+'" data-v="'+v.toFixed(3)+
'" x1="'+d.x1+'" y1="'+(d.y0+i*d.rh)+'" x2="'+d.x2+'" y2="'+(d.y0+j*d.rh)+'" stroke="'+col+
'" stroke-width="'+(all?1.5:2)+'" data-o="'+op+'" stroke-opacity="'+op+'"/>');}}}
 gl.innerHTML=out.join('');root.dataset.layer=l;root.dataset.head=selH.value;root.dataset.lines=count;apply();}
function apply(){
 var ls=gl.childNodes,shown=0;
 for(var n=0;n<ls.length;n++){var e=ls[n],on=!focus||(+e.getAttribute(focus.side==='q'?'data-i':'data-j'))===focus.i;
  e.style.display=on?'':'none';e.setAttribute('class',on&&focus?'tt-line tt-hi':'tt-line');if(on)shown++;
  e.setAttribute('stroke-opacity',
on&&focus?Math.min(1,0.3+2*e.getAttribute('data-v')).toFixed(3):e.getAttribute('data-o'));}
 root.dataset.shown=focus?shown:'';
 var l=+selL.value,hs=heads();
 for(var t=0;t<T;t++){var kv=0,qv=0;
  if(focus){for(var a=0;a<hs.length;a++){
kv+=focus.side==='q'?val(l,hs[a],focus.i,t):0;qv+=focus.side==='k'?val(l,hs[a],t,focus.i):0;}
kv/=hs.length;qv/=hs.length;}
  kbg[t].setAttribute('fill-opacity',(0.6*kv).toFixed(3));qbg[t].setAttribute('fill-opacity',(0.6*qv).toFixed(3));
  kval[t].textContent=kv>=0.005?kv.toFixed(2):'';qval[t].textContent=qv>=0.005?qv.toFixed(2):'';}
 if(!focus){info.textContent=d.hint;return;}
 var who=focus.side==='q'?'query '+focus.i+' '+d.tok[focus.i]+' attends to the keys on the right':
'queries attending to key '+focus.i+' '+d.tok[focus.i];
 info.textContent=who+(hs.length>1?' (mean over heads)':'')+(pinned?'  [pinned: click again to release]':'');}
function hover(side,i){if(pinned)return;focus=(i===null)?null:{side:side,i:i};apply();}
root.querySelectorAll('[data-side]').forEach(function(el){
var side=el.getAttribute('data-side'),i=+el.getAttribute('data-i');
 el.addEventListener('mouseenter',function(){hover(side,i);});
 el.addEventListener('mouseleave',function(){hover(side,null);});
 el.addEventListener('click',function(){
if(pinned&&focus&&focus.side===side&&focus.i===i){pinned=false;focus=null;}else{pinned=true;focus={side:side,i:i};}
apply();});});
selL.addEventListener('change',draw);selH.addEventListener('change',draw);
root.querySelectorAll('button.tt-legend-head').forEach(function(b){
b.addEventListener('click',function(){selH.value=b.getAttribute('data-h');draw();});});
var svg=root.querySelector('svg.tt-headview-svg');
svg.addEventListener('keydown',function(e){var k=e.key,f=focus||{side:'q',i:-1};
 if(k==='ArrowDown'||k==='ArrowUp'){f={side:f.side,i:Math.max(0,Math.min(T-1,f.i+(k==='ArrowDown'?1:-1)))};}
 else if(k==='ArrowLeft'||k==='ArrowRight'){f={side:k==='ArrowLeft'?'q':'k',i:Math.max(f.i,0)};}
 else if(k==='Enter'||k===' '){if(!focus)return;pinned=!pinned;apply();e.preventDefault();return;}
 else if(k==='Escape'){pinned=false;focus=null;apply();return;}
 else return;
 e.preventDefault();pinned=false;focus=f;apply();});
draw();"""


class HeadView(View):
    """The interactive head view. Attributes: `weights` (L, H, T, T), `tokens`, `causal`,
    `threshold`, plus View's `html` and `save` (no static `svg`: JS draws the lines)."""


def head_view(
    source,
    tokens=None,
    *,
    text: str | None = None,
    tokenizer=None,
    layer: int = 0,
    head=0,
    batch: int = 0,
    threshold: float = 0.01,
    causal: bool | None = None,
    title: str | None = None,
) -> HeadView:
    """Interactive attention head view (self-contained HTML + SVG + inline JS).

    Args:
        source: attention weights (T, T), (H, T, T) or (L, H, T, T); a MultiHeadAttention
            after a forward pass; or a TinyGPT (with `text` and `tokenizer`, or token ids).
        tokens: one label per position (str or list) or ids decoded with `tokenizer`.
        layer, head: what is shown first (head may be "all": every head in its own colour).
        threshold: lines for weights below this are not drawn (keeps the picture readable).

    Hover a token to keep only its lines (left = what it attends to, right = who attends to
    it) and read the weights; click to pin. Returns a HeadView (displays in Jupyter).
    """
    weights, labels, from_positions = attention_source(source, tokens, text=text, tokenizer=tokenizer, batch=batch)
    L, H, T, _ = weights.shape
    layer = pick(L, layer, "layer")[0]
    if head != "all":
        head = pick(H, head, "head")[0]
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold={threshold} must be in [0, 1): weights below it get no line")
    causal = is_causal(weights) if causal is None else bool(causal)
    names = S.token_labels(labels)
    if title is None:
        title = f"Head view (T={T}, {L} layer{'s' * (L > 1)} \u00d7 {H} head{'s' * (H > 1)})"

    longest = max(len(s) for s in names)
    label_w = max(40.0, min(longest, 10) * 7.5 + 14)
    val_w = 34  # room for the weight read-out beside each token
    x_q = val_w + label_w  # right edge of query labels
    x_k = x_q + GAP  # left edge of key labels
    width = x_k + label_w + val_w + 10
    y0 = 34
    height = y0 + T * ROW_H + 8
    rid = S.new_id("tt-head")

    about = (
        f"{title}: attention lines from each query token (left) to the key tokens (right) it attends to. "
        "Keys: up and down arrows pick a token, left and right switch between queries and keys, "
        "Enter pins, Escape clears; the weights are read out below the controls."
    )
    rows = [
        S.svg_open(width, height, about, role="group", class_="tt-headview-svg", tabindex=0),
        S.text(x_q - 6, 20, "query", size=11, anchor="end", fill="#555"),
        S.text(x_k + 6, 20, "key", size=11, fill="#555"),
        '<g class="tt-lines"></g>',
        f'<g font-family="{S.esc(S.FONT)}" font-size="12" fill="#111" style="cursor:pointer">',
    ]
    for i, name in enumerate(names):
        y = y0 + i * ROW_H
        shown = S.esc(name if len(name) <= 10 else name[:9] + "\u2026")
        tip = f"<title>position {i}</title>"
        # The query (left) and key (right) copies of token i, each with a highlight box behind it.
        rows.append(
            f'<g data-side="q" data-i="{i}" class="tt-tok tt-q">{tip}'
            f'<rect class="tt-qbg" x="{S.coord(x_q - label_w + 4)}" y="{S.coord(y - ROW_H / 2)}" '
            f'width="{S.coord(label_w - 6)}" height="{ROW_H}" fill="#1f77b4" fill-opacity="0"/>'
            f'<text x="{S.coord(x_q - 6)}" y="{S.coord(y + 4)}" text-anchor="end">{shown}</text>'
            f'<text class="tt-qval" x="{S.coord(x_q - label_w)}" y="{S.coord(y + 4)}" text-anchor="end" '
            f'font-size="10" fill="#555"></text></g>'
        )
        rows.append(
            f'<g data-side="k" data-i="{i}" class="tt-tok tt-k">{tip}'
            f'<rect class="tt-kbg" x="{S.coord(x_k + 2)}" y="{S.coord(y - ROW_H / 2)}" '
            f'width="{S.coord(label_w - 6)}" height="{ROW_H}" fill="#1f77b4" fill-opacity="0"/>'
            f'<text x="{S.coord(x_k + 6)}" y="{S.coord(y + 4)}">{shown}</text>'
            f'<text class="tt-kval" x="{S.coord(x_k + label_w)}" y="{S.coord(y + 4)}" '
            f'font-size="10" fill="#555"></text></g>'
        )
    rows.append("</g></svg>")

    def option(value, label, chosen):
        return f'<option value="{value}"{" selected" if value == chosen else ""}>{label}</option>'

    def options(n, chosen, word):
        return "".join(option(k, f"{word} {k}", chosen) for k in range(n))

    head_opts = option("all", "all heads", head) + options(H, head, "head")
    # Which colour is which head (lines of "all heads" are coloured by head); a click shows that head alone.
    legend = "".join(
        f'<button type="button" class="tt-legend-head" data-h="{h}" style="font:inherit;border:1px solid #ccc;'
        f'background:#fff;color:#222;border-radius:3px;padding:0 5px;margin:0 3px 0 0;cursor:pointer">'
        f'<span aria-hidden="true" style="display:inline-block;width:14px;height:3px;vertical-align:middle;'
        f'background:{S.SERIES[h % len(S.SERIES)]};margin-right:4px"></span>head {h}</button>'
        for h in range(H)
    )
    controls = (
        f'<div class="tt-controls" style="margin:4px 0 6px 0;font-size:13px">'
        f"<strong>{S.esc(title)}</strong> &nbsp; "
        f'<label>Layer <select class="tt-layer">{options(L, layer, "layer")}</select></label> '
        f'<label>Head <select class="tt-head">{head_opts}</select></label></div>'
        f'<div class="tt-legend" style="font-size:12px;margin:0 0 4px 0">Line colours: {legend}</div>'
        f'<div class="tt-info" aria-live="polite" style="font-size:12px;color:#555;min-height:16px">'
        f"The lines are drawn by JavaScript: if none appear, run this cell again (a saved output "
        f"of an untrusted notebook does not run scripts).</div>"
    )
    data = {
        "T": T,
        "H": H,
        "L": L,
        "causal": causal,
        "th": float(threshold),
        "heads": list(range(H)),
        "colors": S.SERIES,
        "x1": x_q,
        "x2": x_k,
        "y0": y0,
        "rh": ROW_H,
        "hint": (
            "hover a token (or focus the figure and use the arrow keys) to see its attention; click or Enter to pin"
        ),
        "tok": ["#" + s if from_positions else "'" + s + "'" for s in names],
        "w": encode_weights(weights.reshape(-1, T, T), causal),
    }
    html = (
        f'<div id="{rid}" data-tt-root class="tt-viz tt-headview" style="font-family:{S.esc(S.SANS)}">'
        f'{controls}{"".join(rows)}<script type="application/json">{json_payload(data)}</script>'
        f"{boot_script(rid, _JS)}</div>"
    )
    view = HeadView(html, None, title)
    view.weights, view.tokens, view.causal, view.threshold = weights, labels, causal, float(threshold)
    return view
