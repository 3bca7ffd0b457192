"""Which matmul kernels are fastest in the browser? Run this inside Pyodide (Node), not natively.

    TINYGPT_NUMPY_WHEEL=<Pyodide's numpy wheel> node benchmarks/pyodide_run.mjs benchmarks/wasm_kernels.py
    ... benchmarks/wasm_kernels.py --preset native --rounds 6

Prints, for the preset's shapes, (1) each product of a training step written several ways,
and (2) whole training steps with each `tinytorch.kernels` backend. Every comparison is
interleaved round-robin in one process (the machine is shared: absolute times drift, ratios
hold). This is the evidence for the "wasm" backend in tinytorch/kernels.py.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import interleaved_medians  # noqa: E402

C_ = np.ascontiguousarray


def product_cases(B, T, C, H, V, F):
    """(label, {way: fn}) for every product shape of a step (F = the MLP's hidden width); "dot order" = summed
    axis last in both."""
    rng = np.random.default_rng(0)
    N, d = B * T, C // H

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    cases = []
    for K, M, what in ((C, 3 * C, "x @ W_qkv"), (C, F, "x @ W_fc"), (F, C, "h @ W_fc2"), (C, V, "x @ W_head")):
        a, w = r(N, K), r(K, M)
        cases.append(
            (
                f"{what} ({N},{K})@({K},{M})",
                {
                    "einsum ik,kn": lambda a=a, w=w: np.einsum("ik,kn->in", a, w),
                    "dot order (copy W.T)": lambda a=a, w=w: np.einsum("ik,nk->in", a, C_(w.T)),
                    "@": lambda a=a, w=w: a @ w,
                },
            )
        )
    for I, O, what in ((C, 3 * C, "dW_qkv"), (F, C, "dW_fc2"), (C, F, "dW_fc")):
        x, g = r(N, I), r(N, O)
        cases.append(
            (
                f"{what} = x.T ({I},{N}) @ dY ({N},{O})",
                {
                    "einsum ni,no": lambda x=x, g=g: np.einsum("ni,no->io", x, g),
                    "dot order (copy both .T)": lambda x=x, g=g: np.einsum("in,on->io", C_(x.T), C_(g.T)),
                    "x.T @ dY": lambda x=x, g=g: x.T @ g,
                },
            )
        )
    for O, I, what in ((F, C, "dX_fc = dY @ W_fc.T"), (C, F, "dX_fc2 = dY @ W_fc2.T")):
        g, w = r(N, O), r(I, O)
        cases.append(
            (
                f"{what} ({N},{O})@({O},{I})",
                {
                    "einsum no,io (dot order)": lambda g=g, w=w: np.einsum("no,io->ni", g, w),
                    "@ W.T": lambda g=g, w=w: g @ w.T,
                },
            )
        )
    q, k = r(B, H, T, d), r(B, H, T, d)
    att = r(B, H, T, T)
    cases.append(
        (
            f"scores q k^T ({B},{H},{T},{d})",
            {
                "einsum": lambda: np.einsum("bhid,bhjd->bhij", q, k),
                "@": lambda: q @ k.swapaxes(-1, -2),
            },
        )
    )
    cases.append(
        (
            f"att @ v ({B},{H},{T},{T})",
            {
                "einsum": lambda: np.einsum("bhij,bhjd->bhid", att, q),
                "@": lambda: att @ q,
            },
        )
    )
    cases.append(
        (
            f"att^T @ dy ({B},{H},{T},{T})",
            {
                "einsum (copy att^T)": lambda: np.einsum("bhij,bhjd->bhid", C_(att.swapaxes(-1, -2)), q),
                "@": lambda: att.swapaxes(-1, -2) @ q,
            },
        )
    )
    return cases


def step_per_backend(preset_name, rounds):
    """Median seconds of one training step (forward, backward, AdamW) per kernels backend."""
    import tinytorch
    from tinytorch import kernels
    from tinytorch.models import TinyGPT, preset
    from tinytorch.optim import AdamW

    p = preset(preset_name)
    tinytorch.manual_seed(0)
    model = TinyGPT(p.config)
    optimizer = AdamW(model.parameters(), lr=1e-4)
    g = np.random.default_rng(0)
    shape = (p.batch_size, p.config.block_size)
    x, y = g.integers(0, 65, size=shape), g.integers(0, 65, size=shape)
    before = kernels.backend()

    def step_with(name):
        def run():
            kernels.set_backend(name)
            optimizer.zero_grad()
            _, loss = model(x, y)
            loss.backward()
            optimizer.step()

        return run

    try:
        return interleaved_medians({name: step_with(name) for name in kernels.BACKENDS}, repeats=rounds, warmup=1)
    finally:
        kernels.set_backend(before)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="browser")
    parser.add_argument("--rounds", type=int, default=8, help="timed whole steps per backend")
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per product way")
    parser.add_argument("--steps-only", action="store_true")
    args = parser.parse_args()
    from tinytorch import kernels
    from tinytorch.models import preset

    p = preset(args.preset)
    cfg = p.config
    print(
        f"{sys.platform} | numpy {np.__version__} | auto backend: {kernels.backend()} | preset {args.preset}: "
        f"B={p.batch_size} T={cfg.block_size} C={cfg.n_embd} H={cfg.n_head} layers={cfg.n_layer}"
    )
    if not args.steps_only:
        for label, fns in product_cases(
            p.batch_size, cfg.block_size, cfg.n_embd, cfg.n_head, cfg.vocab_size, cfg.mlp_ratio * cfg.n_embd
        ):
            res = interleaved_medians(fns, repeats=args.repeats, warmup=2)
            best = min(v["median"] for v in res.values())
            cells = "  ".join(f"{n}: {1e3 * v['median']:.2f} ms ({v['median'] / best:.2f}x)" for n, v in res.items())
            print(f"{label:40s} {cells}")
    res = step_per_backend(args.preset, args.rounds)
    best = min(v["median"] for v in res.values())
    print(
        "whole training step: "
        + "  ".join(f"{n}: {1e3 * v['median']:.1f} ms ({v['median'] / best:.2f}x)" for n, v in res.items())
    )


if __name__ == "__main__":
    main()
