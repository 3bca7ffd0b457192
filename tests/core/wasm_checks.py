"""Run inside Pyodide (tests/core/test_wasm_kernels.py starts it in Node): every SIMD kernel against numpy.

Prints one JSON object as its last line: what was loaded from where, and a list of failures
(empty when every check passed). Each check compares the "simd" backend with float64 numpy
(products) or with the numpy path the same op runs without the module (elementwise ops and
whole training steps, forward and gradients), on odd shapes, strided views and broadcasting.
"""

import json
import sys

import numpy as np

import tinytorch
from tinytorch import kernels, wasm
from tinytorch.wasm import threads

threads.enabled = False  # one thread first; the helper thread's products are checked on their own below

failures = []
report = {
    "platform": sys.platform,
    "tinytorch": tinytorch.__file__,
    "reason": wasm.reason(),
    "backend": kernels.backend(),
}
rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def check(label, got, want, tol=2e-5):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        failures.append(f"{label}: shape {got.shape} != {want.shape}")
        return
    if got.dtype != np.float32:
        failures.append(f"{label}: dtype {got.dtype}")
    scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
    err = float(np.abs(got.astype(np.float64) - want).max()) / scale if want.size else 0.0
    if not err <= tol:
        failures.append(f"{label}: max error {err:.3g} (relative to the largest value)")


# ----------------------------------------------------------------------------- the memory the module shares

memory = wasm.pyodide_memory()
import js  # noqa: E402

report["memory"] = str(js.Object.prototype.toString.call(memory))
import pyodide_js  # noqa: E402

report["memory_is_pyodides_heap"] = bool(memory.buffer == pyodide_js._module.HEAPU8.buffer)

# ----------------------------------------------------------------------------- products

D = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
kernels.set_backend("simd")
for M, K, N in [(1, 1, 1), (3, 5, 7), (4, 8, 8), (5, 3, 9), (13, 17, 12), (9, 33, 31), (64, 128, 65), (70, 96, 384)]:
    a, b = f32(M, K), f32(K, N)
    check(f"matmul {M}x{K}x{N}", kernels.matmul(a, b), D(a) @ D(b))
    check(f"matmul_nt {M}x{K}x{N}", kernels.matmul_nt(a, b.T.copy()), D(a) @ D(b))
    g = f32(M, N)
    check(f"matmul_tn {M}x{K}x{N}", kernels.matmul_tn(a, g), D(a).T @ D(g))
x3, w = f32(2, 7, 5), f32(5, 3)
check("matmul with leading dims", kernels.matmul(x3, w), D(x3) @ D(w))
g3 = f32(2, 7, 3)
check("matmul_tn over leading dims", kernels.matmul_tn(x3, g3), np.einsum("bti,bto->io", D(x3), D(g3)))
w2 = f32(5, 3)
check("matmul_nt with leading dims", kernels.matmul_nt(g3, w2), D(g3) @ D(w2).T)

# strided views: transposes, every other column (last axis not contiguous), reversed rows
big = f32(12, 10)
b6 = f32(12, 6)
check(
    "matmul of a transposed view and a column-strided view", kernels.matmul(big.T, b6[:, ::2]), D(big).T @ D(b6[:, ::2])
)
b9 = f32(10, 9)
check("matmul of reversed rows", kernels.matmul(big[::-1], b9[::-1]), D(big[::-1]) @ D(b9[::-1]))
check(
    "matmul_nt of column-strided views",
    kernels.matmul_nt(big[:, ::2], b9.T[:, ::2]),
    D(big[:, ::2]) @ D(b9.T[:, ::2]).T,
)

# batched attention shapes, views of one qkv array, broadcasting of batch dims
qkv = f32(3, 11, 3, 2, 5)  # (B, T, 3, H, d)
q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (B, H, T, d), strided
check("bmm_nt on qkv views", kernels.bmm_nt(q, k), D(q) @ D(k).swapaxes(-1, -2))
check("bmm_tn on qkv views", kernels.bmm_tn(q, v), D(q).swapaxes(-1, -2) @ D(v))
att = f32(3, 2, 11, 11)
check("bmm", kernels.bmm(att, v), D(att) @ D(v))
check("bmm with a transposed view", kernels.bmm(q, k.swapaxes(-1, -2)), D(q) @ D(k).swapaxes(-1, -2))
a_b, b_b = f32(2, 1, 4, 6), f32(1, 3, 6, 5)
check("bmm broadcasting batch dims", kernels.bmm(a_b, b_b), D(a_b) @ D(b_b))
b_nt = f32(3, 5, 6)
check("bmm_nt broadcasting batch dims", kernels.bmm_nt(a_b, b_nt), D(a_b) @ D(b_nt).swapaxes(-1, -2))
deep_a, deep_b = f32(2, 3, 2, 4, 5), f32(2, 3, 2, 5, 3)
check(
    "bmm over three batch dims",
    kernels.bmm(deep_a.transpose(1, 0, 2, 3, 4), deep_b.transpose(1, 0, 2, 3, 4)),
    D(deep_a.transpose(1, 0, 2, 3, 4)) @ D(deep_b.transpose(1, 0, 2, 3, 4)),
)
raw = np.zeros(4 * 6 * 5 + 8, dtype=np.uint8)  # a float32 view that starts 2 bytes into its buffer
unaligned = np.frombuffer(raw.data, dtype=np.float32, offset=2, count=30).reshape(6, 5)
unaligned[...] = f32(6, 5)
a = f32(3, 6)
check("matmul of an unaligned view", kernels.matmul(a, unaligned), D(a) @ D(unaligned))
check("matmul of an unaligned view, on the left", kernels.matmul(unaligned.T, a.T), D(unaligned).T @ D(a).T)
odd = np.ndarray((5, 3), dtype=np.float32, buffer=np.zeros(96, np.uint8).data, offset=1, strides=(18, 6))
odd[...] = f32(5, 3)  # strides of 1.5 floats: the kernels take whole floats, so this operand is copied first
b = f32(3, 4)
check("matmul with strides that are not whole floats", kernels.matmul(odd, b), D(odd) @ D(b))
check("matmul with strides that are not whole floats, on the right", kernels.matmul(b.T, odd.T), D(b).T @ D(odd).T)
check("empty product", kernels.matmul(f32(0, 4), f32(4, 3)), np.zeros((0, 3)))
check("K = 0", kernels.bmm(f32(2, 3, 0), f32(2, 0, 4)), np.zeros((2, 3, 4)))
f64 = kernels.matmul(np.ones((3, 4)), np.ones((4, 2)))
if f64.dtype != np.float64 or not np.allclose(f64, 4.0):
    failures.append(f"float64 operands must fall back to numpy and stay float64, got {f64.dtype}")

# the heap grows (numpy allocates more): the module still sees the same memory, and new arrays
before = memory.buffer.byteLength
ballast = np.ones(64 * 2**20 // 4, dtype=np.float32)
report["heap_grew"] = memory.buffer.byteLength > before
a, b = f32(37, 29), f32(29, 23)
check("matmul after the heap grew", kernels.matmul(a, b), D(a) @ D(b))
del ballast

# ----------------------------------------------------------------------------- fused elementwise ops

import tinytorch.nn.functional as F  # noqa: E402
from tinytorch.nn.attention import causal_attention  # noqa: E402
from tinytorch.optim import Adam, AdamW  # noqa: E402


def both_backends(label, run, tol=2e-5):
    """run() -> list of arrays, under the numpy ("wasm") backend and under "simd": they must agree."""
    kernels.set_backend("wasm")
    want = [np.asarray(r, dtype=np.float64) for r in run()]
    kernels.set_backend("simd")
    got = run()
    for i, (g, w) in enumerate(zip(got, want)):
        check(f"{label} [{i}]", g, w, tol)


def op_and_grads(op, *shapes, scale=1.0, seed=3):
    def run():
        r = np.random.default_rng(seed)
        inputs = [
            tinytorch.Tensor((scale * r.standard_normal(sh)).astype(np.float32), requires_grad=True) for sh in shapes
        ]
        out = op(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        (out * tinytorch.Tensor(r.standard_normal(out.shape).astype(np.float32))).sum().backward()
        return [out.data] + [t.grad for t in inputs]

    return run


for n in [(1,), (7,), (3, 1001), (2, 5, 64)]:
    both_backends(f"gelu {n}", op_and_grads(F.gelu, n, scale=4.0))
both_backends(
    "gelu far out in both tails",
    lambda: [F.gelu(tinytorch.Tensor(np.array([-200, -90, -30, -5, 0, 5, 30, 90, 200], dtype=np.float32))).data],
)
strided = f32(5, 7).T
both_backends("gelu of a transposed view (numpy path)", lambda: [F.gelu(tinytorch.Tensor(strided)).data])
# T and d off the kernels' blocks of 4 rows and 8 / 4 columns (d = 3, 5, 12), T past them (70)
for T, H, d in [(1, 1, 4), (7, 3, 5), (13, 2, 8), (5, 2, 3), (70, 2, 12), (64, 4, 32)]:
    both_backends(
        f"causal attention T={T} H={H} d={d}",
        op_and_grads(lambda qkv, H=H: causal_attention(qkv, H), (2, T, 3 * H * d)),
    )
    both_backends(
        f"causal attention's weights T={T} H={H} d={d}",
        lambda T=T, H=H, d=d: [
            causal_attention(
                tinytorch.Tensor(np.random.default_rng(T).standard_normal((3, T, 3 * H * d)).astype(np.float32)), H
            )[1]
        ],
    )
both_backends(
    "causal attention, its gradient a transposed view",
    op_and_grads(lambda qkv: causal_attention(qkv, 2)[0].transpose(0, 2, 1), (2, 9, 24)),
)
both_backends(
    "causal attention with large scores", op_and_grads(lambda qkv: causal_attention(qkv, 2), (2, 9, 12), scale=30.0)
)
for C in [1, 3, 7, 16, 130]:
    both_backends(f"layer_norm C={C}", op_and_grads(lambda x, w, b: F.layer_norm(x, w, b), (3, 5, C), (C,), (C,)))
both_backends("layer_norm without affine (numpy path)", op_and_grads(lambda x: F.layer_norm(x), (4, 9)))
for rows, n_in, n_out in [(1, 3, 1), (5, 7, 3), (33, 16, 65)]:
    both_backends(
        f"linear bias gradient {rows}x{n_in}x{n_out}",
        op_and_grads(lambda x, w, b: F.linear(x, w, b), (rows, n_in), (n_in, n_out), (n_out,)),
    )


def optimizer_steps(make):
    def run():
        r = np.random.default_rng(5)
        params = [
            tinytorch.Tensor(r.standard_normal(sh).astype(np.float32), requires_grad=True)
            for sh in [(7,), (3, 5), (64,)]
        ]
        opt = make(params)
        for _ in range(3):
            for p in params:
                p.grad = r.standard_normal(p.shape).astype(np.float32)
            opt.step()
        state = [opt.state[id(p)][k] for p in params for k in ("exp_avg", "exp_avg_sq")]
        return [p.data for p in params] + state

    return run


both_backends("AdamW steps", optimizer_steps(lambda ps: AdamW(ps, lr=1e-2, weight_decay=0.1)), tol=1e-5)
both_backends("Adam steps with L2 decay", optimizer_steps(lambda ps: Adam(ps, lr=1e-2, weight_decay=0.1)), tol=1e-5)
both_backends("Adam steps without decay", optimizer_steps(lambda ps: Adam(ps, lr=3e-3, betas=(0.8, 0.99))), tol=1e-5)


def train_step_grads(backend, n_embd=18, n_head=3, block_size=11, batch=3):
    """A TinyGPT's loss and every gradient after one backward pass, under `backend`."""
    kernels.set_backend(backend)
    from tinytorch.models import TinyGPT, TinyGPTConfig

    tinytorch.manual_seed(0)
    config = TinyGPTConfig(vocab_size=13, block_size=block_size, n_layer=2, n_head=n_head, n_embd=n_embd, mlp_ratio=3)
    model = TinyGPT(config)
    ids = np.random.default_rng(1).integers(0, 13, size=(batch, block_size))
    _, loss = model(ids[:, :-1], ids[:, 1:])
    loss.backward()
    return float(loss.data), {name: p.grad.copy() for name, p in model.named_parameters()}


# ----------------------------------------------------------------------------- a helper thread for large products

import time  # noqa: E402

threads.enabled = True
for _ in range(250):  # it starts in the background
    if threads.pool() is not None:
        break
    time.sleep(0.02)
report["threads"] = threads.pool() is not None
report["threads_reason"] = threads.reason()
if report["threads"]:
    kernels.set_backend("simd")
    for M, K, N in [(200, 150, 101), (97, 301, 129), (768, 128, 65)]:
        a, b, g = f32(M, K), f32(K, N), f32(M, N)
        check(f"two-thread matmul {M}x{K}x{N}", kernels.matmul(a, b), D(a) @ D(b))
        check(f"two-thread matmul_tn {M}x{K}x{N}", kernels.matmul_tn(a, g), D(a).T @ D(g))
        check(f"two-thread matmul_nt {M}x{K}x{N}", kernels.matmul_nt(g, b), D(g) @ D(b).T)
        got = []
        dx = kernels.linear_grads(g, a, b, got.append)  # dW may still be on the helper: settle() hands it over
        kernels.settle()
        check(f"two-thread linear_grads dx {M}x{K}x{N}", dx, D(g) @ D(b).T)
        check(f"two-thread linear_grads dW {M}x{K}x{N}", got[0] if len(got) == 1 else None, D(a).T @ D(g))
    # a pair whose first product is long: the helper takes (most of) the second
    a1, b1, a, b = f32(400, 300), f32(300, 200), f32(97, 301), f32(301, 129)
    out1, out = np.full((400, 200), np.nan, dtype=np.float32), np.full((97, 129), np.nan, dtype=np.float32)
    rows = threads.pool().pair(
        out1.ctypes.data, a1.ctypes.data, b1.ctypes.data, 400, 200, 300, 300, 1, 200,
        out.ctypes.data, a.ctypes.data, b.ctypes.data, 97, 129, 301, 301, 1, 129,
    )  # fmt: skip
    check("two-thread pair, first product", out1, D(a1) @ D(b1))
    check(f"two-thread pair, second product ({rows} rows on the helper)", out, D(a) @ D(b))
    # which rows the helper takes depends on timing: once more with every chunk left to it
    address = lambda x: x.__array_interface__["data"][0]  # noqa: E731
    for M, K, N in [(200, 150, 101), (97, 301, 129), (5, 7, 9)]:
        a, b, out = f32(M, K), f32(K, N), np.full((M, N), np.nan, dtype=np.float32)
        rows = threads.pool().gemm(address(out), address(a), address(b), M, N, K, K, 1, N, True)
        check(f"helper thread alone {M}x{K}x{N} ({rows} rows)", out, D(a) @ D(b))
    # a product left on the helper whose operands' names are dropped at once (as a backward pass drops
    # dy): settling finishes its last chunks here, from those operands, so they must still be there
    from tinytorch.wasm import products  # noqa: E402

    got, a, b = [], f32(600, 300), f32(300, 200)
    products.nn_pair(f32(4, 4), f32(4, 4), a.copy(), b.copy(), got.append)
    reuse = [np.full((600, 300), 1e30, dtype=np.float32) for _ in range(4)]  # malloc reuses freed memory
    threads.settle()
    check("a product settled after its operands' names were dropped", got[0] if got else None, D(a) @ D(b))
    # whole backward passes: a GPT's gradients with the helper (dW handed over, settled at the end of
    # backward) equal one thread's; a weight that is not a leaf still passes its gradient on
    threads.enabled = False
    loss_one, grads_one = train_step_grads("simd", n_embd=96, n_head=4, block_size=32, batch=8)
    threads.enabled = True
    loss_two, grads_two = train_step_grads("simd", n_embd=96, n_head=4, block_size=32, batch=8)
    check("TinyGPT loss, two threads", np.float32(loss_two), np.float64(loss_one), tol=1e-6)
    for name, grad in grads_one.items():
        check(f"TinyGPT gradient of {name}, two threads", grads_two[name], grad.astype(np.float64), tol=1e-5)
    x, w, g = f32(300, 96), tinytorch.Tensor(f32(96, 200), requires_grad=True), f32(300, 200)
    (F.linear(tinytorch.Tensor(x, requires_grad=True), w * 2.0) * tinytorch.Tensor(g)).sum().backward()
    check("two threads: the gradient through a weight that is not a leaf", w.grad, 2.0 * (D(x).T @ D(g)))
    ballast = np.ones(32 * 2**20 // 4, dtype=np.float32)  # the heap grows between calls
    a, b = f32(300, 257), f32(257, 99)
    check("two-thread matmul after the heap grew", kernels.matmul(a, b), D(a) @ D(b))
    del ballast
threads.enabled = False

# ----------------------------------------------------------------------------- whole training steps


loss_numpy, grads_numpy = train_step_grads("wasm")
loss_simd, grads_simd = train_step_grads("simd")
check("TinyGPT loss", np.float32(loss_simd), np.float64(loss_numpy), tol=1e-5)
for name, grad in grads_numpy.items():
    check(f"TinyGPT gradient of {name}", grads_simd[name], grad.astype(np.float64), tol=1e-4)

# ----------------------------------------------------------------------------- falling back

kernels.set_backend("auto")
report["auto"] = kernels.backend()
saved = wasm._exports, wasm._reason, wasm.pyodide_memory


def no_memory():
    raise RuntimeError("this Pyodide has no _module.memory to share with the kernels")


wasm._exports, wasm._reason, wasm.pyodide_memory = None, "not loaded yet", no_memory
report["without_memory"] = [kernels.set_backend("auto"), wasm.reason()]
wasm._exports, wasm._reason, wasm.pyodide_memory = saved
kernels.set_backend("auto")

report["failures"] = failures
print(json.dumps(report))
