"""Notebook 4's GPT is the student's: pieces passed in notebooks 2 and 3 are saved from their cells
and come back (carry.py), each piece falls back to the library's only with a reason, the model is
assembled from them with the library's initial weights, generation and attention maps run the
student's forward, and every training update is the student's step."""

import linecache
import shutil

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.course import carry
from tinytorch.course.exercises import check
from tinytorch.course.your_gpt import (
    YourGPT,
    YourStepTrainer,
    library_parts,
    library_training_step,
    with_your_step,
    your_parts,
)
from tinytorch.models import TinyGPT, TinyGPTConfig
from tinytorch.optim import CosineWarmup
from tinytorch.training import LanguageModelTrainer, Validation

CONFIG = TinyGPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=12, mlp_ratio=3)

# What a student's cells define (the reference solutions of notebooks 2 and 3, condensed).
CELLS = {
    "2.2": (
        "import numpy as np\n\n\ndef make_causal_mask(T):\n    positions = np.arange(T)\n"
        "    return positions[None, :] > positions[:, None]\n",
        ["make_causal_mask"],
    ),
    "2.5": (
        "from tinytorch.nn import Linear, Module\n\n\nclass MyMultiHeadAttention(Module):\n"
        "    def __init__(self, d_model, num_heads):\n        super().__init__()\n"
        "        self.num_heads, self.head_size = num_heads, d_model // num_heads\n"
        "        self.qkv = Linear(d_model, 3 * d_model)\n        self.proj = Linear(d_model, d_model)\n"
        "        self.attention_weights = None\n\n    def forward(self, x, cache=None):\n"
        "        B, T, C = x.shape\n        H, d = self.num_heads, self.head_size\n"
        "        q, k, v = self.qkv(x).split(3, axis=-1)\n"
        "        q, k, v = (t.reshape(B, T, H, d).transpose(0, 2, 1, 3) for t in (q, k, v))\n"
        "        scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / np.sqrt(d))\n"
        "        weights = scores.masked_fill(make_causal_mask(T), -np.inf).softmax(axis=-1)\n"
        "        self.attention_weights = weights.data\n"
        "        return self.proj((weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C))\n",
        ["MyMultiHeadAttention"],
    ),
    "3.1": (
        "def layer_norm(x, weight, bias, eps=1e-5):\n    mean = x.mean(axis=-1, keepdims=True)\n"
        "    centered = x - mean\n    variance = (centered * centered).mean(axis=-1, keepdims=True)\n"
        "    return centered / (variance + eps).sqrt() * weight + bias\n",
        ["layer_norm"],
    ),
    "3.2": (
        "def gelu(x):\n    inner = (x + x * x * x * 0.044715) * float(np.sqrt(2.0 / np.pi))\n"
        "    return x * 0.5 * (inner.tanh() + 1.0)\n",
        ["gelu"],
    ),
    "3.3": (
        "from tinytorch.nn import MLP, LayerNorm, Module, MultiHeadAttention\n\n\nclass MyBlock(Module):\n"
        "    def __init__(self, d_model, num_heads):\n        super().__init__()\n"
        "        self.ln1 = LayerNorm(d_model)\n        self.attn = MultiHeadAttention(d_model, num_heads)\n"
        "        self.ln2 = LayerNorm(d_model)\n        self.mlp = MLP(d_model)\n\n    def forward(self, x):\n"
        "        x = x + self.attn(self.ln1(x))\n        return x + self.mlp(self.ln2(x))\n",
        ["MyBlock"],
    ),
}


def _cell(exercise_id, namespace):
    """Run a cell the way IPython does: its text is in linecache under the cell's file name."""
    source, _ = CELLS[exercise_id]
    filename = f"<ipython-input-{exercise_id}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


@pytest.fixture
def passed_pieces(tmp_path, monkeypatch, capsys):
    """A folder in which the five pieces passed their test cells (so they were saved)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"np": np}
    for exercise_id, (_, names) in CELLS.items():
        _cell(exercise_id, namespace)
        check(exercise_id, *[namespace[n] for n in names])
    capsys.readouterr()
    return tmp_path


class ForwardGPT(YourGPT):
    """A student's MyGPT with the reference forward, counting its calls."""

    calls = 0

    def forward(self, idx):
        ForwardGPT.calls += 1
        idx = np.asarray(idx, dtype=np.int64)
        x = self.token_embedding(idx) + self.position_embedding.weight[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def test_a_passing_test_cell_saves_the_piece_from_its_cell(passed_pieces):
    saved = sorted(p.name for p in (passed_pieces / carry.FOLDER).iterdir())
    assert saved == ["exercise_2_2.py", "exercise_2_5.py", "exercise_3_1.py", "exercise_3_2.py", "exercise_3_3.py"]
    text = (passed_pieces / carry.FOLDER / "exercise_3_3.py").read_text()
    assert "class MyBlock(Module):" in text and "from tinytorch.nn import MLP" in text


def test_a_helper_defined_beside_the_answer_comes_along(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = (
        "import numpy as np\n\n\ndef _cube(x):\n    return x * x * x\n\n\ndef gelu(x):\n"
        "    inner = (x + _cube(x) * 0.044715) * float(np.sqrt(2.0 / np.pi))\n"
        "    return x * 0.5 * (inner.tanh() + 1.0)\n\n\nprint('a test call that must not run again')\n"
    )
    filename = "<ipython-input-helper>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    check("3.2", namespace["gelu"])
    saved = (tmp_path / carry.FOLDER / "exercise_3_2.py").read_text()
    assert "def _cube(x):" in saved and "print(" not in saved
    assert your_parts(verbose=False).origin["GELU"].startswith("yours")


def test_code_not_typed_in_a_cell_is_not_carried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec("def gelu(x):\n    return x.gelu()\n", namespace)  # no cell text anywhere
    assert carry.keep("3.2", [namespace["gelu"]]) is False
    assert not (tmp_path / carry.FOLDER).exists()


def test_your_parts_are_yours_and_build_the_same_model(passed_pieces, capsys):
    parts = your_parts()
    report = capsys.readouterr().out
    assert parts.all_yours, report
    assert "yours (MyMultiHeadAttention, Exercise 2.5)" in report
    tt.manual_seed(0)
    mine = ForwardGPT(CONFIG, parts=parts)
    block = mine.blocks[0]
    assert type(block).__name__ == "MyBlock" and type(block.attn).__name__ == "MyMultiHeadAttention"
    assert block.ln1.fn.__code__.co_filename.endswith("exercise_3_1.py")
    assert block.mlp.fn.__code__.co_filename.endswith("exercise_3_2.py")
    assert mine.ln_f.fn is block.ln1.fn
    tt.manual_seed(0)
    library = TinyGPT(CONFIG)  # the same initial weights, the library's pieces
    ids = np.random.default_rng(0).integers(0, 13, size=(3, 8))
    np.testing.assert_allclose(mine(ids).data, library(ids).data, atol=1e-5)


def test_a_piece_that_no_longer_passes_falls_back_with_its_reason(passed_pieces, capsys):
    path = passed_pieces / carry.FOLDER / "exercise_3_2.py"
    path.write_text(path.read_text().replace("0.044715", "0.05"))
    (passed_pieces / carry.FOLDER / "exercise_2_2.py").unlink()
    parts = your_parts()
    report = capsys.readouterr().out
    assert parts.origin["GELU"].startswith("library's (your saved gelu no longer passes its check")
    assert parts.origin["causal mask"].startswith(
        "library's (no saved Exercise 2.2: it is saved when its test cell in notebook 2 passes"
    )
    assert parts.origin["LayerNorm"].startswith("yours") and "GELU" in report
    assert parts.gelu is tt.nn.functional.gelu


def test_generation_and_attention_maps_run_the_students_forward(passed_pieces):
    model = ForwardGPT(CONFIG, parts=your_parts(verbose=False))
    ForwardGPT.calls = 0
    out = model.generate(np.array([1, 2, 3]), 12, temperature=0.8, seed=0)
    assert out.shape == (15,) and ForwardGPT.calls == 12  # one pass of your forward per new token
    assert np.array_equal(out, model.generate(np.array([1, 2, 3]), 12, temperature=0.8, seed=0))
    drawn = []
    model.sampler = lambda logits, temperature, top_k, rng: drawn.append(len(logits)) or 4
    assert list(model.generate(np.array([1]), 3)[1:]) == [4, 4, 4] and drawn == [13, 13, 13]
    ForwardGPT.calls = 0
    maps = model.attention_maps(np.array([1, 2, 3, 4]))
    assert maps.shape == (2, 2, 4, 4) and ForwardGPT.calls == 1
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)


def test_every_update_of_the_trainer_is_the_students_step():
    tt.manual_seed(0)
    model = ForwardGPT(CONFIG, parts=library_parts())
    seen = []

    def training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):
        seen.append((x.shape, max_norm))
        return library_training_step(model, loss_fn, optimizer, x, y, max_norm)

    data = np.random.default_rng(1).integers(0, 13, size=400)
    trainer = LanguageModelTrainer(
        model,
        model.configure_optimizers(lr=1e-2),
        data,
        data,
        block_size=8,
        batch_size=4,
        loss_fn=tt.nn.functional.cross_entropy,
        grad_clip=0.7,
        lr_schedule=CosineWarmup(lr=1e-2, max_steps=30, warmup_steps=2),
        validation=Validation(every=10),
        progress=None,
    )
    assert with_your_step(trainer, training_step) is trainer and isinstance(trainer, YourStepTrainer)
    trainer.fit(30)
    assert seen == [((4, 8), 0.7)] * 30 and trainer.step == 30
    losses = [r.train_loss for r in trainer.history]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # the student's step trains
    unclipped = with_your_step(
        LanguageModelTrainer(
            model,
            model.configure_optimizers(lr=1e-3),
            data,
            None,
            block_size=8,
            batch_size=4,
            grad_clip=None,
            progress=None,
        ),
        training_step,
    )
    unclipped.fit(2)
    assert unclipped.step == 2 and seen[-1][1] > 1e300  # no clipping: a bound no gradient reaches


@pytest.mark.slow
def test_notebook_4_trains_the_students_gpt(builds, tmp_path):
    """Notebooks 2 and 3 (fast mode, reference solutions) save the pieces; notebook 4 in the same folder
    trains a model whose modules are the student's classes, with the student's step."""
    from _runner import run_notebook

    probe = """
import json
b = model.blocks[0]
print(json.dumps({"model": type(model).__name__, "block": type(b).__name__, "attn": type(b.attn).__name__,
                  "ln": b.ln1.fn.__code__.co_filename, "gelu": b.mlp.fn.__code__.co_filename,
                  "ln_f": model.ln_f.fn.__code__.co_filename, "all_yours": parts.all_yours,
                  "step": trainer.training_step.__module__ + "." + trainer.training_step.__name__,
                  "trained": trainer.step, "sampler": model.sampler.__module__, "last_val": last_val,
                  "target": FAST_TARGET}))
"""
    for name in ("02_attention", "03_transformer_block", "04_train_tinygpt"):
        built = next(p for p in builds["instructor"] if p.stem == name)
        student = next(p for p in builds["student"] if p.stem == name)
        shutil.copy(built, tmp_path / built.name)
        probe_code = probe if name.startswith("04") else None
        run = run_notebook(tmp_path / built.name, student, tmp_path, probe_code=probe_code)
    p = run.probes
    assert p["all_yours"], p
    assert (p["model"], p["block"], p["attn"]) == ("MyGPT", "MyBlock", "MyMultiHeadAttention"), p
    assert p["ln"].endswith("exercise_3_1.py") and p["ln_f"].endswith("exercise_3_1.py"), p
    assert p["gelu"].endswith("exercise_3_2.py"), p
    assert p["step"] == "__main__.training_step" and p["sampler"] == "__main__", p
    assert p["trained"] > 0 and p["last_val"] < p["target"], p
