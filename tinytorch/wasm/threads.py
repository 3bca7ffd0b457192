"""A second thread for the large matrix products in Pyodide, where the page allows it.

Threads need SharedArrayBuffer: Node, or a browser page that is cross-origin isolated (the
course site is, from the second visit on). Pyodide's own heap is never shared, so threads.js
copies both operands into a shared memory for a helper Worker; the two threads then claim
chunks of C's rows one at a time (the helper from the top, this thread from the bottom, in
place), so a helper that wakes late or has a busy core takes fewer. A linear layer's two backward
products run side by side (`pair`): dW is handed to the helper, this thread computes dx and goes
on with the backward pass, and takes what is left of dW before the next product is posted or
when backward() ends (`settle`). That costs O(size) copies for O(size * K) work, so only
products of at least MIN_MACS multiply-adds go to the helper. It starts in the background: until
it is ready every product runs here, as it does wherever threads are not available (`reason()`
says why) or are switched off.
"""

from pathlib import Path

from .. import settings
from . import WASM_FILE, load, pyodide_memory
from .leb128 import leb, read_leb

#: products smaller than this run on one thread (copies and the handshake cost ~0.05-0.2 ms)
MIN_MACS = 3_000_000
MAX_PAGES = 32768  # 2 GiB: the shared memory's limit

_pool = None
_ready = False
_waiting = []  # callbacks of products handed over with `later`, run by settle()
_reason = "not started"
#: on unless TINYGPT_THREADS=0 (or `threads.enabled = False`). Measured on this project's 2-core
#: machine in the course site's kernel, interleaved: the issue's GPT step ~1.4x faster with the
#: helper in Chromium (about 57 against 81 ms) when the machine had a core to spare; no gain while
#: other jobs held that core (benchmarks/README.md, site_tokens.py).
enabled = settings.wasm_threads()


def shared_variant(binary: bytes) -> bytes:
    """kernels.wasm with its env.memory import declared shared (max MAX_PAGES pages), for the helper thread."""
    out, i = bytearray(binary[:8]), 8
    while i < len(binary):
        sid = binary[i]
        size, start = read_leb(binary, i + 1)
        payload = binary[start : start + size]
        if sid == 2:  # import section: exactly one import, env.memory (build.py checks that)
            head = payload.rindex(b"memory") + len(b"memory")
            if payload[head] != 2:
                raise ValueError("the module's import is not a memory")
            flags = payload[head + 1]
            minimum, _ = read_leb(payload, head + 2)
            if flags != 0:
                raise ValueError("kernels.wasm's memory import already has limits; expected (min) only")
            payload = payload[: head + 1] + b"\x03" + leb(minimum) + leb(MAX_PAGES)
        out += bytes([sid]) + leb(len(payload)) + payload
        i = start + size
    return bytes(out)


def start() -> None:
    """Start the helper thread once (it gets ready in the background)."""
    global _pool, _reason
    if _pool is not None or _reason != "not started":
        return
    exports = load()
    if exports is None:
        _reason = "the SIMD module is not loaded"
        return
    try:
        import js
        from pyodide.code import run_js
        from pyodide.ffi import to_js

        if getattr(js, "SharedArrayBuffer", None) is None or getattr(js, "crossOriginIsolated", True) is False:
            _reason = "no SharedArrayBuffer here (the page is not cross-origin isolated)"
            return
        make_pool = run_js(Path(__file__).with_name("threads.js").read_text())
        _pool = make_pool(to_js(shared_variant(WASM_FILE.read_bytes())), exports, pyodide_memory())
        _reason = ""
    except Exception as error:  # no Worker, no shared memory...: one thread, as before
        _reason = f"{type(error).__name__}: {error}"


def pool():
    """The helper thread's pool when it is ready and enabled, else None."""
    global _ready
    if not enabled:
        return None
    if _pool is None:
        start()
        if _pool is None:
            return None
    if not _ready:
        _ready = bool(_pool.ready())
    return _pool if _ready else None


def hand_over(callback, *operands) -> None:
    """Run `callback` at the next `settle()`: its product is still on the helper (threads.js, pair
    later). `operands` stay alive until then: finishing the product here reads them where they are."""
    _waiting.append((callback, operands))


def settle() -> None:
    """Finish every product the helper was left with (copied into its array), then run their callbacks."""
    if not _waiting:
        return
    _pool.settle()
    callbacks = [callback for callback, _ in _waiting]
    _waiting.clear()
    for callback in callbacks:
        callback()


def reason() -> str:
    """Why products run on one thread ("" once the helper exists)."""
    start()
    return _reason
