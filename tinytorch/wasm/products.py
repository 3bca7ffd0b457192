"""float32 matrix products on the SIMD module: numpy arrays in, a fresh contiguous array out.

Each function takes views with any strides (transposes, broadcast batch dims) and passes the
module addresses and strides counted in floats; only an operand whose inner axis is not
contiguous where the kernel streams it is copied first. Batch dims are merged where the
strides allow, at most two are passed to the module, and any further ones loop here.

    nn(a (..., M, K), b (..., K, N)) -> (..., M, N)      a any strides, b rows contiguous
    nt(a (..., M, K), b (..., N, K)) -> (..., M, N)      b transposed into a copy, then nn
"""

import numpy as np

from . import address as _address
from . import load, threads

_F32 = np.dtype(np.float32)


def _floats(stride: int) -> int:
    return stride // 4


def _unit_inner(x: np.ndarray) -> np.ndarray:
    """x with its last axis contiguous (a copy only when it is not)."""
    if x.shape[-1] > 1 and x.strides[-1] != 4:
        return np.ascontiguousarray(x)
    return x


def _aligned(x: np.ndarray) -> np.ndarray:
    """x, or a copy when a stride or its address is not a whole number of floats (numpy's ALIGNED
    flag): the kernels take strides counted in floats."""
    return x if x.flags.aligned else np.ascontiguousarray(x)


def _batch_dims(shape, *strides_per_operand):
    """[(n, stride of each operand)] for the batch dims, size-1 dims dropped, mergeable dims merged."""
    dims = [(n, tuple(s[i] for s in strides_per_operand)) for i, n in enumerate(shape) if n != 1]
    merged = []
    for n, st in dims:
        if merged:
            n0, st0 = merged[-1]
            if all(s0 == s * n for s0, s in zip(st0, st)):
                merged[-1] = (n0 * n, st)
                continue
        merged.append((n, st))
    return merged


def _product(kernel, a, b, out, M, N, K, a_inner, b_inner):
    """Run `kernel` over the broadcast batch of a, b into out (..., M, N) (contiguous)."""
    batch = out.shape[:-2]
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    c_strides = [_floats(s) for s in out.strides[:-2]]
    dims = _batch_dims(batch, [_floats(s) for s in a.strides[:-2]], [_floats(s) for s in b.strides[:-2]], c_strides)
    base_a, base_b, base_c = _address(a), _address(b), _address(out)
    inner = (M, N, K, *a_inner(a), *b_inner(b))

    def run(level, oa, ob, oc):
        rest = dims[level:]
        if len(rest) <= 2:
            (n1, (sa1, sb1, _)), (n2, (sa2, sb2, _)) = ([(1, (0, 0, 0))] * 2 + rest)[-2:]
            kernel(base_c + 4 * oc, base_a + 4 * oa, base_b + 4 * ob, *inner, n1, n2, sa1, sa2, sb1, sb2)
            return
        n, (sa, sb, sc) = rest[0]
        for i in range(n):
            run(level + 1, oa + i * sa, ob + i * sb, oc + i * sc)

    run(0, 0, 0, 0)
    return out


def _out(a, b, M, N):
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.ndim > 2 or b.ndim > 2 else ()
    return np.empty(batch + (M, N), dtype=_F32)


def nn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (..., M, K) @ b (..., K, N) -> (..., M, N), float32."""
    M, K = a.shape[-2:]
    N = b.shape[-1]
    out = _out(a, b, M, N)
    if out.size == 0 or K == 0:
        out[...] = 0
        return out
    a, b = _aligned(a), _aligned(_unit_inner(b))
    if a.ndim == 2 and b.ndim == 2:  # the linear layers' products: no batch bookkeeping
        _run_2d(_args_2d(out, a, b))
        return out
    # the kernel needs every batch of C contiguous in (M, N), which np.empty gives; a's strides are free
    return _product(
        load().gemm_nn,
        a,
        b,
        out,
        M,
        N,
        K,
        lambda x: (_floats(x.strides[-2]), _floats(x.strides[-1])),
        lambda x: (_floats(x.strides[-2]),),
    )


def _args_2d(out, a, b):
    """gemm_nn's arguments for out = a @ b, all 2-D (b's rows contiguous)."""
    (M, K), N = a.shape, b.shape[1]
    sam, sak = _floats(a.strides[0]), _floats(a.strides[1])
    return (_address(out), _address(a), _address(b), M, N, K, sam, sak, _floats(b.strides[0]))


def _helper_for(args):
    """The helper thread's pool for a product this large with strides it can copy, else None."""
    M, N, K = args[3:6]
    return threads.pool() if M * N * K >= threads.MIN_MACS and min(args[6:]) >= 0 else None


def _run_2d(args) -> None:
    """gemm_nn on `args` (_args_2d): on both threads, which claim chunks of rows (threads.js), when
    the helper takes it, else here."""
    helper = _helper_for(args)
    if helper is not None:
        helper.gemm(*args)
    else:
        load().gemm_nn(*args, 1, 1, 0, 0, 0, 0)


def nn_pair(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray, then):
    """a1 @ b1 for 2-D float32 operands, returned; a2 @ b2 handed to `then`. With the helper thread
    the second is computed there while this thread computes the first and returns (threads.js,
    pair later): a linear layer's dx goes on down the backward pass while the helper finishes its
    dW, and `then(dW)` runs at threads.settle(). Without the helper, then() runs before this returns."""
    if 0 in a1.shape + b1.shape + a2.shape + b2.shape:
        out1 = nn(a1, b1)
        then(nn(a2, b2))
        return out1
    a1, b1 = _aligned(a1), _aligned(_unit_inner(b1))
    a2, b2 = _aligned(a2), _aligned(_unit_inner(b2))
    out1 = np.empty((a1.shape[0], b1.shape[1]), dtype=_F32)
    out2 = np.empty((a2.shape[0], b2.shape[1]), dtype=_F32)
    args1, args2 = _args_2d(out1, a1, b1), _args_2d(out2, a2, b2)
    helper = _helper_for(args2)
    if helper is not None and min(args1[6:]) >= 0:
        helper.pair(*args1, *args2, True)
        threads.hand_over(lambda: then(out2), a2, b2)
        return out1
    _run_2d(args1)
    _run_2d(args2)
    then(out2)
    return out1


def nt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (..., M, K) @ b (..., N, K)^T -> (..., M, N), float32: b^T copied (O(N K)), then `nn`.

    A kernel of row-by-row dot products measured 0.7-0.85x the speed of `nn` (it must add
    the four lanes of every result at the end), more than the copy costs.
    """
    return nn(a, np.ascontiguousarray(np.swapaxes(b, -1, -2)))
