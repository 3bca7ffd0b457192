"""What Stop costs a running cell where the page has no shared memory (WebKit, or isolation refused).

    python benchmarks/stop_overhead.py site      # a built site; Chromium, the page kept unisolated

There the kernel's worker asks the site's service worker, at most every 200 ms while a cell
runs, whether Stop was pressed (coursetools/kernel_patches.py, POLLED_BUFFER), and Pyodide
reads that stand-in buffer every 50 bytecode checks. This times a pure-Python loop (the worst
case: nothing but bytecode checks) and a small training step, with the stand-in buffer and with
an Int32Array as an isolated page reads it, and with no interrupt buffer at all, alternated in
one kernel; prints the medians and their ratios.
"""

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from course_page import RUN, course_kernel

WORK = """
import time, pyodide_js, js
def _loop():
    t = time.perf_counter(); n = 0
    while n < 3_000_000: n += 1
    return time.perf_counter() - t
import numpy as np, tinytorch
from tinytorch.models import TinyGPT, TinyGPTConfig
tinytorch.manual_seed(0)
_m = TinyGPT(TinyGPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64))
_opt = tinytorch.optim.AdamW(_m.parameters(), lr=1e-3)
_x = np.random.default_rng(0).integers(0, 65, (8, 33))
def _steps():
    t = time.perf_counter()
    for _ in range(5):
        _, loss = _m(_x[:, :-1], _x[:, 1:]); _opt.zero_grad(); loss.backward(); _opt.step()
    return time.perf_counter() - t
print(type(js.self.tinygptInterrupt).__name__ if hasattr(js.self, 'tinygptInterrupt') else 'none')
"""
ONE = """
pyodide_js.setInterruptBuffer({buffer})
print(_loop(), _steps())
pyodide_js.setInterruptBuffer(js.self.tinygptInterrupt)
"""


# the stand-in; an Int32Array as an isolated page's shared buffer is read (the same reads, no polling); none
VARIANTS = {"polled": "js.self.tinygptInterrupt", "shared": "js.Int32Array.new(1)", "none": "None"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(args.site, site, symlinks=True)
        for worker in (site / "service-worker.js", site / "build" / "service-worker.js"):
            if worker.is_file():  # a worker that adds no isolation headers: the page keeps no shared memory
                worker.write_text(worker.read_text().replace("const ISOLATE=!(", "const ISOLATE=!1&&!("))
        with course_kernel(site) as page:
            print("interrupt buffer:", page.evaluate(RUN, WORK).strip())
            for _ in range(args.rounds):
                for name, buffer in VARIANTS.items():
                    loop, steps = page.evaluate(RUN, ONE.format(buffer=buffer)).split()
                    times[name].append((float(loop), float(steps)))
    for i, what in enumerate(("3 M iterations of `n += 1`", "5 training steps of a 2 x 64 GPT")):
        polled, shared, none = (statistics.median(t[i] for t in times[name]) for name in VARIANTS)
        print(
            f"{what}: {polled:.3f} s with Stop polled, {shared:.3f} s with a shared buffer (isolated), "
            f"{none:.3f} s with no Stop: polled / shared {polled / shared:.3f}x, polled / none {polled / none:.3f}x"
        )


if __name__ == "__main__":
    main()
