"""The course's default training run where students run it: in Pyodide (wasm), next to native numpy.

    export TINYGPT_NUMPY_WHEEL=<Pyodide's numpy wheel> TINYGPT_CORPUS=<tinyshakespeare.txt>
    python benchmarks/browser_training.py                 # short: 60 steps per side, extrapolated
    python benchmarks/browser_training.py --full          # really train to val <= 2.0 and to the end
    python benchmarks/browser_training.py --site          # + kernel start, import and bytes in Chromium

Prints one table: the browser preset's ms/step, the time to the first validation with loss
<= 2.0, `import tinytorch`, in Pyodide under Node (the browser's numpy and interpreter, V8 as in
Chrome) and natively (this numpy, OpenBLAS 1 thread). `--site` builds the course site, opens
notebook 4 in headless Chromium and measures the kernel start (page open -> a cell's output),
`import tinytorch` in that kernel and the bytes of the first visit.

The run is the notebook's: the preset's recipe, seed 0, validation every eval_interval steps
on 20 fixed batches. Short mode trains `--steps` steps and extrapolates the time to val <= 2.0
from the preset's measured `steps_to_val_2` (its first validation at or below 2.0) plus the
measured cost of those validations; `--full` trains for real (minutes in wasm).
Each side runs in its own process one after the other: absolute times drift with the
machine's load (it is shared), so compare the ratios of one run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUNNER = HERE / "pyodide_run.mjs"
TARGET = 2.0


# ----------------------------------------------------------------------------- one side


def measure(preset_name="browser", steps=60, full=False, seed=0, eval_batches=20):
    """Runs in the measured interpreter (native or Pyodide). Returns a JSON-friendly dict."""
    started = time.perf_counter()
    import tinytorch

    import_seconds = time.perf_counter() - started
    import numpy as np

    from tinytorch.models import TinyGPT, preset
    from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split
    from tinytorch.training import LanguageModelTrainer

    p = preset(preset_name)
    text = load_shakespeare(os.environ.get("TINYGPT_CORPUS") or None)
    tokenizer = CharTokenizer().fit(text)
    train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.9)
    tinytorch.manual_seed(seed)
    import dataclasses

    config = dataclasses.replace(p.config, vocab_size=tokenizer.vocab_size)
    model = TinyGPT(config)
    optimizer = tinytorch.optim.AdamW(model.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay)
    trainer = LanguageModelTrainer(
        model, optimizer, train_ids, val_ids, block_size=config.block_size, batch_size=p.batch_size,
        lr_schedule="cosine", warmup_steps=p.warmup_steps, max_steps=p.max_steps, grad_clip=p.grad_clip,
        eval_interval=p.eval_interval, eval_batches=eval_batches, progress=None)
    result = {"where": sys.platform, "numpy": np.__version__, "kernels": tinytorch.kernels.backend(),
              "import_seconds": import_seconds, "preset": preset_name, "max_steps": p.max_steps,
              "eval_interval": p.eval_interval, "steps_to_val_2": getattr(p, "steps_to_val_2", 1250)}
    if not full:
        trainer.eval_interval = None  # time training steps and one validation separately
        trainer.fit(steps)
        per_step = [p.batch_size * config.block_size / h["tokens_per_sec"] for h in trainer.history[1:]]
        t = time.perf_counter()
        trainer.evaluate()
        eval_seconds = time.perf_counter() - t
        step_seconds = statistics.median(per_step)
        evals = result["steps_to_val_2"] // p.eval_interval
        result.update(steps=steps, ms_per_step=1e3 * step_seconds, eval_seconds=eval_seconds,
                      seconds_to_val_2=result["steps_to_val_2"] * step_seconds + evals * eval_seconds,
                      measured="extrapolated")
        return result
    reached = None
    t0 = time.perf_counter()
    while trainer.step < p.max_steps:
        trainer.fit(min(p.eval_interval, p.max_steps - trainer.step))
        val = trainer.history.last_validation()[1]
        if reached is None and val is not None and val <= TARGET:
            reached = (trainer.step, time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    per_step = [p.batch_size * config.block_size / h["tokens_per_sec"] for h in trainer.history[1:]]
    result.update(steps=trainer.step, ms_per_step=1e3 * statistics.median(per_step), wall_seconds=wall,
                  step_val_2=reached and reached[0], seconds_to_val_2=reached and reached[1],
                  final_val_50=trainer.evaluate(batches=50), measured="full run",
                  val_curve=[(h["step"], round(h["val_loss"], 4)) for h in trainer.history if h["val_loss"] is not None])
    return result


def _child(cmd, env, timeout):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def run_side(side, args):
    inner = ["--inner", "--preset", args.preset, "--steps", str(args.steps)] + (["--full"] if args.full else [])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    timeout = 4 * 3600 if args.full else 1800
    if side == "pyodide":
        return _child(["node", str(RUNNER), "benchmarks/browser_training.py", *inner], env, timeout)
    env["OPENBLAS_NUM_THREADS"] = "1"
    return _child([sys.executable, str(Path(__file__).resolve()), *inner], env, timeout)


# ----------------------------------------------------------------------------- the browser


def measure_site(site_dir=None, notebook="04_train_tinygpt.ipynb"):
    """Kernel start, `import tinytorch` and first-visit bytes in headless Chromium."""
    import tempfile

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "tests" / "site"))
    from _site_helpers import CHROMIUM, CHROMIUM_ARGS, LocalServer

    if site_dir is None:
        from coursetools.site import build_site

        site_dir = build_site(out=Path(tempfile.mkdtemp(prefix="tinygpt-bench-")) / "site").out
    server = LocalServer(Path(site_dir))
    out = {"site": str(site_dir)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            sizes = {"bytes": 0}
            loaded = []

            def count(request):
                try:
                    size = request.sizes()["responseBodySize"]
                except Exception:
                    return
                sizes["bytes"] += size
                loaded.append((round(time.perf_counter() - t0, 2), size, request.url.replace(server.url, "/")))

            context.on("requestfinished", count)
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(f"{server.url}notebooks/index.html?path={notebook}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            out["notebook_shown_seconds"] = time.perf_counter() - t0
            code = ("import time as _t; _s = _t.perf_counter(); import tinytorch; "
                    "print(f'IMPORTED {_t.perf_counter() - _s:.3f}')")
            _type_cell(page, "print('READY', 6 * 7)")
            page.keyboard.press("Shift+Enter")
            page.locator(".jp-OutputArea-output:has-text('READY 42')").first.wait_for(timeout=600_000)
            out["kernel_ready_seconds"] = time.perf_counter() - t0
            _type_cell(page, code)
            page.keyboard.press("Shift+Enter")
            cell = page.locator(".jp-OutputArea-output:has-text('IMPORTED')").first
            cell.wait_for(timeout=600_000)
            out["import_seconds"] = float(cell.inner_text().split("IMPORTED")[1].split()[0])
            out["first_visit_bytes"] = sizes["bytes"]
            out["requests"] = loaded  # (seconds after opening, bytes, path): what the kernel waits for
            browser.close()
    finally:
        server.stop()
    return out


def _type_cell(page, code):
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)


# ----------------------------------------------------------------------------- report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="browser")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per side (short mode)")
    parser.add_argument("--full", action="store_true", help="train for real: to val <= 2.0 and to max_steps")
    parser.add_argument("--sides", default="pyodide,native", help="comma list of pyodide, native")
    parser.add_argument("--site", nargs="?", const="", default=None,
                        help="also measure in Chromium; give a built site folder or nothing to build one")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args()
    if args.inner:
        print("RESULT " + json.dumps(measure(args.preset, args.steps, args.full)), flush=True)
        return
    if not os.environ.get("TINYGPT_CORPUS"):
        raise SystemExit("set TINYGPT_CORPUS to tinyshakespeare.txt")
    results = {}
    for side in filter(None, args.sides.split(",")):
        results[side] = run_side(side, args)
    if args.site is not None:
        results["chromium"] = measure_site(args.site or None)
    print(f"browser benchmark, preset '{args.preset}' ({'full run' if args.full else f'{args.steps} steps, extrapolated'}); "
          f"time to val <= {TARGET} counts the training steps and the validations before it")
    print(f"{'side':10s} {'kernels':8s} {'ms/step':>8s} {'to val<=2 (s)':>14s} {'step':>6s} {'final val':>9s} {'import s':>9s}")
    for side in ("pyodide", "native"):
        r = results.get(side)
        if r:
            step = r.get("step_val_2") or r.get("steps_to_val_2")
            final = r.get("final_val_50")
            to_val = r.get("seconds_to_val_2")
            print(f"{side:10s} {r['kernels']:8s} {r['ms_per_step']:8.1f} {to_val if to_val is None else round(to_val, 1)!s:>14s} "
                  f"{step!s:>6s} {'-' if final is None else f'{final:.3f}':>9s} {r['import_seconds']:9.2f}")
    if "pyodide" in results and "native" in results:
        print(f"Pyodide / native ms per step: {results['pyodide']['ms_per_step'] / results['native']['ms_per_step']:.2f}x")
    if "chromium" in results:
        c = results["chromium"]
        print(f"Chromium: kernel ready {c['kernel_ready_seconds']:.1f} s after opening the notebook, "
              f"`import tinytorch` {c['import_seconds']:.2f} s, first visit {c['first_visit_bytes'] / 1e6:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
