"""The speed floor: a hand-written numpy GPT training step (forward, backward, AdamW).

No autograd, no Tensor objects, no graph: every gradient is derived by hand and computed
with flattened 2-D matrix products, exactly the network `tinytorch.models.TinyGPT` builds
(ARCHITECTURE.md describes the model):

    x = wte[idx] + wpe[:T]                                     (B, T, C)
    n_layer times:  x = x + proj(causal_attention(qkv(ln1(x))))
                    x = x + fc2(gelu_tanh(fc(ln2(x))))          (MLP width mlp_ratio * C)
    logits = ln_f(x) @ W_head                                  (B, T, V), no bias
    loss = cross_entropy(logits (B*T, V), targets (B*T,))

`benchmarks/train_step.py` times tinytorch against this in the same process, so the ratio
says how much the framework (graph building, closures, generic ops) costs on top of the
arithmetic. To keep the comparison fair in both worlds the floor picks its matrix-product
kernels the same way `tinytorch.kernels` does: `@` when numpy has BLAS, `np.einsum` when it
does not (the browser).

Parameter names follow tinytorch's `TinyGPT.named_parameters()` shapes; `tests/core/
test_numpy_floor.py` checks the gradients against finite differences and against tinytorch.
"""

from dataclasses import dataclass

import numpy as np

from tinytorch import kernels

# Python floats, not numpy float64 scalars: under NEP 50 a np.float64 scalar would promote
# every float32 array it touches to float64 (twice the memory traffic).
GELU_C = float(np.sqrt(2.0 / np.pi))


@dataclass
class FloorConfig:
    """Shape of the network: same fields as tinytorch's TinyGPTConfig (dropout is always 0)."""

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    mlp_ratio: int = 4


# ----------------------------------------------------------------------------- kernels


class Kernels:
    """The six matrix products a GPT step needs, as `@` (BLAS) or `np.einsum` (no BLAS).

    mm:     a (N, K) @ b (K, M)            forward of a linear layer
    mm_nt:  a (N, M) @ b (K, M).T          input gradient  dX = dY @ W.T
    mm_tn:  a (N, K).T @ b (N, M)          weight gradient dW = X.T @ dY (never a transposed copy)
    bmm, bmm_nt, bmm_tn: the same on the last two dims of (B, H, T, *) arrays (attention).
    """

    def __init__(self, blas: bool):
        self.blas = blas
        if blas:
            self.mm = np.matmul
            self.mm_nt = lambda a, b: a @ b.T
            self.mm_tn = lambda a, b: a.T @ b
            self.bmm = np.matmul
            self.bmm_nt = lambda a, b: a @ b.swapaxes(-1, -2)
            self.bmm_tn = lambda a, b: a.swapaxes(-1, -2) @ b
        else:
            self.mm = lambda a, b: np.einsum("nk,km->nm", a, b)
            self.mm_nt = lambda a, b: np.einsum("nm,km->nk", a, b)
            self.mm_tn = lambda a, b: np.einsum("nk,nm->km", a, b)
            self.bmm = lambda a, b: np.einsum("bhik,bhkj->bhij", a, b)
            self.bmm_nt = lambda a, b: np.einsum("bhik,bhjk->bhij", a, b)
            # einsum reading a transposed left operand is ~1.6x slower than copying it first
            self.bmm_tn = lambda a, b: np.einsum("bhik,bhkj->bhij", np.ascontiguousarray(a.swapaxes(-1, -2)), b)


def default_blas() -> bool:
    """Use the same kernel family as tinytorch (`tinytorch.kernels.backend()`)."""
    return kernels.backend() == "blas"


# ----------------------------------------------------------------------------- the model


def init_params(config: FloorConfig, seed: int = 0, dtype=np.float32) -> dict:
    """GPT-2 style initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm weights.

    Linear weights are (in_features, out_features), y = x @ W + b, as in tinytorch.
    """
    rng = np.random.default_rng(seed)
    C, V, H = config.n_embd, config.vocab_size, config.mlp_ratio * config.n_embd

    def normal(*shape):
        return (0.02 * rng.standard_normal(shape)).astype(dtype)

    params = {
        "wte": normal(V, C),
        "wpe": normal(config.block_size, C),
    }
    for layer in range(config.n_layer):
        p = f"h{layer}."
        params[p + "ln1.w"] = np.ones(C, dtype)
        params[p + "ln1.b"] = np.zeros(C, dtype)
        params[p + "qkv.w"] = normal(C, 3 * C)
        params[p + "qkv.b"] = np.zeros(3 * C, dtype)
        params[p + "proj.w"] = normal(C, C)
        params[p + "proj.b"] = np.zeros(C, dtype)
        params[p + "ln2.w"] = np.ones(C, dtype)
        params[p + "ln2.b"] = np.zeros(C, dtype)
        params[p + "fc.w"] = normal(C, H)
        params[p + "fc.b"] = np.zeros(H, dtype)
        params[p + "fc2.w"] = normal(H, C)
        params[p + "fc2.b"] = np.zeros(C, dtype)
    params["lnf.w"] = np.ones(C, dtype)
    params["lnf.b"] = np.zeros(C, dtype)
    params["head.w"] = normal(C, V)
    return params


# floor name -> tinytorch TinyGPT.named_parameters() name ("{i}" = layer index)
TINYGPT_NAMES = {
    "wte": "token_embedding.weight",
    "wpe": "position_embedding.weight",
    "h{i}.ln1.w": "blocks.{i}.ln1.weight",
    "h{i}.ln1.b": "blocks.{i}.ln1.bias",
    "h{i}.qkv.w": "blocks.{i}.attn.qkv.weight",
    "h{i}.qkv.b": "blocks.{i}.attn.qkv.bias",
    "h{i}.proj.w": "blocks.{i}.attn.proj.weight",
    "h{i}.proj.b": "blocks.{i}.attn.proj.bias",
    "h{i}.ln2.w": "blocks.{i}.ln2.weight",
    "h{i}.ln2.b": "blocks.{i}.ln2.bias",
    "h{i}.fc.w": "blocks.{i}.mlp.fc.weight",
    "h{i}.fc.b": "blocks.{i}.mlp.fc.bias",
    "h{i}.fc2.w": "blocks.{i}.mlp.proj.weight",
    "h{i}.fc2.b": "blocks.{i}.mlp.proj.bias",
    "lnf.w": "ln_f.weight",
    "lnf.b": "ln_f.bias",
    "head.w": "lm_head.weight",
}


def tinygpt_name(floor_name: str) -> str:
    """The tinytorch parameter name of a floor parameter, e.g. "h1.fc2.w" -> "blocks.1.mlp.proj.weight"."""
    if floor_name[0] == "h" and floor_name[1].isdigit():
        layer, rest = floor_name[1:].split(".", 1)
        return TINYGPT_NAMES["h{i}." + rest].format(i=int(layer))
    return TINYGPT_NAMES[floor_name]


def params_from_tinygpt(model) -> dict:
    """Copies of a tinytorch TinyGPT's weights under the floor's names (same network, same numbers)."""
    named = dict(model.named_parameters())
    config = model.config
    floor_names = init_params(
        FloorConfig(
            config.vocab_size, config.block_size, config.n_layer, config.n_head, config.n_embd, config.mlp_ratio
        ),
        dtype=np.float32,
    ).keys()
    missing = [tinygpt_name(n) for n in floor_names if tinygpt_name(n) not in named]
    if missing or len(named) != len(floor_names):
        raise ValueError(
            f"TinyGPT parameters do not match the floor's architecture: missing {missing}, "
            f"extra {sorted(set(named) - {tinygpt_name(n) for n in floor_names})}"
        )
    return {n: np.array(named[tinygpt_name(n)].data, copy=True) for n in floor_names}


def _linear(k, x, w, b):
    """x (N, in) @ w (in, out) + b, adding the bias into the fresh product (no extra buffer)."""
    y = k.mm(x, w)
    y += b
    return y


def _layer_norm(x, w, b, eps=1e-5):
    """x (N, C) -> (y, (xhat, rstd)) normalising over C."""
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=1, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * rstd
    return xhat * w + b, (xhat, rstd)


def _layer_norm_backward(dy, w, cache):
    """dy (N, C) -> (dx, dw, db)."""
    xhat, rstd = cache
    dxhat = dy * w
    dx = rstd * (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


def _gelu(a):
    """tanh-form GELU through 0.5 (1 + tanh(u)) = sigmoid(2u) (exp is 3x cheaper than tanh in
    wasm); returns (g, s) so the backward does not recompute the sigmoid.

    Written with in-place updates of one fresh temporary: on (B*T, 4C) arrays, every
    `x * y` expression allocates a new MiB-sized buffer, and those allocations (page faults)
    cost more than the arithmetic (measured 2-7x on this machine).
    """
    s = a * a
    s *= 0.044715
    s += 1.0
    s *= a
    s *= -2.0 * GELU_C
    with np.errstate(over="ignore"):  # exp(+large) = inf gives s = 0, the right limit
        np.exp(s, out=s)
    s += 1.0
    np.reciprocal(s, out=s)  # sigmoid(2 sqrt(2/pi) (a + 0.044715 a^3))
    return a * s, s


def _gelu_backward(dg, a, s):
    """d gelu / da = s + a s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 a^2), times dg."""
    inner = a * a
    inner *= 3 * 0.044715 * 2.0 * GELU_C
    inner += 2.0 * GELU_C
    inner *= a
    da = 1.0 - s
    da *= s
    da *= inner
    da += s
    da *= dg
    return da


def _scatter_add_rows(ids, rows, shape):
    """out[i] = sum of rows[n] where ids[n] == i; ids (N,), rows (N, C) -> (V, C).

    Sort the ids, then one np.add.reduceat over each run of equal ids: 4-5x faster than
    np.add.at(out, ids, rows) here, with or without BLAS (0.16 vs 0.86 ms at N=768, C=128).
    """
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out = np.zeros(shape, dtype=rows.dtype)
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


class NumpyGPT:
    """The floor network: parameters in a dict, `loss_and_grads(idx, targets)` does the rest.

    idx, targets: int arrays (B, T). Dropout is not modelled (benchmarks run with p = 0).
    """

    def __init__(self, config: FloorConfig, params: dict = None, seed: int = 0, dtype=np.float32, blas=None):
        self.config = config
        self.params = params if params is not None else init_params(config, seed, dtype)
        self.k = Kernels(default_blas() if blas is None else blas)
        T = config.block_size
        # Additive causal mask: 0 on and below the diagonal, -inf above (one broadcast add).
        self._mask = np.triu(np.full((T, T), -np.inf, dtype=self.params["wte"].dtype), k=1)

    def loss_and_grads(self, idx, targets):
        """Forward + backward. Returns (loss: float, grads: dict of arrays shaped like params)."""
        cfg, P, k = self.config, self.params, self.k
        B, T = idx.shape
        C, H = cfg.n_embd, cfg.n_head
        d = C // H
        N = B * T
        scale = 1.0 / float(np.sqrt(d))
        mask = self._mask[:T, :T]
        ids = idx.reshape(-1)

        # ---- forward, keeping what the backward needs
        x = (P["wte"][idx] + P["wpe"][:T]).reshape(N, C)
        caches = []
        for layer in range(cfg.n_layer):
            p = f"h{layer}."
            h1, ln1 = _layer_norm(x, P[p + "ln1.w"], P[p + "ln1.b"])
            qkv = _linear(k, h1, P[p + "qkv.w"], P[p + "qkv.b"])
            # (N, 3C) -> q, k, v each (B, H, T, d). One contiguous copy: einsum (no BLAS) is ~2x
            # slower on the strided views, and with BLAS the copy costs next to nothing.
            q, kk, v = np.ascontiguousarray(qkv.reshape(B, T, 3, H, d).transpose(2, 0, 3, 1, 4))
            att = k.bmm_nt(q, kk)
            att *= scale
            att += mask
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            y = k.bmm(att, v).transpose(0, 2, 1, 3).reshape(N, C)
            x = x + _linear(k, y, P[p + "proj.w"], P[p + "proj.b"])
            h2, ln2 = _layer_norm(x, P[p + "ln2.w"], P[p + "ln2.b"])
            a = _linear(k, h2, P[p + "fc.w"], P[p + "fc.b"])
            g, s = _gelu(a)
            x = x + _linear(k, g, P[p + "fc2.w"], P[p + "fc2.b"])
            caches.append((h1, ln1, q, kk, v, att, y, h2, ln2, a, g, s))
        xf, lnf = _layer_norm(x, P["lnf.w"], P["lnf.b"])
        logits = k.mm(xf, P["head.w"])  # (N, V)

        # ---- fused, stable softmax cross-entropy
        rows = np.arange(N)
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        tgt = targets.reshape(-1)
        loss = float(np.mean(np.log(s[:, 0]) - shifted[rows, tgt]))

        # ---- backward
        G = {}
        dlogits = e / s
        dlogits[rows, tgt] -= 1.0
        dlogits *= 1.0 / N
        G["head.w"] = k.mm_tn(xf, dlogits)
        dx, G["lnf.w"], G["lnf.b"] = _layer_norm_backward(k.mm_nt(dlogits, P["head.w"]), P["lnf.w"], lnf)
        for layer in reversed(range(cfg.n_layer)):
            p = f"h{layer}."
            h1, ln1, q, kk, v, att, y, h2, ln2, a, g, s = caches[layer]
            # MLP: x = x + fc2(gelu(fc(ln2(x))))
            G[p + "fc2.w"] = k.mm_tn(g, dx)
            G[p + "fc2.b"] = dx.sum(axis=0)
            da = _gelu_backward(k.mm_nt(dx, P[p + "fc2.w"]), a, s)
            G[p + "fc.w"] = k.mm_tn(h2, da)
            G[p + "fc.b"] = da.sum(axis=0)
            dh2, G[p + "ln2.w"], G[p + "ln2.b"] = _layer_norm_backward(k.mm_nt(da, P[p + "fc.w"]), P[p + "ln2.w"], ln2)
            dx = dx + dh2
            # attention: x = x + proj(attn(qkv(ln1(x))))
            G[p + "proj.w"] = k.mm_tn(y, dx)
            G[p + "proj.b"] = dx.sum(axis=0)
            dy = k.mm_nt(dx, P[p + "proj.w"]).reshape(B, T, H, d).transpose(0, 2, 1, 3)
            datt = k.bmm_nt(dy, v)
            dv = k.bmm_tn(att, dy)
            ds = att * (datt - (datt * att).sum(axis=-1, keepdims=True))
            ds *= scale
            dq = k.bmm(ds, kk)
            dk = k.bmm_tn(ds, q)
            dqkv = np.stack((dq, dk, dv), axis=2)  # (B, H, 3, T, d)
            dqkv = dqkv.transpose(0, 3, 2, 1, 4).reshape(N, 3 * C)
            G[p + "qkv.w"] = k.mm_tn(h1, dqkv)
            G[p + "qkv.b"] = dqkv.sum(axis=0)
            dh1, G[p + "ln1.w"], G[p + "ln1.b"] = _layer_norm_backward(
                k.mm_nt(dqkv, P[p + "qkv.w"]), P[p + "ln1.w"], ln1
            )
            dx = dx + dh1
        # embeddings: scatter-add token rows, sum over the batch for positions
        G["wte"] = _scatter_add_rows(ids, dx, P["wte"].shape)
        G["wpe"] = np.zeros_like(P["wpe"])
        G["wpe"][:T] = dx.reshape(B, T, C).sum(axis=0)
        return loss, G

    def loss(self, idx, targets) -> float:
        """Forward only (used by finite-difference checks)."""
        return self.loss_and_grads(idx, targets)[0]


class AdamW:
    """Decoupled weight decay Adam (Loshchilov & Hutter), in place on the floor's arrays.

    Same update as torch.optim.AdamW / tinytorch.optim.AdamW, applied to every parameter:
        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
        p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) + lr * wd * p
    """

    def __init__(self, params: dict, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        self.params, self.lr, self.betas, self.eps, self.wd = params, lr, betas, eps, weight_decay
        self.m = {n: np.zeros_like(p) for n, p in params.items()}
        self.v = {n: np.zeros_like(p) for n, p in params.items()}
        self.t = 0

    def step(self, grads: dict) -> None:
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        step_size = self.lr / bc1
        for name, p in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p *= 1 - self.lr * self.wd
            p -= step_size * m / (np.sqrt(v / bc2) + self.eps)


def train_step(model: NumpyGPT, optimizer: AdamW, idx, targets) -> float:
    """One floor training step: forward, backward, AdamW. Returns the loss before the update."""
    loss, grads = model.loss_and_grads(idx, targets)
    optimizer.step(grads)
    return loss


if __name__ == "__main__":  # a quick smoke run: python benchmarks/numpy_floor.py
    import time

    cfg = FloorConfig()
    model = NumpyGPT(cfg)
    opt = AdamW(model.params)
    rng = np.random.default_rng(0)
    x = rng.integers(0, cfg.vocab_size, (12, cfg.block_size), dtype=np.int64)
    y = rng.integers(0, cfg.vocab_size, (12, cfg.block_size), dtype=np.int64)
    for i in range(6):
        t0 = time.perf_counter()
        loss = train_step(model, opt, x, y)
        print(f"step {i}: loss {loss:.4f}  {1e3 * (time.perf_counter() - t0):.1f} ms  (blas={model.k.blas})")
