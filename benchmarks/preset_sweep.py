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
import dataclasses
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import tinytorch  # noqa: E402
from tinytorch.models import TinyGPT, preset  # noqa: E402
from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split  # noqa: E402
from tinytorch.training import LanguageModelTrainer  # noqa: E402

KEYS = {"lr": float, "batch": int, "block": int, "embd": int, "layers": int, "heads": int, "mlp_ratio": int,
        "init_std": float, "max_steps": int,
        "warmup": int, "wd": float, "beta2": float, "clip": float, "seed": int, "steps": int}


def parse_run(text):
    out = {}
    for item in text.split():
        key, _, value = item.partition("=")
        if key not in KEYS:
            raise SystemExit(f"unknown key {key!r} in --run {text!r}: use {sorted(KEYS)}")
        out[key] = KEYS[key](value)
    return out


def run(overrides, data, base="browser", target=2.0, eval_interval=50, eval_batches=20):
    tokenizer, train_ids, val_ids = data
    p = preset(base)
    config = dataclasses.replace(
        p.config, vocab_size=tokenizer.vocab_size, block_size=overrides.get("block", p.config.block_size),
        n_embd=overrides.get("embd", p.config.n_embd), n_layer=overrides.get("layers", p.config.n_layer),
        n_head=overrides.get("heads", p.config.n_head), mlp_ratio=overrides.get("mlp_ratio", p.config.mlp_ratio),
        init_std=overrides.get("init_std", p.config.init_std))
    batch = overrides.get("batch", p.batch_size)
    max_steps = overrides.get("max_steps", p.max_steps)
    steps = overrides.get("steps", max_steps)
    tinytorch.manual_seed(overrides.get("seed", 0))
    model = TinyGPT(config)
    optimizer = model.configure_optimizers(weight_decay=overrides.get("wd", p.weight_decay),
                                           learning_rate=overrides.get("lr", p.learning_rate),
                                           betas=(p.betas[0], overrides.get("beta2", p.betas[1])))
    trainer = LanguageModelTrainer(
        model, optimizer, train_ids, val_ids, block_size=config.block_size, batch_size=batch,
        eval_interval=eval_interval, eval_batches=eval_batches, lr_schedule="cosine",
        warmup_steps=overrides.get("warmup", p.warmup_steps), max_steps=max_steps, grad_clip=overrides.get("clip", p.grad_clip),
        progress=None)
    started = time.perf_counter()
    trainer.fit(steps)
    wall = time.perf_counter() - started
    evals = [(h["step"], h["val_loss"]) for h in trainer.history if h["val_loss"] is not None]
    reached = next((s for s, v in evals if v <= target), None)
    final = trainer.evaluate("val", batches=50)
    return {"run": overrides, "optimizer": "model.configure_optimizers", "batch": batch, "block": config.block_size, "embd": config.n_embd,
            "layers": config.n_layer, "mlp_ratio": config.mlp_ratio, "init_std": config.init_std,
            "max_steps": max_steps, "steps": steps, "target": target,
            "target_step": reached, "final_val_50": round(final, 4), "wall_seconds": round(wall, 1),
            "tokens_per_step": batch * config.block_size, "val_curve": [(s, round(v, 4)) for s, v in evals]}


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
        print(f"{spec or '(preset)':40s} B{result['batch']}xT{result['block']} C{result['embd']}: "
              f"val<={args.target} at step {result['target_step']}, final val (50 batches) "
              f"{result['final_val_50']} after {result['steps']} steps, {result['wall_seconds']} s", flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
