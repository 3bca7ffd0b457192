"""tinytorch: a small, readable autograd framework in pure numpy, and a GPT built on it.

Where things live:
    tensor.py         the Tensor and the autograd engine (every op's backward is beside its forward)
    kernels.py        matrix-product kernels, chosen once for this numpy (BLAS, no BLAS, or Pyodide)
    validation.py     the argument checks every public function shares (axes, sizes, token ids...)
    rng.py, files.py  the one random generator (manual_seed) and the one safe way to write a file
    nn/               modules, layers, functional ops, attention and the transformer block
    optim/            SGD, Adam, AdamW, gradient clipping, learning-rate schedules
    models/           TinyGPTConfig, TinyGPT, a bigram baseline, presets
    text/             CharTokenizer, the Shakespeare corpus, batches
    training/         LanguageModelLoss, LanguageModelTrainer (a short loop) and its callbacks
    viz/              SVG/HTML views of attention and training (imported only when used)
    course/           helpers the notebooks use in the browser (imported only when used)
"""


class NumpyUnavailableError(ImportError):
    """numpy could not be imported: one short explanation instead of a traceback.

    IPython (and so the browser course's kernel) shows only `_render_traceback_()`'s lines.
    """

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {line}" if i == 0 else line for i, line in enumerate(str(self).splitlines())]


def _require_numpy() -> None:
    import sys

    try:
        import numpy

        if getattr(numpy, "__file__", None) is None:  # a folder named numpy with no numpy in it
            raise ImportError(
                f"'numpy' in {list(numpy.__path__)} holds no numpy (only other files, such as "
                "its bytecode), so Python made it an empty namespace package"
            )
    except ImportError as error:
        if sys.platform == "emscripten":  # the browser course: numpy comes from the course site
            advice = (
                "tinytorch needs numpy, and numpy did not load in this browser tab.\n"
                "- First visit and offline? Connect to the internet, reload the page and run the cell again:\n"
                "  after one visit online the course works offline.\n"
                "- Online and still failing? This copy of the course was deployed without numpy: tell your instructor."
            )
        else:
            advice = "tinytorch needs numpy, which is not installed in this Python: pip install numpy"
        raise NumpyUnavailableError(f"{advice}\n(The import error was: {error})") from None


_require_numpy()

from . import kernels, models, nn, optim, text, training
from .rng import manual_seed
from .serialization import load, save
from .tensor import (
    Tensor,
    cat,
    default_dtype,
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    stack,
    tensor,
)

__version__ = "0.1.0"


def __getattr__(name):
    # viz and course pull in IPython-facing code; load them only when a notebook asks.
    if name in ("viz", "course"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tinytorch' has no attribute {name!r}")
