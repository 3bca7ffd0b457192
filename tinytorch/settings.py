"""Every environment variable tinytorch reads, in one place: its name, its default, what it does.

| variable         | what                                                  | unset                           |
| ---------------- | ----------------------------------------------------- | ------------------------------- |
| `TINYGPT_CORPUS` | the tinyshakespeare.txt to train on                   | look around, then download it   |
| `TINYGPT_CACHE`  | the one download cache (corpus; the site build's too) | `~/.cache/tinytorch`            |
| `TINYGPT_MATMUL` | force the matmul kernels: einsum, blas, wasm or simd  | chosen from platform and numpy  |
| `TINYGPT_THREADS`| `0`: no helper thread for large products in Pyodide   | one where SharedArrayBuffer is  |

One prefix, `TINYGPT_`. The names of earlier versions, `TINYTORCH_CACHE` and `TINYTORCH_MATMUL`,
still work, with a FutureWarning (shown by default). An empty variable counts as unset. Build
and test tooling (coursetools, tests) reads its own variables (`TINYGPT_NUMPY_WHEEL`, `TINYGPT_CHROMIUM`, ...)
through `setting()` as well.
"""

import os
import warnings
from pathlib import Path

PREFIX = "TINYGPT_"
OLD_PREFIX = "TINYTORCH_"  # earlier versions' prefix, read with a warning
DEFAULT_CACHE = Path("~/.cache/tinytorch")


def setting(name: str, default: str | None = None) -> str | None:
    """$TINYGPT_<name>, else $TINYTORCH_<name> (with a FutureWarning), else `default`."""
    value = os.environ.get(PREFIX + name, "").strip()
    if value:
        return value
    old = os.environ.get(OLD_PREFIX + name, "").strip()
    if old:
        warnings.warn(
            f"{OLD_PREFIX}{name} is now called {PREFIX}{name}: rename the environment variable",
            FutureWarning,
            stacklevel=3,
        )  # shown by default: whoever set it should see this
        return old
    return default


def corpus_path() -> Path | None:
    """$TINYGPT_CORPUS as a Path (not checked: the caller says what is wrong with it), or None."""
    value = setting("CORPUS")
    return None if value is None else Path(value).expanduser()


def cache_root() -> Path:
    """The one folder where downloads are kept: $TINYGPT_CACHE, else ~/.cache/tinytorch."""
    return Path(setting("CACHE") or DEFAULT_CACHE).expanduser()


def matmul_backend() -> str:
    """$TINYGPT_MATMUL lower-cased ("einsum", "blas", "wasm", "simd"), or "auto"."""
    return (setting("MATMUL") or "auto").lower()


def wasm_threads() -> bool:
    """False when $TINYGPT_THREADS is "0": then Pyodide never splits products over a helper thread (wasm/threads.py)."""
    return setting("THREADS") != "0"
