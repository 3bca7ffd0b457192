"""Which matrix-product expression is fastest on this numpy, for the shapes a TinyGPT step uses?

    python benchmarks/matmul_kernels.py                      # this numpy (BLAS)
    OPENBLAS_NUM_THREADS=1 python benchmarks/matmul_kernels.py
    PYTHONPATH=. $TINYGPT_NOBLAS_PYTHON benchmarks/matmul_kernels.py   # no-BLAS proxy for Pyodide

For each product it times the candidate expressions interleaved (median of many calls) and
prints them relative to the fastest, plus what `tinytorch.kernels` currently picks. This is
the evidence behind `tinytorch/kernels.py`: `@` with BLAS, `np.einsum` without.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import interleaved_medians, numpy_description  # noqa: E402


def tinytorch_backend() -> str:
    try:
        from tinytorch import kernels
    except Exception as error:  # the kernel timings below do not need tinytorch
        return f"(tinytorch not importable: {error})"
    return kernels.backend()


def candidates_nn(a, b):
    """a (N, K) @ b (K, M): forward of a linear layer."""
    return {
        "a @ b": lambda: a @ b,
        "einsum": lambda: np.einsum("nk,km->nm", a, b),
        "tensordot": lambda: np.tensordot(a, b, axes=(1, 0)),
        "(B,T,C) @ b": lambda: a.reshape(-1, 64, a.shape[1]) @ b,
    }


def candidates_tn(a, b):
    """a (N, K).T @ b (N, M): weight gradient."""
    return {
        "a.T @ b": lambda: a.T @ b,
        "einsum": lambda: np.einsum("nk,nm->km", a, b),
        "tensordot": lambda: np.tensordot(a, b, axes=(0, 0)),
        "copy(a.T) @ b": lambda: np.ascontiguousarray(a.T) @ b,
        "einsum(copy)": lambda: np.einsum("kn,nm->km", np.ascontiguousarray(a.T), b),
    }


def candidates_nt(a, b):
    """a (N, M) @ b (K, M).T: input gradient of a linear layer."""
    return {
        "a @ b.T": lambda: a @ b.T,
        "einsum": lambda: np.einsum("nm,km->nk", a, b),
        "tensordot": lambda: np.tensordot(a, b, axes=(1, 1)),
        "a @ copy(b.T)": lambda: a @ np.ascontiguousarray(b.T),
    }


def candidates_bmm_nt(q, k):
    """q (B, H, T, d) @ k^T: attention scores."""
    return {
        "q @ k^T": lambda: q @ k.swapaxes(-1, -2),
        "einsum": lambda: np.einsum("bhid,bhjd->bhij", q, k),
        "einsum(contiguous copies)": lambda: np.einsum(
            "bhid,bhjd->bhij", np.ascontiguousarray(q), np.ascontiguousarray(k)
        ),
    }


def candidates_bmm_tn(p, dy):
    """att^T (B, H, T, T) @ dy (B, H, T, d): gradient of v."""
    return {
        "att^T @ dy": lambda: p.swapaxes(-1, -2) @ dy,
        "einsum": lambda: np.einsum("bhji,bhjd->bhid", p, dy),
        "einsum(copy att^T)": lambda: np.einsum("bhij,bhjd->bhid", np.ascontiguousarray(p.swapaxes(-1, -2)), dy),
    }


def candidates_bmm(p, v):
    """att (B, H, T, T) @ v (B, H, T, d): attention output."""
    return {
        "att @ v": lambda: p @ v,
        "einsum": lambda: np.einsum("bhij,bhjd->bhid", p, v),
    }


def cases(B, T, C, H, V):
    rng = np.random.default_rng(0)
    N, d = B * T, C // H

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, x4 = r(N, C), r(N, 4 * C)
    # q, k, v as the model makes them: strided views into one (B, T, 3, H, d) qkv array
    q, k, _ = r(N, 3 * C).reshape(B, T, 3, H, d).transpose(2, 0, 3, 1, 4)
    att = r(B, H, T, T)
    return [
        (f"x ({N},{C}) @ W_qkv ({C},{3 * C})", candidates_nn(x, r(C, 3 * C))),
        (f"g ({N},{4 * C}) @ W_fc2 ({4 * C},{C})", candidates_nn(x4, r(4 * C, C))),
        (f"x ({N},{C}) @ W_head ({C},{V})", candidates_nn(x, r(C, V))),
        (f"dW = x.T ({C},{N}) @ dY ({N},{3 * C})", candidates_tn(x, r(N, 3 * C))),
        (f"dW = g.T ({4 * C},{N}) @ dY ({N},{C})", candidates_tn(x4, r(N, C))),
        (f"dX = dY ({N},{4 * C}) @ W.T ({4 * C},{C})", candidates_nt(x4, r(C, 4 * C))),
        (f"dX = dY ({N},{C}) @ W.T ({C},{4 * C})", candidates_nt(x, r(4 * C, C))),
        (f"scores q@k^T ({B},{H},{T},{d}) strided", candidates_bmm_nt(q, k)),
        (f"att@v ({B},{H},{T},{T})@({T},{d})", candidates_bmm(att, r(B, H, T, d))),
        (f"dv = att^T @ dy ({B},{H},{T},{T})", candidates_bmm_tn(att, r(B, H, T, d))),
    ]


def main(repeats=30):
    info = numpy_description()
    print(
        "numpy",
        info["numpy"],
        "| BLAS:",
        info["blas"],
        "| OPENBLAS_NUM_THREADS:",
        info["OPENBLAS_NUM_THREADS"],
        "| tinytorch.kernels backend:",
        tinytorch_backend(),
    )
    for name, cfg in (("nanoGPT CPU config", (12, 64, 128, 4, 65)), ("browser config", (16, 32, 64, 4, 65))):
        print(f"\n== {name}: B={cfg[0]} T={cfg[1]} C={cfg[2]} H={cfg[3]}")
        for label, fns in cases(*cfg):
            res = interleaved_medians(fns, repeats=repeats, warmup=3)
            best = min(r["median"] for r in res.values())
            cells = "  ".join(f"{n}: {1e3 * r['median']:.3f} ms ({r['median'] / best:.2f}x)" for n, r in res.items())
            print(f"{label:42s} {cells}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
