"""How fast does TinyGPT write? Tokens per second of generate(), with and without the KV cache.

    python benchmarks/generation_speed.py                      # browser + native presets, all envs
    python benchmarks/generation_speed.py --presets browser --envs blas1
    python benchmarks/generation_speed.py --checkpoint model.npz --corpus PATH/TO/tinyshakespeare.txt

For each preset the model generates `--tokens` characters (default 500) from a one-character
prompt, batch 1, temperature 1.0, once with the key/value cache and once without (the same
context windows recomputed from scratch), interleaved, `--repeats` times; the table shows
medians. The two runs must produce the same tokens (checked every time). The quality bar is
500 characters in <= 1 s natively on the browser preset.

Environments run in child processes (BLAS threads can only be chosen before numpy loads):
blas1 = this numpy with OPENBLAS_NUM_THREADS=1, blas = default threads, noblas =
$TINYGPT_NOBLAS_PYTHON (numpy without BLAS: the stand-in for Pyodide in a browser tab).
Generation speed does not depend on the weights, so a freshly initialised model is used
unless --checkpoint is given (then a sample of the text is printed too).

Measured here (2 cores, quiet moment; seconds for 500 tokens, cache / no cache):

    blas1   browser 0.126 / 0.209   native 0.311 / 1.052
    blas    browser 0.126 / 0.217   native 0.274 / 0.836
    noblas  browser 0.164 / 0.562   native 0.433 / 3.299      tokens identical in every run

With other jobs running, OpenBLAS with its default 2 threads was 20-40x slower on the native
preset (11 s for 500 tokens): its threads spin-wait on tiny matrices and fight for the cores.
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from common import interleaved_medians, noblas_ready, numpy_description, spawn  # noqa: E402


def run_worker(preset_name, tokens, repeats, checkpoint=None, corpus=None):
    """In this process: time generate() with and without the cache; return a dict."""
    import numpy as np

    import tinytorch
    from tinytorch import kernels
    from tinytorch.models import TinyGPT, preset

    p = preset(preset_name)
    tinytorch.manual_seed(0)
    model = TinyGPT(p.config)
    tokenizer = None
    if checkpoint:
        model.load_state_dict(tinytorch.load(checkpoint))
    if corpus:
        from tinytorch.text import CharTokenizer

        tokenizer = CharTokenizer().fit(Path(corpus).read_text())
    model.eval()
    start = np.zeros((1, 1), dtype=np.int64)  # id 0 is '\n' in the Shakespeare vocabulary
    outputs = {}

    def run(use_cache):
        def go():
            outputs[use_cache] = model.generate(start, tokens, temperature=1.0, seed=1, use_cache=use_cache)

        return go

    timings = interleaved_medians({"cache": run(True), "no cache": run(False)}, repeats=repeats, warmup=1)
    same = bool(np.array_equal(outputs[True], outputs[False]))
    result = {
        "preset": preset_name,
        **numpy_description(),
        "kernels": kernels.backend(),
        "tokens": tokens,
        "repeats": repeats,
        "identical": same,
    }
    for name, t in timings.items():
        result[name] = {"median_s": t["median"], "min_s": t["min"], "tokens_per_s": tokens / t["median"]}
    if tokenizer is not None:
        result["sample"] = tokenizer.decode(outputs[True][0])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="browser,native")
    parser.add_argument("--envs", default="blas1,blas,noblas")
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", help="a TinyGPT state dict saved with tinytorch.save (same preset shape)")
    parser.add_argument("--corpus", help="text the tokenizer is fitted on, to print a decoded sample")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        out = run_worker(args.presets, args.tokens, args.repeats, args.checkpoint, args.corpus)
        print(json.dumps(out))
        return

    results = []
    print(f"generate(): {args.tokens} tokens, batch 1, temperature 1.0, medians of {args.repeats} interleaved runs")
    print(
        f"{'env':7s} {'preset':8s} {'kernels':7s} {'cache s':>8s} {'cache tok/s':>12s} "
        f"{'no-cache s':>11s} {'no-cache tok/s':>15s} {'speed-up':>9s}  same tokens"
    )
    for env_name in args.envs.split(","):
        if env_name == "noblas" and noblas_ready():
            print(f"{env_name}: skipped, {noblas_ready()}")
            continue
        for name in args.presets.split(","):
            worker = ["--presets", name, "--tokens", str(args.tokens), "--repeats", str(args.repeats)]
            if args.checkpoint:
                worker += ["--checkpoint", args.checkpoint]
            if args.corpus:
                worker += ["--corpus", args.corpus]
            r = spawn(__file__, env_name, worker)
            r["env"] = env_name
            results.append(r)
            c, n = r["cache"], r["no cache"]
            speedup = n["median_s"] / c["median_s"]
            print(
                f"{env_name:7s} {name:8s} {r['kernels']:7s} {c['median_s']:8.3f} {c['tokens_per_s']:12,.0f} "
                f"{n['median_s']:11.3f} {n['tokens_per_s']:15,.0f} {speedup:8.1f}x  {r['identical']}"
            )
            sys.stdout.flush()
            if "sample" in r:
                print("sample:\n" + r["sample"][:300])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
