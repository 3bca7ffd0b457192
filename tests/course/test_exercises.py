"""Every exercise's check (tinytorch.course.exercises) against the student stub, the reference
solution from content/, and recorded WRONG solutions: the usual bugs for that piece. The stub
fails with "not implemented yet" and a pointer to the hints, the reference passes, and each wrong
solution fails with a message that names its bug. Hints never give away a line of a solution.

The namespaces are built the way a student's kernel is: the notebook's exercise cells run in
order (the instructor version, or the student stub for the exercise under test), so a check sees
exactly the objects a test cell would."""

import json
import re

import numpy as np
import pytest

import tinytorch as tt
from _runner import CONTENT
from coursetools.notebooks import build_notebook, replace_solution_regions
from tinytorch.course.exercises import EXERCISES, ExerciseFailed, check, use
from tinytorch.course.hints import HINTS, hint

CHECK_CALL = re.compile(r'check\("([0-9.]+)", ([^)]*)\)')


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _exercises():
    """[(exercise_id, notebook, exercise cell index, answer names)] from the content notebooks."""
    found = []
    for path in sorted(CONTENT.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                match = CHECK_CALL.search(_source(cells[index + 1]))
                assert match, f"{path.name} cell {index + 1}: a test cell must call check(\"<id>\", ...)"
                found.append((match.group(1), path, index, [n.strip() for n in match.group(2).split(",")]))
    return found


EXERCISE_LIST = _exercises()
IDS = [e[0] for e in EXERCISE_LIST]


def _base_namespace():
    from tinytorch.models import TinyGPT
    from tinytorch.nn import Linear, Module

    return {"np": np, "tt": tt, "Module": Module, "Linear": Linear, "TinyGPT": TinyGPT}


def _namespace(path, upto, stub=False):
    """Run the notebook's exercise cells up to and including cell `upto` (the reference
    solutions; with stub=True the last one is the student stub)."""
    notebook = json.loads(path.read_text())
    ns = _base_namespace()
    for index, cell in enumerate(notebook["cells"][: upto + 1]):
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            source = _source(cell)
            if stub and index == upto:
                source, _ = replace_solution_regions(source, "# YOUR CODE HERE\nraise NotImplementedError()")
            exec(compile(source, f"{path.name} cell {index}", "exec"), ns)
    return ns


def _answers(exercise_id, ns):
    names = next(e[3] for e in EXERCISE_LIST if e[0] == exercise_id)
    return [ns[name] for name in names]


def _entry(exercise_id):
    return next(e for e in EXERCISE_LIST if e[0] == exercise_id)


def test_every_registered_exercise_is_in_a_notebook_and_has_hints():
    assert sorted(IDS) == sorted(EXERCISES), "content/ and tinytorch.course.exercises list different exercises"
    assert sorted(HINTS) == sorted(EXERCISES)
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes(exercise_id, capsys):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index)
    check(exercise_id, *_answers(exercise_id, ns))
    assert f"✓ Exercise {exercise_id}" in capsys.readouterr().out


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_fails_with_a_pointer_to_the_hints(exercise_id):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index, stub=True)
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, *_answers(exercise_id, ns))
    message = str(info.value)
    assert "not implemented yet" in message and f'hint("{exercise_id}")' in message, message


# Each wrong solution: source that redefines the student's answer (run after the reference
# cells, so a class can subclass the reference and override forward), and a fragment the
# failure message must contain: the bug, named.
WRONG = {
    "0.1": [
        ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).sum()", "sum of the squares"),
        ("def mean_squared_error(pred, target):\n    d = pred.data - target.data\n    return tt.Tensor((d * d).mean())",
         "not connected to pred"),
        ("def mean_squared_error(pred, target):\n    d = pred - target\n    return (d * d).mean() * 2", "2x2 example"),
    ],
    "1.1": [
        ("def build_vocab(text):\n    itos = list(dict.fromkeys(text))\n    return {c: i for i, c in enumerate(itos)}, itos",
         "not sorted"),
        ("def build_vocab(text):\n    itos = sorted(set(text))\n    return {c: i + 1 for i, c in enumerate(itos)}, itos",
         "ids start at 0"),
        ("def build_vocab(text):\n    itos = sorted(text)\n    return {c: i for i, c in enumerate(itos)}, itos",
         "exactly once"),
    ],
    "1.2": [
        ("_enc = encode\ndef encode(s, stoi):\n    return _enc(s, stoi).astype(np.int32)", "int64"),
        ("def encode(s, stoi):\n    return np.array([stoi[c] for c in s], dtype=np.int64)", "KeyError"),
        ("def decode(ids, itos):\n    return [itos[i] for i in ids]", "must return a str"),
    ],
    "1.3": [
        ("def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts])\n    return x, x.copy()",
         "y equals x"),
        ("def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts])\n"
         "    y = np.stack([data[s + 2:s + T + 2] for s in starts])\n    return x, y", "shifted by two"),
        ("def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T + 1] for s in starts])\n"
         "    y = np.stack([data[s + 1:s + T + 1] for s in starts])\n    return x, y", "x.shape"),
    ],
    "1.4": [
        ("_bp = bigram_probabilities\ndef bigram_probabilities(ids, V, smoothing=1.0):\n"
         "    c = np.zeros((V, V)); np.add.at(c, (ids[:-1], ids[1:]), 1.0); c += smoothing\n"
         "    return c / c.sum(axis=0, keepdims=True)", "COLUMN"),
        ("def average_nll(probs, x, y):\n    return float(np.log(probs[x, y]).mean())", "sign is wrong"),
        ("def bigram_probabilities(ids, V, smoothing=1.0):\n"
         "    c = np.zeros((V, V)); np.add.at(c, (ids[:-1], ids[1:]), 1.0)\n"
         "    return c / c.sum(axis=1, keepdims=True)", "smoothing is ignored"),
        ("def average_nll(probs, x, y):\n    return float(-np.log(probs[y, x]).mean())", "the row is the current token"),
    ],
    "2.1": [
        ("def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=axis))\n    return e / np.sum(e, axis=axis)",
         "keepdims"),
        ("def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x))\n    return e / np.sum(e, axis=axis, keepdims=True)",
         "WHOLE array"),
        ("def softmax(x, axis=-1):\n    e = np.exp(x)\n    return e / np.sum(e, axis=axis, keepdims=True)",
         "exp(1000) overflows"),
        ("def softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n    return e / e.sum()",
         "WHOLE matrix"),
    ],
    "2.2": [
        ("def make_causal_mask(T):\n    return np.triu(np.ones((T, T), dtype=bool))", "diagonal is masked"),
        ("def make_causal_mask(T):\n    return np.tril(np.ones((T, T), dtype=bool))", "inverted"),
        ("def make_causal_mask(T):\n    return np.triu(np.ones((T, T)), k=1)", "dtype"),
    ],
    "2.3": [
        ("def attention(q, k, v, causal=True):\n    s = q @ np.swapaxes(k, -1, -2)\n"
         "    if causal: s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
         "    w = softmax(s, axis=-1)\n    return w @ v, w", "not scaled"),
        ("def attention(q, k, v, causal=True):\n    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    w = softmax(s, axis=-1)\n    if causal: w = np.where(make_causal_mask(q.shape[-2]), 0.0, w)\n"
         "    return w @ v, w", "after the softmax"),
        ("def attention(q, k, v, causal=True):\n    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    if causal: s = np.where(make_causal_mask(q.shape[-2]), -np.inf, s)\n"
         "    w = softmax(s, axis=-2)\n    return w @ v, w", "over the queries"),
        ("def attention(q, k, v, causal=True):\n    s = q @ k / np.sqrt(q.shape[-1])\n"
         "    w = softmax(s, axis=-1)\n    return w @ v, w", "matmul"),
    ],
    "2.4": [
        ("class MySelfAttention(MySelfAttention):\n    def forward(self, x):\n"
         "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
         "        s = (q @ k.transpose(0, 2, 1)).masked_fill(make_causal_mask(x.shape[1]), -np.inf)\n"
         "        w = s.softmax(axis=-1)\n        self.attention_weights = w.data\n        return w @ v",
         "not scaled"),
        ("class MySelfAttention(MySelfAttention):\n    def forward(self, x):\n"
         "        q, k, v = self.query(x), self.key(x), self.value(x)\n"
         "        w = ((q @ k.transpose(0, 2, 1)) * (1 / np.sqrt(self.head_size))).softmax(axis=-1)\n"
         "        self.attention_weights = w.data\n        return w @ v", "not masked"),
        ("class MySelfAttention(MySelfAttention):\n    def forward(self, x):\n"
         "        q, k, v = self.query(x).data, self.key(x).data, self.value(x).data\n"
         "        out, w = attention(q, k, v)\n        self.attention_weights = w\n        return tt.Tensor(out)",
         "no gradient reached query.weight"),
    ],
    "2.5": [
        ("class MyMultiHeadAttention(MyMultiHeadAttention):\n    def forward(self, x, cache=None):\n"
         "        B, T, C = x.shape; H, d = self.num_heads, self.head_size\n"
         "        q, k, v = (t.reshape(B, H, T, d) for t in self.qkv(x).split(3, axis=-1))\n"
         "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).masked_fill(make_causal_mask(T), -np.inf)"
         ".softmax(axis=-1)\n"
         "        self.attention_weights = w.data\n"
         "        return self.proj((w @ v).transpose(0, 2, 1, 3).reshape(B, T, C))", "split"),
        ("class MyMultiHeadAttention(MyMultiHeadAttention):\n    def forward(self, x, cache=None):\n"
         "        B, T, C = x.shape; H, d = self.num_heads, self.head_size\n"
         "        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))\n"
         "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).masked_fill(make_causal_mask(T), -np.inf)"
         ".softmax(axis=-1)\n"
         "        self.attention_weights = w.data\n"
         "        return self.proj((w @ v).reshape(B, T, C))", "merged"),
        ("class MyMultiHeadAttention(MyMultiHeadAttention):\n    def forward(self, x, cache=None):\n"
         "        B, T, C = x.shape; H, d = self.num_heads, self.head_size\n"
         "        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))\n"
         "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(C))).masked_fill(make_causal_mask(T), -np.inf)"
         ".softmax(axis=-1)\n"
         "        self.attention_weights = w.data\n"
         "        return self.proj((w @ v).transpose(0, 2, 1, 3).reshape(B, T, C))", "√C"),
        ("class MyMultiHeadAttention(MyMultiHeadAttention):\n    def forward(self, x, cache=None):\n"
         "        B, T, C = x.shape; H, d = self.num_heads, self.head_size\n"
         "        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in self.qkv(x).split(3, axis=-1))\n"
         "        w = ((q @ k.transpose(0, 1, 3, 2)) * (1 / np.sqrt(d))).masked_fill(make_causal_mask(T), -np.inf)"
         ".softmax(axis=-1)\n"
         "        self.attention_weights = w.data\n"
         "        return (w @ v).transpose(0, 2, 1, 3).reshape(B, T, C)", "projection self.proj is missing"),
    ],
    "3.1": [
        ("def layer_norm(x, weight, bias, eps=1e-5):\n    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
         "    var = (c * c).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)\n"
         "    return c / (var + eps).sqrt() * weight + bias", "unbiased"),
        ("def layer_norm(x, weight, bias, eps=1e-5):\n    m = x.mean(axis=0, keepdims=True); c = x - m\n"
         "    var = (c * c).mean(axis=0, keepdims=True)\n    return c / (var + eps).sqrt() * weight + bias", "axis 0"),
        ("def layer_norm(x, weight, bias, eps=1e-5):\n    m = x.mean(axis=-1, keepdims=True); c = x - m\n"
         "    var = (c * c).mean(axis=-1, keepdims=True)\n    return c / (var + eps) * weight + bias", "standard deviation"),
    ],
    "3.2": [
        ("def gelu(x):\n    return x * 0.5 * ((x + x * x * x * 0.044715).tanh() + 1.0)", "√(2/π)"),
        ("def gelu(x):\n    return x * 0.5 * (((x + x * x * 0.044715) * float(np.sqrt(2 / np.pi))).tanh() + 1.0)", "x²"),
        ("def gelu(x):\n    return x * (((x + x * x * x * 0.044715) * float(np.sqrt(2 / np.pi))).tanh() + 1.0)",
         "½ x"),
    ],
    "3.3": [
        ("class MyBlock(MyBlock):\n    def forward(self, x):\n        x = self.ln1(x + self.attn(x))\n"
         "        return self.ln2(x + self.mlp(x))", "post-LN"),
        ("class MyBlock(MyBlock):\n    def forward(self, x):\n        x = x + self.attn(self.ln1(x))\n"
         "        return self.mlp(self.ln2(x))", "second residual"),
        ("class MyBlock(MyBlock):\n    def forward(self, x):\n        h = x + self.attn(self.ln1(x))\n"
         "        return h + self.mlp(self.ln2(x))", "ORIGINAL x"),
    ],
    "3.4": [
        ("_s = sinusoidal\ndef sinusoidal(T, d):\n    t = _s(T, d); out = t.copy()\n"
         "    out[:, 0::2], out[:, 1::2] = t[:, 1::2], t[:, 0::2]\n    return out", "swapped"),
        ("def sinusoidal(T, d):\n    pos = np.arange(T)[:, None]; two_i = np.arange(0, d, 2)[None, :]\n"
         "    a = pos * 10000.0 ** (-two_i.astype(float)); t = np.zeros((T, d))\n"
         "    t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)\n    return t", "not divided by d_model"),
    ],
    "4.1": [
        ("class MyGPT(MyGPT):\n    def forward(self, idx):\n        x = self.token_embedding(np.asarray(idx))\n"
         "        for block in self.blocks: x = block(x)\n        return self.lm_head(self.ln_f(x))",
         "position embeddings are missing"),
        ("class MyGPT(MyGPT):\n    def forward(self, idx):\n        T = np.asarray(idx).shape[1]\n"
         "        x = self.token_embedding(np.asarray(idx)) + self.position_embedding.weight[:T]\n"
         "        for block in self.blocks: x = block(x)\n        return self.lm_head(x)", "ln_f"),
        ("class MyGPT(MyGPT):\n    def forward(self, idx):\n        T = np.asarray(idx).shape[1]\n"
         "        x = self.token_embedding(np.asarray(idx)) + self.position_embedding.weight[:T]\n"
         "        x = self.blocks[-1](x)\n        return self.lm_head(self.ln_f(x))", "only the last block"),
        ("class MyGPT(MyGPT):\n    def forward(self, idx):\n        x = self.token_embedding(np.asarray(idx))"
         " + self.position_embedding.weight\n"
         "        for block in self.blocks: x = block(x)\n        return self.lm_head(self.ln_f(x))", "broadcast"),
    ],
    "4.2": [
        ("def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
         "    t = np.asarray(targets).reshape(-1)\n"
         "    return (z.exp().sum(axis=-1).log() - z[np.arange(len(t)), t]).mean()", "log-sum-exp"),
        ("def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
         "    t = np.asarray(targets).reshape(-1); m = tt.Tensor(z.data.max(axis=-1, keepdims=True))\n"
         "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
         "    return (lse - z[np.arange(len(t)), t]).sum()", "sum over the 6 positions"),
        ("def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
         "    t = np.asarray(targets).reshape(-1); m = tt.Tensor(z.data.max(axis=-1, keepdims=True))\n"
         "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
         "    return (z[np.arange(len(t)), t] - lse).mean()", "negative"),
        ("def cross_entropy(logits, targets):\n    V = logits.shape[-1]; z = logits.reshape(-1, V)\n"
         "    t = np.asarray(targets).reshape(-1); m = tt.Tensor(z.data.max(axis=-1, keepdims=True))\n"
         "    lse = (z - m).exp().sum(axis=-1).log() + m.reshape(-1)\n"
         "    return (lse - z[np.arange(len(t)), (t + 1) % V]).mean()", "shifted by one class"),
    ],
    "4.3": [
        ("def training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):\n    loss = loss_fn(model(x), y)\n"
         "    loss.backward()\n    tt.optim.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n"
         "    return loss.item()", "pile up"),
        ("def training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):\n    optimizer.zero_grad()\n"
         "    loss = loss_fn(model(x), y)\n    loss.backward()\n    optimizer.step()\n    return loss.item()",
         "not clipped"),
        ("def training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):\n    optimizer.zero_grad()\n"
         "    loss = loss_fn(model(x), y)\n    optimizer.step()\n    loss.backward()\n    return loss.item()",
         "backward() before optimizer.step()"),
        ("_ts = training_step\ndef training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):\n"
         "    _ts(model, loss_fn, optimizer, x, y, max_norm)\n    return loss_fn(model(x), y)", "Python float"),
    ],
    "4.4": [
        ("def sample_next(logits, temperature=1.0, top_k=None, rng=None):\n    rng = rng or np.random.default_rng()\n"
         "    if temperature == 0: return int(np.argmax(logits))\n    z = np.asarray(logits, float)\n"
         "    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n"
         "    p = np.exp(z - z.max()); return int(rng.choice(len(z), p=p / p.sum()))", "temperature has no effect"),
        ("def sample_next(logits, temperature=1.0, top_k=None, rng=None):\n    rng = rng or np.random.default_rng()\n"
         "    if temperature == 0: return int(np.argmax(logits))\n    z = np.asarray(logits, float) * temperature\n"
         "    if top_k: z = np.where(z < np.sort(z)[-top_k], -np.inf, z)\n"
         "    p = np.exp(z - z.max()); return int(rng.choice(len(z), p=p / p.sum()))", "DIVIDE"),
        ("def sample_next(logits, temperature=1.0, top_k=None, rng=None):\n    rng = rng or np.random.default_rng()\n"
         "    if temperature == 0: return int(np.argmax(logits))\n    z = np.asarray(logits, float) / temperature\n"
         "    if top_k: z = np.where(z < np.sort(z)[-top_k - 1], -np.inf, z)\n"
         "    p = np.exp(z - z.max()); return int(rng.choice(len(z), p=p / p.sum()))", "with top_k=2 ids"),
    ],
    "5.1": [
        ("_cp = count_parameters\ndef count_parameters(c):\n    return _cp(c) - c.block_size * c.n_embd",
         "position embedding"),
        ("_cp = count_parameters\ndef count_parameters(c):\n    return _cp(c) - c.n_layer * 9 * c.n_embd", "biases"),
        ("_cp = count_parameters\ndef count_parameters(c):\n    return _cp(c) - c.n_embd * c.vocab_size", "missing"),
        ("def count_parameters(c):\n    V, T, C, L = c.vocab_size, c.block_size, c.n_embd, c.n_layer\n"
         "    return V * C + T * C + L * (4 * C + 4 * C * C + 4 * C + 8 * C * C + 5 * C) + 2 * C + C * V", "mlp_ratio"),
    ],
    "5.2": [
        ("def adamw_memory_bytes(n, b=4):\n    w = n * b\n    return {'weights': w, 'gradients': w, 'optimizer': w,"
         " 'total': 3 * w}", "TWO running averages"),
        ("def adamw_memory_bytes(n, bytes_per_number=4):\n    w = n * 4\n    return {'weights': w, 'gradients': w,"
         " 'optimizer': 2 * w, 'total': 4 * w}", "bytes_per_number"),
    ],
    "5.3": [
        ("def forward_flops_per_token(c, context=None):\n    T = c.block_size if context is None else context\n"
         "    w = c.n_layer * (4 + 2 * c.mlp_ratio) * c.n_embd ** 2\n"
         "    return w + c.n_embd * c.vocab_size + c.n_layer * 2 * T * c.n_embd",
         "2 FLOPs"),
        ("def forward_flops_per_token(c, context=None):\n    T = c.block_size\n"
         "    w = c.n_layer * (4 + 2 * c.mlp_ratio) * c.n_embd ** 2\n"
         "    return 2 * (w + c.n_embd * c.vocab_size) + c.n_layer * 4 * T * c.n_embd",
         "context=1"),
        ("def forward_flops_per_token(c, context=None):\n    T = c.block_size if context is None else context\n"
         "    return 2 * (c.n_layer * 12 * c.n_embd ** 2 + c.n_embd * c.vocab_size) + c.n_layer * 4 * T * c.n_embd",
         "mlp_ratio"),
    ],
}

WRONG_CASES = [(exercise_id, i) for exercise_id in WRONG for i in range(len(WRONG[exercise_id]))]


def test_every_exercise_has_at_least_two_recorded_wrong_solutions():
    assert sorted(WRONG) == sorted(IDS)
    assert all(len(cases) >= 2 for cases in WRONG.values())


@pytest.mark.parametrize("exercise_id,case", WRONG_CASES, ids=[f"{e}-{i}" for e, i in WRONG_CASES])
def test_wrong_solution_is_rejected_with_a_pointed_message(exercise_id, case):
    _, path, index, _ = _entry(exercise_id)
    ns = _namespace(path, index)
    source, fragment = WRONG[exercise_id][case]
    with np.errstate(all="ignore"):
        exec(compile(source, f"wrong {exercise_id}.{case}", "exec"), ns)
        with pytest.raises(ExerciseFailed) as info:
            check(exercise_id, *_answers(exercise_id, ns))
    assert fragment in str(info.value), f"the message does not name the bug ({fragment!r}):\n{info.value}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_hints_never_contain_a_line_of_the_solution(exercise_id, capsys):
    _, path, index, _ = _entry(exercise_id)
    source = _source(json.loads(path.read_text())["cells"][index])
    region = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    lines = [line.split("#")[0].strip() for line in region.splitlines()]
    lines = [line for line in lines if len(line) > 12]
    hint(exercise_id)
    hint(exercise_id, level=2)
    text = capsys.readouterr().out
    assert "level=2" in text  # level 1 points to level 2
    for line in lines:
        assert line not in text, f"hint for {exercise_id} gives away {line!r}"
    with pytest.raises(ValueError, match="level"):
        hint(exercise_id, level=3)


def test_student_notebooks_contain_no_solution_line(tmp_path):
    """No line of any solution region shows up anywhere in the student build (cells, hints, prose)."""
    for path in sorted(CONTENT.glob("*.ipynb")):
        solution_lines = set()
        for cell in json.loads(path.read_text())["cells"]:
            text = _source(cell)
            for region in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", text, flags=re.S):
                solution_lines.update(l.strip() for l in region.splitlines() if len(l.strip()) > 25)
        student = build_notebook(path, "student")
        shown = "\n".join(cell.source for cell in student.cells)
        leaked = [line for line in solution_lines if line in shown]
        assert not leaked, f"{path.name}: the student version shows solution lines {leaked[:3]}"


def test_use_falls_back_to_the_library_with_a_message(capsys):
    def stub(x, axis=-1):
        raise NotImplementedError()

    softmax = use("2.1", stub)
    out = capsys.readouterr().out
    assert "not written yet" in out and "library" in out
    np.testing.assert_allclose(softmax(np.array([[0.0, 1.0], [-1000.0, -999.0]])).sum(axis=-1), [1.0, 1.0])
    ns = _namespace(_entry("2.1")[1], _entry("2.1")[2])
    assert use("2.1", ns["softmax"]) is ns["softmax"]
    assert capsys.readouterr().out == ""  # a passing answer is used silently


def test_use_without_a_fallback_says_what_to_do(monkeypatch):
    from tinytorch.course import exercises

    def stub(*args):
        raise NotImplementedError()

    monkeypatch.setitem(exercises.EXERCISES, "9.9", exercises.Exercise("thing", lambda f: f()))
    with pytest.raises(ExerciseFailed, match="Finish it"):
        use("9.9", stub)
