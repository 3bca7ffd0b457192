"""Notebook 4's ladder, one component at a time: which learning rate suits each rung, and whether each
rung is really below the one before, across seeds.

    python benchmarks/course_ladder.py --corpus PATH/TO/tinyshakespeare.txt                 # grid + check
    python benchmarks/course_ladder.py --corpus ... --grid 6e-3,1e-2 --seeds 0,1 --steps 150
    python benchmarks/course_ladder.py --check-only --json results/course_ladder.json       # LADDER_LR only
    node benchmarks/pyodide_run.mjs benchmarks/course_ladder.py --check-only --seeds 0     # time it in wasm

The rungs, their steps and learning rates are `tinytorch.course.experiments` (`ladder_rungs`,
`LADDER_STEPS`, `LADDER_LR`): what the notebook's ladder cell trains, with the library's training step
(the one the student's must equal), `train_briefly`'s loop and its validation (8 fixed batches), on the
notebook's small two-block config (32 wide, 4 heads, context 32, batch 16).

1. Grid (skipped with --check-only): every rung at every learning rate of --grid for --seeds; the best
   learning rate per rung is the one with the lowest mean validation loss. Paste it into `LADDER_LR`
   (--check-only with --json keeps the grid that file holds).
2. Check: every rung at its `LADDER_LR` for --seeds: validation loss per seed, each rung's step down
   from the one before (mean, and the worst seed), and the seconds each rung trained (native, or wasm
   when run through pyodide_run.mjs: the notebook cell's own cost in a browser's Pyodide, without the
   browser's helper thread for large products).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from train_shakespeare import load_corpus  # noqa: E402

from tinytorch.course import experiments  # noqa: E402
from tinytorch.course.your_gpt import library_training_step  # noqa: E402
from tinytorch.models import TinyGPTConfig  # noqa: E402
from tinytorch.nn.functional import cross_entropy  # noqa: E402


def small_config(vocab_size):
    """The notebook's experiment model (cell "variants" of notebook 4)."""
    return TinyGPTConfig(vocab_size=vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=32)


def train_rung(config, name, lr, steps, seed, train_ids, val_ids):
    model, _ = experiments.ladder_rungs(config, seed=seed)[name]
    started = time.perf_counter()
    run = experiments.train_briefly(
        model, steps, library_training_step, cross_entropy, train_ids, val_ids, lr=lr, seed=seed
    )
    return run["val"], time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--steps", type=int, default=experiments.LADDER_STEPS)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--grid", default="3e-3,6e-3,1e-2,2e-2", help="learning rates tried for every rung")
    parser.add_argument("--check-only", action="store_true", help="skip the grid; check LADDER_LR")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    tokenizer, train_ids, val_ids = load_corpus(args.corpus)
    config = small_config(tokenizer.vocab_size)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(experiments.LADDER_LR)
    result = {"steps": args.steps, "seeds": seeds, "grid": {}, "best_lr": {}, "ladder": {}}
    if args.check_only and args.json and args.json.exists():  # keep the grid this file already holds
        kept = json.loads(args.json.read_text())
        result.update(grid=kept.get("grid", {}), best_lr=kept.get("best_lr", {}), grid_seeds=kept.get("seeds"))

    if not args.check_only:
        grid = [float(x) for x in args.grid.split(",")]
        print(f"grid: {args.steps} steps, seeds {seeds}, mean validation loss")
        print(f"{'rung':24s}" + "".join(f"{lr:>10g}" for lr in grid))
        for name in names:
            means = {}
            for lr in grid:
                means[lr] = statistics.mean(
                    train_rung(config, name, lr, args.steps, s, train_ids, val_ids)[0] for s in seeds
                )
            result["grid"][name] = {f"{lr:g}": round(v, 4) for lr, v in means.items()}
            result["best_lr"][name] = min(means, key=means.get)
            print(f"{name:24s}" + "".join(f"{means[lr]:10.3f}" for lr in grid), flush=True)
        print("best: LADDER_LR = " + json.dumps({k: f"{v:g}" for k, v in result["best_lr"].items()}))

    print(f"\nthe ladder at LADDER_LR, {args.steps} steps, seeds {seeds}")
    previous = None
    for name in names:
        lr = experiments.LADDER_LR[name]
        runs = [train_rung(config, name, lr, args.steps, s, train_ids, val_ids) for s in seeds]
        vals = [v for v, _ in runs]
        row = {"lr": lr, "val": [round(v, 4) for v in vals], "seconds": [round(t, 2) for _, t in runs]}
        line = f"  {name:24s} lr {lr:<7g} val {statistics.mean(vals):.3f} (seeds {min(vals):.3f}-{max(vals):.3f})"
        if previous is not None:
            steps_down = [b - a for a, b in zip(vals, previous)]
            row["down_mean"] = round(statistics.mean(steps_down), 4)
            row["down_worst_seed"] = round(min(steps_down), 4)
            line += f"  down {row['down_mean']:+.3f} (worst seed {row['down_worst_seed']:+.3f})"
        line += f"  {statistics.median(row['seconds']):.1f} s"
        print(line, flush=True)
        result["ladder"][name] = row
        previous = vals
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
