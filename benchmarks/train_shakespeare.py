"""Train TinyGPT on the full Shakespeare corpus with a preset; report val loss vs step, speed, a sample.

    python benchmarks/train_shakespeare.py --preset browser --corpus PATH/TO/tinyshakespeare.txt
    python benchmarks/train_shakespeare.py --preset native  --corpus PATH/TO/tinyshakespeare.txt
    OPENBLAS_NUM_THREADS=1 python benchmarks/train_shakespeare.py --preset browser --corpus ...
    PYTHONPATH=. $TINYGPT_NOBLAS_PYTHON benchmarks/train_shakespeare.py --preset browser --steps 100 --corpus ...

The recipe is the preset's (tinytorch.models.presets) as notebook 4 runs it: AdamW from
`model.configure_optimizers` (weight decay on matrices and embeddings), linear warm-up then
cosine decay to lr/10 over the preset's max_steps, gradient clipping at 1.0, batches drawn
from the first 90% of the text, validation on the last 10% (the same `--eval-batches` fixed
batches at every evaluation). Quality bars: browser preset val loss <= 1.95 after its 900
steps, native preset <= 1.9.

Prints: validation loss every `--eval-interval` steps with elapsed time, the first step (and
time) where val loss <= `--target` (default 2.0), tokens/s of training, and a generated
sample. `--save PATH` writes the trained weights (tinytorch.save) for generation_speed.py.
With `--steps` smaller than the preset's max_steps the schedule still spans max_steps (the
run is a prefix of the full one): useful for measuring speed on a slow numpy.

Measured here (OpenBLAS 1 thread, seed 1337; val loss over 50 batches; the browser line on a
busier phase, where a step of the old 4x-MLP browser preset took 15.1 ms against this one's 13.7):

    browser   900 steps  val 1.919 (<= 2.0 first at step 600, 10.0 s)   14.6 ms/step  52,400 tok/s  16 s
    native   2000 steps  val 1.890 (<= 2.0 first at step 1250, 87 s)    66.5 ms/step  11,500 tok/s  142 s
    no-BLAS numpy: browser 54 ms/step (the busier phase), native 301 ms/step (2,550 tok/s)
"""

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from common import numpy_description  # noqa: E402

import tinytorch  # noqa: E402
from tinytorch.models import preset  # noqa: E402
from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split  # noqa: E402
from tinytorch.training import Validation  # noqa: E402


def load_corpus(path):
    """(tokenizer, train_ids, val_ids) for the whole corpus, 90/10 split."""
    text = load_shakespeare(path)
    tokenizer = CharTokenizer().fit(text)
    ids = tokenizer.encode(text)
    train_ids, val_ids = train_val_split(ids, 0.9)
    return tokenizer, train_ids, val_ids


def train(preset_name, corpus, steps=None, seed=1337, eval_batches=50, progress="text", quiet=False, **changes):
    """Train one model with a preset's recipe, `changes` to it given (lr=, batch_size=, block_size=,
    eval_interval=, ...: None keeps the preset's); returns a dict of results (history included)."""
    p = preset(preset_name).replace(**{key: value for key, value in changes.items() if value is not None})
    tokenizer, train_ids, val_ids = load_corpus(corpus)
    tinytorch.manual_seed(seed)
    model, _, trainer = p.build(
        tokenizer.vocab_size,
        train_ids,
        val_ids,
        progress=None if quiet else progress,
        validation=Validation(every=p.eval_interval, batches=eval_batches),
    )
    config = model.config
    steps = p.max_steps if steps is None else steps
    started = time.perf_counter()
    trainer.fit(steps)
    wall = time.perf_counter() - started
    return {
        "preset": preset_name,
        "config": config.to_dict(),
        "batch_size": p.batch_size,
        "lr": p.lr,
        "steps": steps,
        "wall_seconds": wall,
        "model": model,
        "tokenizer": tokenizer,
        "trainer": trainer,
        "parameters": model.num_parameters(),
    }


def summarise(result, target):
    """Print val loss vs step, time to target, speed; return a JSON-friendly summary."""
    trainer = result["trainer"]
    history = trainer.history
    evals = [h for h in history if h["val_loss"] is not None]
    tokens_per_step = result["batch_size"] * result["config"]["block_size"]
    train_seconds = sum(tokens_per_step / h["tokens_per_sec"] for h in history if h["tokens_per_sec"])
    reached = next((h for h in evals if h["val_loss"] <= target), None)
    print(f"\n{'step':>6s} {'train loss':>11s} {'val loss':>9s} {'lr':>9s} {'elapsed s':>10s}")
    for h in evals:
        window = [e["train_loss"] for e in history if h["step"] - 50 < e["step"] <= h["step"]]
        print(f"{h['step']:6d} {np.mean(window):11.4f} {h['val_loss']:9.4f} {h['lr']:9.2e} {h['elapsed']:10.1f}")
    final = evals[-1]["val_loss"] if evals else None
    speed = len(history) * tokens_per_step / train_seconds if train_seconds else float("nan")
    print(
        f"\n{result['preset']}: {result['parameters']:,} parameters, {result['steps']} steps of "
        f"{result['batch_size']}x{result['config']['block_size']} tokens in {result['wall_seconds']:.1f} s "
        f"(training steps alone {train_seconds:.1f} s, {1e3 * train_seconds / max(len(history), 1):.1f} ms/step, "
        f"{speed:,.0f} tokens/s; the rest is validation)"
    )
    print(f"final val loss {final:.4f}" if final is not None else "no validation")
    if reached:
        print(f"val loss <= {target} first at step {reached['step']} ({reached['elapsed']:.1f} s into training)")
    else:
        print(f"val loss never reached {target} in {result['steps']} steps")
    return {
        "preset": result["preset"],
        "config": result["config"],
        "batch_size": result["batch_size"],
        "lr": result["lr"],
        "steps": result["steps"],
        "parameters": result["parameters"],
        "final_val_loss": final,
        "wall_seconds": result["wall_seconds"],
        "train_seconds": train_seconds,
        "ms_per_step": 1e3 * train_seconds / max(len(history), 1),
        "tokens_per_sec": speed,
        "target": target,
        "target_step": reached["step"] if reached else None,
        "target_seconds": reached["elapsed"] if reached else None,
        "val_curve": [(h["step"], h["val_loss"]) for h in evals],
        **numpy_description(),
        "kernels": tinytorch.kernels.backend(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="browser", help="tiny, browser or native")
    parser.add_argument("--corpus", default=None, help="path to tinyshakespeare.txt (else download/cache)")
    parser.add_argument("--steps", type=int, default=None, help="default: the preset's max_steps")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the preset's)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--block-size", type=int, default=None, help="override the preset's block_size")
    parser.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (default: the preset's)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--eval-interval", type=int, default=None)
    parser.add_argument("--eval-batches", type=int, default=50)
    parser.add_argument("--target", type=float, default=2.0, help="report the first step with val loss <= this")
    parser.add_argument("--sample", type=int, default=500, help="characters to generate at the end")
    parser.add_argument("--save", type=Path, help="write the trained weights here (.npz)")
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--progress", default="text", help="text, bar or none")
    args = parser.parse_args()

    desc = numpy_description()
    print(
        f"numpy {desc['numpy']} (BLAS: {desc['blas']}, OPENBLAS_NUM_THREADS={desc['OPENBLAS_NUM_THREADS']}), "
        f"tinytorch kernels: {tinytorch.kernels.backend()}; the machine is shared, so times are +-20%"
    )
    result = train(
        args.preset,
        args.corpus,
        steps=args.steps,
        seed=args.seed,
        eval_batches=args.eval_batches,
        progress=None if args.progress == "none" else args.progress,
        eval_interval=args.eval_interval,
        lr=args.lr,
        batch_size=args.batch_size,
        weight_decay=args.weight_decay,
        block_size=args.block_size,
    )
    summary = summarise(result, args.target)
    if args.sample:
        started = time.perf_counter()
        text = result["model"].generate_text(result["tokenizer"], "\n", max_new_tokens=args.sample, seed=0)
        seconds = time.perf_counter() - started
        print(f"\nsample ({args.sample} characters in {seconds:.2f} s, temperature 1.0, seed 0):\n{text}")
        summary["sample"], summary["sample_seconds"] = text, seconds
    if args.save:
        tinytorch.save(result["model"].state_dict(), args.save)
        print(f"weights saved to {args.save}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
