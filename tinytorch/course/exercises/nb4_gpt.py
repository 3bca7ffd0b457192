"""Notebook 4 · Train TinyGPT: the forward pass, cross-entropy, one training step, sampling."""

import functools

import numpy as np

from .registry import register
from .verdicts import (
    backward_with,
    check_shape,
    check_true,
    compare,
    compare_gradients,
    compare_module_gradients,
    delegated,
    float64,
    load_same_weights,
    needs_tensor,
    np_softmax,
    randomize,
    refuse_library,
    tensor64,
    tripwire,
)


def _small_config():
    from ...models import TinyGPTConfig

    return TinyGPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _small_gpt(seed=0):
    from ... import manual_seed
    from ...models import TinyGPT

    manual_seed(seed)
    return TinyGPT(_small_config())


# --------------------------------------------------------------------------- 4.1 MyGPT.forward

HINTS_GPT = [
    "What does the model need besides the token ids to tell 'ab' from 'ba'? And what runs after the blocks?",
    "Each token's vector says which character it is and where it stands; the stack of blocks refines those "
    "vectors in order; a last normalisation and the head turn each into one score per vocabulary entry.",
]

_GF = "class MyGPT(MyGPT):\n    def forward(self, idx):\n        idx = np.asarray(idx); T = idx.shape[1]\n"
WRONG_GPT = [
    (
        _GF + "        x = self.token_embedding(idx)\n"
        "        for block in self.blocks: x = block(x)\n        return self.lm_head(self.ln_f(x))",
        "position embeddings are missing",
    ),
    (
        _GF + "        x = self.token_embedding(idx) + self.position_embedding.weight[:T]\n"
        "        for block in self.blocks: x = block(x)\n        return self.lm_head(x)",
        "ln_f",
    ),
    (
        _GF + "        x = self.token_embedding(idx) + self.position_embedding.weight[:T]\n"
        "        x = self.blocks[-1](x)\n        return self.lm_head(self.ln_f(x))",
        "only the last block",
    ),
    (
        _GF + "        x = self.token_embedding(idx) + self.position_embedding.weight\n"
        "        for block in self.blocks: x = block(x)\n        return self.lm_head(self.ln_f(x))",
        "broadcast",
    ),
    (
        _GF + "        x = self.token_embedding(idx) + self.position_embedding(idx)\n"
        "        for block in self.blocks: x = block(x)\n        return self.lm_head(self.ln_f(x))",
        "token ids",
    ),
    (
        _GF + "        x = self.token_embedding(idx) + self.position_embedding.weight[:T]\n"
        "        for block in reversed(list(self.blocks)): x = block(x)\n        return self.lm_head(self.ln_f(x))",
        "order",
    ),
    (_GF + "        return TinyGPT.forward(self, idx)", "library"),
]


def _library_gpt():
    from ..your_gpt import YourGPT

    class LibraryGPT(YourGPT):
        """The library's forward (TinyGPT's), behind the course's generation and attention views."""

        def forward(self, idx):
            from ...models import TinyGPT

            return TinyGPT.forward(self, idx)

    return LibraryGPT


@register("4.1", "MyGPT.forward", HINTS_GPT, WRONG_GPT, library=_library_gpt)
def check_gpt(MyGPT):
    from ...models import TinyGPT
    from ...tensor import no_grad

    reference = _small_gpt()
    randomize(reference, 41, scale=0.4)  # every piece distinct: ln_f is not the identity, blocks differ
    mine = MyGPT(reference.config)
    load_same_weights(mine, reference, "MyGPT")
    # T = 6 < block_size 8; ids below 8 so that even indexing the position table by them runs (and is named)
    idx = np.random.default_rng(41).integers(0, 8, size=(3, 6)).astype(np.int64)
    with tripwire({"TinyGPT.forward": (TinyGPT, "forward"), "TinyGPT._hidden": (TinyGPT, "_hidden")}) as called:
        logits = mine(idx)
    delegated(called, "forward")
    if isinstance(logits, tuple):
        raise AssertionError("forward returned a tuple: return the logits only (the loss is computed outside)")
    needs_tensor(logits, "forward")
    check_shape(logits, (3, 6, 11), "the logits (B, T, vocab_size)")
    r = reference
    with no_grad():
        tok = r.token_embedding(idx)
        pos = r.position_embedding.weight[:6]

        def through(x, blocks=None, final_ln=True):
            for block in r.blocks if blocks is None else blocks:
                x = block(x)
            return r.lm_head(r.ln_f(x) if final_ln else x).data

        mistakes = [
            (
                through(tok),
                "the position embeddings are missing: add position_embedding.weight[:T] to the token "
                "embeddings, or attention cannot tell the order of the tokens",
            ),
            (through(tok + pos, final_ln=False), "the final LayerNorm (ln_f) is missing before the head"),
            (through(tok + pos, blocks=[r.blocks[-1]]), "only the last block is applied: run every block, in order"),
            (
                through(tok + r.position_embedding(idx)),
                "the position embedding is indexed by the token ids: a "
                "token's position is 0 … T-1, whatever character it is",
            ),
            (through(tok + pos, blocks=list(r.blocks)[::-1]), "the blocks run in the wrong order: blocks[0] first"),
            (
                through(tok + r.position_embedding.weight[-6:]),
                "the LAST T position vectors are used: a sequence of T tokens sits at positions 0 … T-1 (weight[:T])",
            ),
        ]
        want = r(idx)
    compare(logits, want, "the logits (compared with tinytorch.models.TinyGPT)", mistakes, atol=1e-4)
    ref_logits = reference(idx)
    compare_module_gradients(logits, ref_logits, mine, reference, "MyGPT", seed=4)
    full = np.random.default_rng(42).integers(0, 11, size=(2, 8)).astype(np.int64)  # T = block_size
    with no_grad():
        compare(mine(full), reference(full), "the logits for a full context of block_size tokens", atol=1e-4)


# --------------------------------------------------------------------------- 4.2 cross_entropy

HINTS_XENT = [
    "Try your loss on logits around 1000. What does exp do there, and what constant can you take out "
    "of a log-sum-exp without changing it?",
    "Per position the loss is the log of the sum of exponentials minus the target's logit; the trick makes "
    "every exponent at most 0, and only that shift may be a constant: the rest must stay in the graph.",
]

_XF = (
    "def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
    "    t = np.asarray(targets).reshape(-1); m = tt.Tensor(z.data.max(axis=-1, keepdims=True), dtype=z.dtype)\n"
)
WRONG_XENT = [
    (
        "def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
        "    t = np.asarray(targets).reshape(-1)\n"
        "    return (z.exp().sum(axis=-1).log() - z[np.arange(len(t)), t]).mean()",
        "log-sum-exp",
    ),
    (
        _XF + "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
        "    return (lse - z[np.arange(len(t)), t]).sum()",
        "sum over",
    ),
    (
        _XF + "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
        "    return (z[np.arange(len(t)), t] - lse).mean()",
        "negative",
    ),
    (
        _XF + "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
        "    return (lse - z[np.arange(len(t)), (t + 1) % V]).mean()",
        "shifted by one class",
    ),
    (
        _XF + "    lse = tt.Tensor(np.log(np.exp(z.data - m.data).sum(axis=-1)) + m.data[:, 0], dtype=z.dtype)\n"
        "    return (lse - z[np.arange(len(t)), t]).mean()",
        "gradient of",
    ),
    ("def cross_entropy(logits, targets):\n    return tt.nn.functional.cross_entropy(logits, targets)", "library"),
    (
        _XF + "    lse = (z - m).exp().sum(axis=-1).log()\n    return (lse - z[np.arange(len(t)), t]).mean()",
        "added back",
    ),
]


def _np_cross_entropy(z, t):
    z = z.reshape(-1, z.shape[-1])
    t = np.asarray(t).reshape(-1)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return float((lse - z[np.arange(len(t)), t]).mean())


def _library_cross_entropy():
    from ...nn import functional as F

    return F.cross_entropy


@register("4.2", "cross_entropy", HINTS_XENT, WRONG_XENT, library=_library_cross_entropy)
def check_cross_entropy(cross_entropy):
    from ...nn import functional as F

    rng = np.random.default_rng(42)
    B, T, V = 3, 4, 7
    z = rng.standard_normal((B, T, V)) * 3
    t = rng.integers(0, V, size=(B, T))
    logits = tensor64(z)
    with float64(), tripwire({"F.cross_entropy": (F, "cross_entropy")}) as called:
        loss = cross_entropy(logits, t)
    delegated(called, "cross_entropy")
    needs_tensor(loss, "cross_entropy")
    refuse_library(
        loss,
        {
            "cross_entropy": "tinytorch's fused cross_entropy",
            "log_softmax": "Tensor.log_softmax (it does the log-sum-exp for you)",
        },
    )
    check_true(np.asarray(loss.data).size == 1, f"the loss must be one number, got shape {loss.shape}: take the mean")
    flat, tf = z.reshape(-1, V), t.reshape(-1)
    p = np_softmax(flat, -1)
    n = B * T
    m = flat.max(-1)
    want = _np_cross_entropy(z, t)
    compare(
        loss,
        want,
        f"cross_entropy of ({B}, {T}, {V}) logits",
        [
            (-want, "the loss is negative: it is -log p(target), the log-sum-exp MINUS the target's logit"),
            (want * n, f"that is the sum over the {n} positions: take the mean"),
            (want * T, "that is summed over time and averaged over the batch: average over all positions"),
            (float(-np.log(p[np.arange(n), (tf + 1) % V]).mean()), "the targets are shifted by one class"),
            (want - m.mean(), "the shift m is taken out but not added back: log Σ e^z = m + log Σ e^(z - m)"),
        ],
    )
    check_true(loss.requires_grad, "the loss is not connected to the logits: use Tensor operations")
    backward_with(loss)
    weight = float(np.random.default_rng(0).standard_normal(()))
    onehot = np.eye(V)[tf]
    compare_gradients(
        {"logits": logits.grad}, {"logits": weight * ((p - onehot) / n).reshape(B, T, V)}, "cross_entropy"
    )
    big = tensor64([[1000.0, 0.0, -1000.0], [0.0, 2000.0, 0.0]])
    with float64():
        loss_big = cross_entropy(big, np.array([0, 2]))
    value = float(np.asarray(loss_big.data))
    check_true(
        np.isfinite(value),
        f"cross_entropy of logits around ±1000 gave {value}: exp(1000) overflows. "
        "Use the log-sum-exp trick: log Σ e^z = m + log Σ e^(z - m) with m the row's max",
    )
    compare(value, 1000.0, "cross_entropy([[1000, 0, -1000], [0, 2000, 0]], [0, 2]) (losses 0 and 2000)")


# --------------------------------------------------------------------------- 4.3 training_step

HINTS_STEP = [
    "What is still stored in .grad from the previous step, and when must the clip happen?",
    "The optimizer owns the update (it keeps its own state between steps); it must see this batch's "
    "gradient alone, already limited in size; the returned number describes the weights before the update.",
]

_SF = "def training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):\n"
WRONG_STEP = [
    (
        _SF + "    loss = loss_fn(model(x), y)\n    loss.backward()\n"
        "    tt.optim.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n    return loss.item()",
        "pile up",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
        "    return loss.item()",
        "not clipped",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    optimizer.step()\n    loss.backward()\n"
        "    return loss.item()",
        "before loss.backward()",
    ),
    (
        "_ts = training_step\n" + _SF + "    _ts(model, loss_fn, optimizer, x, y, max_norm)\n"
        "    return loss_fn(model(x), y)",
        "Python float",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    loss.backward()\n"
        "    tt.optim.clip_grad_norm_(model.parameters(), max_norm)\n"
        "    for p in model.parameters(): p.data = p.data - 0.05 * p.grad\n    return loss.item()",
        "bypass",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = tt.nn.functional.cross_entropy(model(x), y)\n    loss.backward()\n"
        "    tt.optim.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n    return loss.item()",
        "loss_fn",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    loss.backward()\n"
        "    for p in model.parameters(): tt.optim.clip_grad_norm_([p], max_norm)\n    optimizer.step()\n"
        "    return loss.item()",
        "separately",
    ),
    (
        _SF + "    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    loss.backward()\n"
        "    tt.optim.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n"
        "    return loss_fn(model(x), y).item()",
        "after the update",
    ),
]


def _library_training_step(model, loss_fn, optimizer, x, y, max_norm=1.0, zero=True, clip="global"):
    from ...optim import clip_grad_norm_

    if zero:
        optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    if clip == "global":
        clip_grad_norm_(model.parameters(), max_norm)
    elif clip == "each":
        for p in model.parameters():
            clip_grad_norm_([p], max_norm)
    optimizer.step()
    return loss.item()


def _spy_optimizer(params):
    """SGD with momentum (it keeps state, as AdamW does) that records what it saw at every step."""
    from ...optim import SGD

    class SpyOptimizer(SGD):
        def __init__(self, params):
            super().__init__(params, lr=0.05, momentum=0.9)
            self.params, self.log = list(params), []

        def zero_grad(self):
            self.log.append(("zero_grad", None))
            super().zero_grad()

        def step(self):
            self.log.append(("step", [None if p.grad is None else np.array(p.grad) for p in self.params]))
            super().step()

    return SpyOptimizer(params)


def _run_steps(step_fn, batches, max_norm):
    """A fresh small GPT trained by `step_fn` on `batches`: (model, returned values, optimizer log per call,
    loss_fn calls per call)."""
    from ...nn.functional import cross_entropy

    model = _small_gpt()
    opt = _spy_optimizer(model.parameters())
    calls = []

    def loss_fn(logits, targets):
        calls.append(1)
        return cross_entropy(logits, targets)

    from ...tensor import no_grad

    returned, logs, losses_used, after = [], [], [], []
    for x, y in batches:
        start, n_calls = len(opt.log), len(calls)
        returned.append(step_fn(model, loss_fn, opt, x, y, max_norm=max_norm))
        logs.append(opt.log[start:])
        losses_used.append(len(calls) - n_calls)
        with no_grad():
            after.append(float(cross_entropy(model(x), y).item()))
    return model, returned, logs, losses_used, after


def _step_grads(log):
    return [grads for event, grads in log if event == "step"]


def _same_grads(a, b):
    return all(
        (g is None) == (h is None) and (g is None or np.allclose(g, h, atol=1e-7, rtol=1e-4)) for g, h in zip(a, b)
    )


@register("4.3", "training_step", HINTS_STEP, WRONG_STEP, library=lambda: _library_training_step)
def check_training_step(training_step):
    rng = np.random.default_rng(43)
    batches = []
    for _ in range(3):
        x = rng.integers(0, 11, size=(3, 8)).astype(np.int64)
        batches.append((x, np.roll(x, -1, axis=1)))
    max_norm = 0.05  # well below the gradient's norm at the start: the clip matters
    mine, returned, logs, loss_calls, _ = _run_steps(training_step, batches, max_norm)
    _, want_returned, want_logs, _, want_after = _run_steps(_library_training_step, batches, max_norm)
    check_true(
        all(isinstance(v, float) for v in returned),
        f"training_step must return a Python float (loss.item()), got {type(returned[0]).__name__}",
    )
    if any(n == 0 for n in loss_calls):
        raise AssertionError(
            "loss_fn was not called: score the model's logits with the loss_fn argument (the trainer "
            "passes yours, or the library's)"
        )
    steps = [_step_grads(log) for log in logs]
    if any(len(s) == 0 for s in steps):
        changed = not all(np.array_equal(p.data, q.data) for p, q in zip(mine.parameters(), _small_gpt().parameters()))
        if changed:
            raise AssertionError(
                "the weights changed but optimizer.step() was never called: the update must go "
                "through the optimizer (you bypassed it; it keeps state such as momentum or Adam's "
                "averages, and the learning-rate schedule sets its lr)"
            )
        raise AssertionError("the weights never changed: call loss.backward(), then optimizer.step()")
    if any(len(s) > 1 for s in steps):
        raise AssertionError(f"optimizer.step() ran {max(len(s) for s in steps)} times in one training step: once")
    seen = [s[0] for s in steps]
    if all(g is None for g in seen[0]):
        raise AssertionError("optimizer.step() ran before loss.backward(): the gradients were not there yet")
    want = [_step_grads(log)[0] for log in want_logs]
    if not all(_same_grads(a, b) for a, b in zip(seen, want)):
        variants = [
            (dict(zero=False), "the gradients pile up from step to step: clear them first (optimizer.zero_grad())"),
            (
                dict(clip=None),
                "the gradient is not clipped before the update: clip its global norm to max_norm "
                "(tt.optim.clip_grad_norm_) after backward, before optimizer.step()",
            ),
            (
                dict(clip="each"),
                "each parameter's gradient is clipped separately: clip the GLOBAL norm over all "
                "parameters at once, so the update keeps its direction",
            ),
        ]
        for kwargs, message in variants:
            variant = functools.partial(_library_training_step, **kwargs)
            _, _, logs_v, _, _ = _run_steps(variant, batches, max_norm)
            if all(_same_grads(a, _step_grads(b)[0]) for a, b in zip(seen, logs_v)):
                raise AssertionError(message)
        norms = [
            float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads if g is not None)))
            for grads in seen
        ]
        if max(norms) > max_norm * 1.01:
            raise AssertionError(
                f"the gradient's global norm at the update was {max(norms):.3g}, but max_norm is "
                f"{max_norm}: clip to the max_norm you are given"
            )
        raise AssertionError(
            "the gradients the optimizer saw differ from this batch's clipped gradient: zero the old "
            "gradients, forward, loss, backward, clip, step"
        )
    if not np.allclose(returned, want_returned, atol=1e-5):
        if np.allclose(returned, want_after, atol=1e-5):
            raise AssertionError(
                "training_step returns the loss after the update: return the loss of the forward "
                "pass that produced the gradients"
            )
        raise AssertionError(
            f"training_step returned {np.round(returned, 4).tolist()}, expected the losses "
            f"{np.round(want_returned, 4).tolist()} of the batches before each update"
        )


# --------------------------------------------------------------------------- 4.4 sample_next

HINTS_SAMPLE = [
    "Temperature first or top-k first? What does a logit of -inf become after the softmax?",
    "Temperature reshapes the distribution before it becomes probabilities; top-k removes every candidate "
    "outside the k best; the given generator makes the one random choice, so that a seed reproduces it.",
]

_SM = (
    "def sample_next(logits, temperature=1.0, top_k=None, rng=None):\n    rng = rng or np.random.default_rng()\n"
    "    if temperature == 0: return int(np.argmax(logits))\n"
)
_DRAW = "    p = np.exp(z - z.max()); return int(rng.choice(len(z), p=p / p.sum()))"
WRONG_SAMPLE = [
    (
        _SM
        + "    z = np.asarray(logits, float)\n    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n"
        + _DRAW,
        "temperature has no effect",
    ),
    (
        _SM + "    z = np.asarray(logits, float) * temperature\n"
        "    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n" + _DRAW,
        "DIVIDE",
    ),
    (
        _SM + "    z = np.asarray(logits, float) / temperature\n"
        "    if top_k: z = np.where(z < np.sort(z)[-top_k - 1], -np.inf, z)\n" + _DRAW,
        "top_k=3",
    ),
    (
        _SM + "    z = np.asarray(logits, float) / temperature\n"
        "    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n"
        "    p = np.exp(z - z.max()); return int(np.random.default_rng().choice(len(z), p=p / p.sum()))",
        "ignores the rng",
    ),
    (
        _SM + "    z = np.asarray(logits, float) / temperature\n"
        "    if top_k: z = np.where(z > np.sort(z)[top_k - 1], -np.inf, z)\n" + _DRAW,
        "top_k=3",
    ),
    (
        "def sample_next(logits, temperature=1.0, top_k=None, rng=None):\n"
        "    from tinytorch.models.generation import sample_next as s\n"
        "    return int(s(np.asarray(logits)[None, :], temperature, top_k, rng)[0])",
        "library",
    ),
    (
        _SM + "    z = np.asarray(logits, float) / temperature\n"
        "    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n"
        "    return np.int64(rng.choice(len(z), p=np.exp(z - z.max()) / np.exp(z - z.max()).sum()))",
        "Python int",
    ),
]


def _probs(logits, temperature=1.0, top_k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None:
        z = np.where(z < np.sort(z)[-top_k], -np.inf, z)
    return np_softmax(z)


def _library_sample_next(logits, temperature=1.0, top_k=None, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if temperature == 0:
        return int(np.argmax(logits))
    p = _probs(logits, temperature, top_k)
    return int(rng.choice(len(p), p=p))


@register("4.4", "sample_next", HINTS_SAMPLE, WRONG_SAMPLE, library=lambda: _library_sample_next)
def check_sample(sample_next):
    from ...models import generation

    logits = np.array([1.0, 2.6, 2.0, -1.0, 0.4, 2.3, -0.5])  # V = 7, every logit distinct
    V = len(logits)
    with tripwire({"tinytorch.models.generation.sample_next": (generation, "sample_next")}) as called:
        greedy = sample_next(logits, temperature=0)
    delegated(called, "sample_next")
    check_true(
        isinstance(greedy, int) and not isinstance(greedy, bool),
        f"sample_next must return a Python int (int(...)), got {type(greedy).__name__}",
    )
    check_true(greedy == 1, f"sample_next at temperature 0 returned {greedy}: the most likely id is 1")
    first = sample_next(logits, rng=np.random.default_rng(0))
    check_true(type(first) is int, f"sample_next must return a Python int (int(...)), got {type(first).__name__}")
    seeded = [[sample_next(logits, rng=np.random.default_rng(s)) for s in range(30)] for _ in range(2)]
    if seeded[0] != seeded[1] or len(set(seeded[0])) == 1:
        raise AssertionError(
            "sample_next ignores the rng it is given: two generators with the same seed must give "
            "the same draws (and different seeds different ones). Draw with rng, e.g. "
            "rng.choice(V, p=probs)"
        )

    def shares(n=3000, **kwargs):
        g = np.random.default_rng(7)
        try:
            draws = np.array([sample_next(logits, rng=g, **kwargs) for _ in range(n)])
        except ValueError as error:
            if "sum to 1" in str(error):
                raise AssertionError(
                    f"with {kwargs} the probabilities given to the generator do not sum to 1 "
                    f"({error}): hide candidates before the softmax (logits to -inf), or "
                    "renormalise after hiding them"
                ) from None
            raise
        return np.bincount(draws, minlength=V)[:V] / n

    def close(got, p, n=3000):
        return np.all(np.abs(got - p) <= 4.5 * np.sqrt(p * (1 - p) / n) + 0.005)

    for kwargs in ({"top_k": 3}, {"temperature": 2.5}, {"temperature": 0.5, "top_k": 5}, {}):
        got, p = shares(**kwargs), _probs(logits, **kwargs)
        if close(got, p):
            continue
        what = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "the default settings"
        if "top_k" in kwargs:
            kept = sorted(int(i) for i in np.flatnonzero(got))
            allowed = sorted(int(i) for i in np.flatnonzero(p))
            if kept != allowed:
                raise AssertionError(
                    f"with top_k={kwargs['top_k']} ids {kept} were drawn: only the "
                    f"{kwargs['top_k']} largest logits (ids {allowed}) may be"
                )
        t = kwargs.get("temperature", 1.0)
        if t != 1.0 and close(got, _probs(logits, 1.0, kwargs.get("top_k"))):
            raise AssertionError("temperature has no effect: divide the logits by it before the softmax")
        if t != 1.0 and close(got, _probs(logits * t * t, t, kwargs.get("top_k"))):
            raise AssertionError(
                f"temperature {t} works the wrong way: DIVIDE the logits by the temperature "
                "(a high temperature flattens the distribution)"
            )
        raise AssertionError(
            f"with {what} the ids were drawn with shares {np.round(got, 3).tolist()}, expected about "
            f"{np.round(p, 3).tolist()}"
        )


# --------------------------------------------------------------------------- 4.5 diagnose the mystery models

HINTS_DIAGNOSE = [
    "Which symptom would each bug leave: in the loss (compared with the ladder), in the attention maps, in the "
    "gradient norms of the embeddings?",
    "A model that can see the answer scores better than any honest model could; a piece that is never used or "
    "never updated shows up as a gradient of exactly 0; a model blind to order cannot tell 'ab' from 'ba'.",
]

_DG = "def diagnose():\n    return "
WRONG_DIAGNOSE = [
    (_DG + "{'A': 'future', 'B': 'future', 'C': 'future'}", "future"),
    (_DG + "{'A': 'positions', 'B': 'future', 'C': 'frozen'}", "gradient norm"),
    (_DG + "{'A': 'frozen', 'B': 'future'}", "missing"),
    (_DG + "{'A': 'frozen', 'B': 'leak', 'C': 'positions'}", "one of"),
    (_DG + "{'A': 'future', 'B': 'frozen', 'C': 'positions'}", "ladder"),
]

_NOT_THIS = {
    "future": "cannot see the future: its loss stays in the range of the ladder. A model that sees the character it "
    "must predict scores far below any honest model, and its attention maps put weight above the diagonal",
    "positions": "does use its positions: the gradient norm of its position_embedding is not 0. Look for the model "
    "whose position table gets no gradient at all (it is never used)",
    "frozen": "does train its token embedding: the gradient norm of its token_embedding is not 0. Look for the model "
    "whose token embedding gets no gradient at all (the path back to it is cut)",
}


@register("4.5", "diagnose the mystery models", HINTS_DIAGNOSE, WRONG_DIAGNOSE)
def check_diagnosis(diagnose):
    from ..experiments import BUGS, mystery_models

    diagnosis = diagnose()
    check_true(
        isinstance(diagnosis, dict),
        f"diagnosis must be a dict like {{'A': ..., 'B': ..., 'C': ...}}, got {type(diagnosis).__name__}",
    )
    missing = sorted(set("ABC") - set(diagnosis))
    check_true(not missing, f"the diagnosis is missing model(s) {missing}: name the bug of each of A, B and C")
    for label in "ABC":
        check_true(diagnosis[label] in BUGS, f"diagnosis[{label!r}] is {diagnosis[label]!r}: use one of {BUGS}")
    actual = {label: model.bug for label, model in mystery_models(_small_config()).items()}
    wrong = [label for label in "ABC" if diagnosis[label] != actual[label]]
    if wrong:
        label = wrong[0]
        raise AssertionError(
            f"model {label} is not {diagnosis[label]!r}: it {_NOT_THIS[diagnosis[label]]} (each bug "
            "is planted in exactly one model)"
        )
