"""Views of attention and training as self-contained SVG/HTML (no matplotlib needed).

Every function returns a View that displays itself in Jupyter/JupyterLite and keeps its
markup (`.html`, `.svg`, `.save(path)`); nothing is fetched from the network, and only
numpy is needed (IPython only for `LiveLossCurve`'s in-place updates).

    attention_heatmap(weights_or_model, tokens)  one head, or a layers x heads grid
    head_view(weights_or_model, tokens)          interactive: lines from queries to keys
    attention_timelapse(trainer.attention_snapshots, probe_text)   slider over training
    timelapse_small_multiples(...)               the same, as one static figure
    loss_curves(trainer.history, ladder)         train/val loss vs step and time
    LiveLossCurve(ladder).update(history)        one output that redraws while training
    positional_view(T=64, d_model=64)            sinusoidal encodings and their similarity
    next_token_view(model, prompt, tokenizer)    top-k next characters at a temperature

matplotlib versions of the main figures: `from tinytorch.viz import mpl` (local Jupyter).
"""

from .attention import AttentionHeatmap, attention_heatmap
from .curves import LiveLossCurve, loss_curves
from .headview import HeadView, head_view
from .positional import positional_view
from .probabilities import next_token_view
from .svg import visible_token
from .timelapse import TimelapseView, attention_timelapse, timelapse_small_multiples
from .view import View

__all__ = [
    "AttentionHeatmap",
    "HeadView",
    "LiveLossCurve",
    "TimelapseView",
    "View",
    "attention_heatmap",
    "attention_timelapse",
    "head_view",
    "loss_curves",
    "next_token_view",
    "positional_view",
    "timelapse_small_multiples",
    "visible_token",
]


def __getattr__(name):
    # matplotlib is optional and slow to import: load tinytorch.viz.mpl only when asked for.
    if name == "mpl":
        import importlib

        return importlib.import_module(f"{__name__}.mpl")
    raise AttributeError(f"module 'tinytorch.viz' has no attribute {name!r}")
