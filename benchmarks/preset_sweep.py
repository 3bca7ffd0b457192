"""Sweep training recipes for the fastest wall-clock time to a validation loss (default 2.0).

    OPENBLAS_NUM_THREADS=1 python benchmarks/preset_sweep.py --corpus $TINYGPT_CORPUS \
        --run "lr=1e-2 max_steps=1000" --run "lr=1e-2 batch=8" --json sweep.jsonl

Each `--run` overrides the browser preset (keys: lr, batch, block, embd, layers, heads,
mlp_ratio, init_std, max_steps, warmup, wd, beta2, clip, seed, steps). The recipe is the
notebook's: AdamW from `model.configure_optimizers` with the preset's betas and weight decay,
linear warm-up then cosine decay over max_steps, the preset's gradient clipping, seed 0.
Validation every `--eval-interval` steps on 20 fixed batches (as in the notebook) finds the
first step with val loss <= target; the final val loss is over 50 batches. Steps-to-target
transfer between machines; the time per step does not, so pair this with a step's cost
measured in Pyodide (`wasm_kernels.py --steps-only`, `browser_training.py`).
"""

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import tinytorch  # noqa: E402
from tinytorch.models import preset  # noqa: E402
from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split  # noqa: E402
from tinytorch.training import Validation  # noqa: E402

KEYS = {
    "lr": float,
    "batch": int,
    "block": int,
    "embd": int,
    "layers": int,
    "heads": int,
    "mlp_ratio": int,
    "init_std": float,
    "max_steps": int,
    "warmup": int,
    "wd": float,
    "beta2": float,
    "clip": float,
    "seed": int,
    "steps": int,
}


def parse_run(text):
    out = {}
    for item in text.split():
        key, _, value = item.partition("=")
        if key not in KEYS:
            raise SystemExit(f"unknown key {key!r} in --run {text!r}: use {sorted(KEYS)}")
        out[key] = KEYS[key](value)
    return out


#: the sweep's short keys -> the preset's field (or its config's)
FIELDS = {
    "lr": "lr",
    "batch": "batch_size",
    "block": "block_size",
    "embd": "n_embd",
    "layers": "n_layer",
    "heads": "n_head",
    "mlp_ratio": "mlp_ratio",
    "init_std": "init_std",
    "max_steps": "max_steps",
    "warmup": "warmup_steps",
    "wd": "weight_decay",
    "clip": "grad_clip",
}


def run(overrides, data, base="browser", target=2.0, eval_interval=50, eval_batches=20):
    tokenizer, train_ids, val_ids = data
    p = preset(base)
    changes = {FIELDS[key]: value for key, value in overrides.items() if key in FIELDS}
    if "beta2" in overrides:
        changes["betas"] = (p.betas[0], overrides["beta2"])
    p = p.replace(**changes)
    steps = overrides.get("steps", p.max_steps)
    tinytorch.manual_seed(overrides.get("seed", 0))
    model, _, trainer = p.build(
        tokenizer.vocab_size,
        train_ids,
        val_ids,
        progress=None,
        validation=Validation(every=eval_interval, batches=eval_batches),
    )
    config, batch, max_steps = model.config, p.batch_size, p.max_steps
    started = time.perf_counter()
    trainer.fit(steps)
    wall = time.perf_counter() - started
    evals = [(h["step"], h["val_loss"]) for h in trainer.history if h["val_loss"] is not None]
    reached = next((s for s, v in evals if v <= target), None)
    final = trainer.evaluate("val", batches=50)
    return {
        "run": overrides,
        "optimizer": "model.configure_optimizers",
        "batch": batch,
        "block": config.block_size,
        "embd": config.n_embd,
        "layers": config.n_layer,
        "mlp_ratio": config.mlp_ratio,
        "init_std": config.init_std,
        "max_steps": max_steps,
        "steps": steps,
        "target": target,
        "target_step": reached,
        "final_val_50": round(final, 4),
        "wall_seconds": round(wall, 1),
        "tokens_per_step": batch * config.block_size,
        "val_curve": [(s, round(v, 4)) for s, v in evals],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--run", action="append", default=[], help='overrides, e.g. "lr=1e-2 max_steps=1000"')
    parser.add_argument("--target", type=float, default=2.0)
    parser.add_argument("--eval-interval", type=int, default=50)
    parser.add_argument("--json", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()
    text = load_shakespeare(args.corpus)
    tokenizer = CharTokenizer().fit(text)
    data = (tokenizer, *train_val_split(tokenizer.encode(text), 0.9))
    for spec in args.run or [""]:
        result = run(parse_run(spec), data, target=args.target, eval_interval=args.eval_interval)
        print(
            f"{spec or '(preset)':40s} B{result['batch']}xT{result['block']} C{result['embd']}: "
            f"val<={args.target} at step {result['target_step']}, final val (50 batches) "
            f"{result['final_val_50']} after {result['steps']} steps, {result['wall_seconds']} s",
            flush=True,
        )
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
