"""LanguageModelTrainer: it really learns, resumes bit for bit, checkpoints, shows ONE live
output, stops on NaN with the model at its last good state, and records attention."""

import contextlib
import io
import json

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.models import BigramLanguageModel, TinyGPT, TinyGPTConfig
from tinytorch.optim import SGD, AdamW, CosineWarmup
from tinytorch.text import CharTokenizer, train_val_split
from tinytorch.training import LanguageModelTrainer, StepRecord, find_latest_checkpoint, list_checkpoints
from tinytorch.training import progress as progress_module
from tinytorch.training.callbacks import AttentionProbe, Checkpoints, LivePlot, ProgressDisplay, Validation


def make_text(lines=300, seed=7):
    """A small made-up play: speaker names, line breaks and a few words (about 15k characters)."""
    rng = np.random.default_rng(seed)
    speakers = ["ROMEO", "JULIET", "NURSE", "FRIAR"]
    words = "the a love night moon sweet fair my thy lord good doth thou art not".split()
    parts = []
    for _ in range(lines):
        parts.append(f"{rng.choice(speakers)}:\n" + " ".join(rng.choice(words, 6)) + ".\n\n")
    return "".join(parts)


TEXT = make_text()
TOKENIZER = CharTokenizer().fit(TEXT)
TRAIN, VAL = train_val_split(TOKENIZER.encode(TEXT))
V = TOKENIZER.vocab_size


def tiny_gpt(seed=0, dropout=0.1, **overrides):
    tt.manual_seed(seed)
    fields = dict(vocab_size=V, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=dropout)
    fields.update(overrides)
    return TinyGPT(TinyGPTConfig(**fields))


def make_trainer(model=None, lr=3e-3, every=25, **kwargs):
    """A tiny GPT's trainer, validating on 4 batches every `every` steps (None: at the end of each fit)."""
    model = model if model is not None else tiny_gpt()
    options = dict(block_size=16, batch_size=8, validation=Validation(every, batches=4), progress=None)
    options.update(kwargs)
    return LanguageModelTrainer(model, AdamW(model.parameters(), lr=lr), TRAIN, VAL, **options)


def parameters(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


# --- it learns --------------------------------------------------------------------------


def test_loss_falls_and_history_has_the_contract_keys():
    trainer = make_trainer(lr=1e-2)
    start = trainer.evaluate()
    assert start == pytest.approx(np.log(V), abs=0.4)  # an untrained model guesses uniformly
    history = trainer.fit(150)
    assert history is trainer.history and len(history) == 150
    assert [h["step"] for h in history] == list(range(1, 151))
    for key in ("step", "train_loss", "val_loss", "lr", "tokens_per_sec", "elapsed"):
        assert key in history[-1]
    validated = [h for h in history if h["val_loss"] is not None]
    assert [h["step"] for h in validated] == [25, 50, 75, 100, 125, 150]
    assert validated[-1]["val_loss"] < 0.6 * start  # really learnt something
    assert np.mean([h["train_loss"] for h in history[-10:]]) < np.mean([h["train_loss"] for h in history[:10]]) - 0.8
    assert all(h["tokens_per_sec"] > 0 for h in history)
    assert history[-1]["elapsed"] >= history[0]["elapsed"] > 0


def test_fit_continues_where_it_stopped():
    once = make_trainer(model=tiny_gpt(seed=3))
    tt.manual_seed(11)
    once.fit(40)
    chunks = make_trainer(model=tiny_gpt(seed=3))
    tt.manual_seed(11)
    chunks.fit(15)
    assert chunks.step == 15
    chunks.fit(25)
    assert chunks.step == 40 and [h["step"] for h in chunks.history] == list(range(1, 41))
    assert [h["train_loss"] for h in chunks.history] == [h["train_loss"] for h in once.history]
    for name, value in parameters(once.model).items():
        assert np.array_equal(value, parameters(chunks.model)[name]), name


def test_evaluate_is_repeatable_and_leaves_the_training_stream_alone():
    trainer = make_trainer()
    tt.manual_seed(5)
    state = tt.rng.rng().bit_generator.state
    first = trainer.evaluate()
    assert trainer.evaluate() == first
    assert tt.rng.rng().bit_generator.state == state
    assert trainer.model.training  # back in training mode afterwards
    assert trainer.evaluate("train") != first
    with pytest.raises(ValueError, match="split"):
        trainer.evaluate("test")


# --- checkpoints -----------------------------------------------------------------------


def test_resume_from_checkpoint_equals_uninterrupted_training(tmp_path):
    """100 steps == 50 steps, save, load into fresh objects, 50 steps: bit for bit (dropout on)."""
    straight = make_trainer(model=tiny_gpt(seed=1, dropout=0.2), lr_schedule=CosineWarmup(3e-3, 100, warmup_steps=10))
    tt.manual_seed(99)
    straight.fit(100)

    first = make_trainer(model=tiny_gpt(seed=1, dropout=0.2), lr_schedule=CosineWarmup(3e-3, 100, warmup_steps=10))
    tt.manual_seed(99)
    first.fit(50)
    path = first.save_checkpoint(tmp_path / "half.npz")
    del first

    # Fresh model, optimizer and trainer, and a disturbed random generator.
    second = make_trainer(model=tiny_gpt(seed=123, dropout=0.2), lr_schedule=CosineWarmup(3e-3, 100, warmup_steps=10))
    tt.manual_seed(4321)
    assert second.load_checkpoint(path) == 50
    assert second.step == 50 and len(second.history) == 50
    second.fit(50)

    assert [h["train_loss"] for h in second.history] == [h["train_loss"] for h in straight.history]
    assert [h["val_loss"] for h in second.history] == [h["val_loss"] for h in straight.history]
    assert [h["lr"] for h in second.history] == [h["lr"] for h in straight.history]
    for name, value in parameters(straight.model).items():
        assert np.array_equal(value, parameters(second.model)[name]), name


def test_checkpoint_round_trip_restores_everything(tmp_path):
    trainer = make_trainer(probe=AttentionProbe(TOKENIZER.encode("ROMEO:\nmy love"), every=10))
    trainer.fit(30)
    path = trainer.save_checkpoint(tmp_path / "ckpt")  # .npz is added
    assert path.name == "ckpt.npz" and [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    with np.load(path, allow_pickle=False) as raw:  # a plain npz, no pickle needed
        assert len(raw.files) > 3

    fresh = make_trainer(model=tiny_gpt(seed=8))
    fresh.load_checkpoint(path)
    assert fresh.step == 30 and fresh.history == trainer.history
    assert fresh.elapsed == trainer.elapsed
    assert [s for s, _ in fresh.attention_snapshots] == [0, 10, 20, 30]
    for (_, a), (_, b) in zip(fresh.attention_snapshots, trainer.attention_snapshots):
        assert np.array_equal(a, b)
    for name, value in parameters(trainer.model).items():
        assert np.array_equal(value, parameters(fresh.model)[name]), name
    json.dumps(fresh.history.as_dicts())  # plain JSON-friendly numbers


def test_checkpoint_from_a_different_config_is_a_clear_error(tmp_path):
    trainer = make_trainer()
    trainer.fit(2)
    path = trainer.save_checkpoint(tmp_path / "small.npz")
    other = make_trainer(model=tiny_gpt(n_embd=24, n_head=2))
    before = parameters(other.model)
    with pytest.raises(ValueError) as info:
        other.load_checkpoint(path)
    assert "n_embd: checkpoint 16, this model 24" in str(info.value)
    assert other.step == 0 and all(np.array_equal(before[k], v) for k, v in parameters(other.model).items())

    # Dropout changes training, not the weights: resuming with another dropout is allowed.
    no_dropout = make_trainer(model=tiny_gpt(dropout=0.0))
    assert no_dropout.load_checkpoint(path) == 2
    # So does the initial spread of the weights.
    assert make_trainer(model=tiny_gpt(init_std=0.05)).load_checkpoint(path) == 2
    # The MLP's width is part of the weights.
    with pytest.raises(ValueError, match="mlp_ratio: checkpoint 4, this model 3"):
        make_trainer(model=tiny_gpt(mlp_ratio=3)).load_checkpoint(path)

    bigram = BigramLanguageModel(V)
    bigram_trainer = LanguageModelTrainer(bigram, AdamW(bigram.parameters()), TRAIN, VAL, 16, 8, progress=None)
    with pytest.raises(ValueError, match="holds a TinyGPT, not a BigramLanguageModel"):
        bigram_trainer.load_checkpoint(path)


def test_a_checkpoint_saved_before_a_config_field_existed_loads(tmp_path):
    """Checkpoints written before TinyGPTConfig had mlp_ratio and init_std carry neither: they had the defaults."""
    from tinytorch.training.checkpoint import read_checkpoint, write_checkpoint

    trainer = make_trainer()
    trainer.fit(2)
    state = read_checkpoint(trainer.save_checkpoint(tmp_path / "new.npz"))
    for field in ("mlp_ratio", "init_std"):
        del state["model_config"][field], state["trainer"]["settings"]["model." + field]
    old = write_checkpoint(state, tmp_path / "old.npz")
    assert make_trainer().load_checkpoint(old) == 2
    with pytest.raises(ValueError, match="mlp_ratio: checkpoint 4, this model 2"):
        make_trainer(model=tiny_gpt(mlp_ratio=2)).load_checkpoint(old)


def test_missing_and_corrupt_checkpoints(tmp_path):
    trainer = make_trainer()
    with pytest.raises(FileNotFoundError, match="find_latest_checkpoint"):
        trainer.load_checkpoint(tmp_path / "nope.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises((ValueError, OSError)):
        trainer.load_checkpoint(broken)
    plain = tmp_path / "weights.npz"
    tt.save(trainer.model.state_dict(), plain)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        trainer.load_checkpoint(plain)


def test_auto_checkpoints_and_resume_after_a_crash(tmp_path):
    folder = tmp_path / "checkpoints"
    trainer = make_trainer(checkpoints=Checkpoints(folder, every=10, keep=2))
    tt.manual_seed(2)
    trainer.fit(35)
    names = sorted(p.name for p in folder.iterdir())
    run = trainer.run_id
    assert names == [
        f"run-{run}_step_000030.npz",
        f"run-{run}_step_000035.npz",
    ]  # every 10 and at the end, newest 2 kept
    assert find_latest_checkpoint(folder).name == f"run-{run}_step_000035.npz"
    assert find_latest_checkpoint(tmp_path / "empty") is None

    # "The kernel died": rebuild everything as the notebook would, then resume.
    again = make_trainer(model=tiny_gpt(seed=77), checkpoints=Checkpoints(folder, every=10))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        path = again.resume()
    assert (
        path.name == f"run-{run}_step_000035.npz"
        and f"Resumed run {run}" in out.getvalue()
        and "step 35" in out.getvalue()
    )
    assert again.run_id == run and again.step == 35 and again.history == trainer.history
    again.fit(5)
    assert again.step == 40 and find_latest_checkpoint(folder).name == f"run-{run}_step_000040.npz"

    nothing = make_trainer(checkpoints=Checkpoints(tmp_path / "new"))
    with contextlib.redirect_stdout(io.StringIO()):
        assert nothing.resume() is None
    assert nothing.step == 0


# --- learning rate, clipping ------------------------------------------------------------


def test_cosine_schedule_with_warmup_drives_the_optimizer():
    trainer = make_trainer(lr=1e-2, lr_schedule=CosineWarmup(1e-2, 60, warmup_steps=10, min_lr=1e-3), every=None)
    trainer.fit()  # no argument: up to max_steps
    lrs = [h["lr"] for h in trainer.history]
    assert len(lrs) == 60
    assert lrs[0] < lrs[5] < lrs[9] <= 1e-2 + 1e-12  # warm-up rises
    assert max(lrs) == pytest.approx(1e-2, rel=0.05)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then decays
    assert lrs[-1] == pytest.approx(1e-3, abs=1e-3)
    assert trainer.optimizer.lr == lrs[-1]
    # "cosine" is the same schedule from the optimizer's lr, without warm-up
    plain = make_trainer(lr=1e-2, lr_schedule="cosine", max_steps=60)
    assert [plain.lr_at(s) for s in range(70)] == [CosineWarmup(1e-2, 60)(s) for s in range(70)]
    assert plain.lr_at(0) == pytest.approx(1e-2) and plain.lr_at(60) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="max_steps"):
        make_trainer(lr_schedule="cosine")
    with pytest.raises(ValueError, match="warmup_steps"):
        make_trainer(lr_schedule=CosineWarmup(1e-2, 50, warmup_steps=100))
    with pytest.raises(ValueError, match="give max_steps once"):
        make_trainer(lr_schedule=CosineWarmup(1e-2, 50), max_steps=60)


def test_a_cosine_checkpoint_of_an_earlier_version_restores_the_peak(tmp_path):
    """Earlier versions wrote the schedule's peak as "base_lr"; a lowered peak must survive a reload."""
    from tinytorch.training.checkpoint import read_checkpoint, write_checkpoint

    trainer = make_trainer(lr_schedule=CosineWarmup(3e-3, 40, warmup_steps=5))
    trainer.fit(2)
    trainer.lr_schedule.lr = 1e-3  # what the divergence message tells a student to do
    state = read_checkpoint(trainer.save_checkpoint(tmp_path / "new.npz"))
    state["trainer"]["base_lr"] = state["trainer"].pop("lr")
    old = write_checkpoint(state, tmp_path / "old.npz")
    again = make_trainer(lr_schedule=CosineWarmup(3e-3, 40, warmup_steps=5))
    assert again.load_checkpoint(old) == 2 and again.lr_schedule.lr == 1e-3
    assert again.lr_at(10) == CosineWarmup(1e-3, 40, warmup_steps=5)(10)


def test_old_keyword_names_still_work_and_train_the_same(tmp_path):
    """The trainer's keywords of earlier versions (eval_interval, checkpoint_dir, probe_ids, warmup_steps, ...)
    warn and build the callbacks that own those settings now: the same run, bit for bit."""
    probe_ids = TOKENIZER.encode("ROMEO:\nmy love")
    with pytest.warns(DeprecationWarning, match=r"eval_interval= is now validation=Validation\(every=\.\.\.\)"):
        old = make_trainer(
            model=tiny_gpt(seed=4),
            lr=1e-2,
            validation=None,
            lr_schedule="cosine",
            warmup_steps=5,
            max_steps=30,
            min_lr=1e-4,
            eval_interval=10,
            eval_batches=3,
            checkpoint_dir=tmp_path / "old",
            checkpoint_every=10,
            keep_checkpoints=2,
            probe_ids=probe_ids,
            probe_every=15,
        )
    new = make_trainer(
        model=tiny_gpt(seed=4),
        lr=1e-2,
        validation=Validation(every=10, batches=3),
        lr_schedule=CosineWarmup(1e-2, 30, warmup_steps=5, min_lr=1e-4),
        checkpoints=Checkpoints(tmp_path / "new", every=10, keep=2),
        probe=AttentionProbe(probe_ids, every=15),
    )
    assert old.settings == new.settings
    for trainer in (old, new):
        tt.manual_seed(9)
        trainer.fit()
    assert old.history.as_dicts() == [
        {**r, "elapsed": o["elapsed"], "tokens_per_sec": o["tokens_per_sec"]}
        for r, o in zip(new.history.as_dicts(), old.history.as_dicts())
    ]
    assert [s for s, _ in old.attention_snapshots] == [s for s, _ in new.attention_snapshots] == [0, 15, 30]
    assert [s for s, _ in list_checkpoints(tmp_path / "old")] == [s for s, _ in list_checkpoints(tmp_path / "new")]
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="checkpoint_every needs checkpoint_dir"):
        make_trainer(checkpoint_every=10)
    with pytest.raises(TypeError, match="unexpected keyword argument.*eval_intervall"):
        make_trainer(eval_intervall=10)


def test_callbacks_check_their_own_settings():
    with pytest.raises(ValueError, match="Validation: every must be a positive int"):
        Validation(every=2.5)
    with pytest.raises(ValueError, match="Validation: batches must be a positive int"):
        Validation(batches=0)
    with pytest.raises(ValueError, match="Checkpoints: keep must be a positive int"):
        Checkpoints("folder", keep=-1)
    with pytest.raises(TypeError, match="AttentionProbe: ids takes integer token ids"):
        AttentionProbe([0.5, 1.5])
    with pytest.raises(ValueError, match="progress"):
        ProgressDisplay("fancy")


def test_gradient_clipping_bounds_the_update():
    model = BigramLanguageModel(V)
    trainer = LanguageModelTrainer(
        model, SGD(model.parameters(), lr=1.0), TRAIN, VAL, 16, 8, grad_clip=1e-3, progress=None
    )
    before = parameters(model)
    trainer.fit(1)
    change = np.sqrt(sum(np.sum((parameters(model)[k] - before[k]) ** 2) for k in before))
    assert trainer.history[0]["grad_norm"] > 1e-3  # the raw gradient was larger...
    assert change <= 1e-3 * 1.001  # ...but the SGD step was clipped to lr * max_norm


# --- NaN ------------------------------------------------------------------------------------


def test_divergence_stops_with_the_step_and_keeps_the_last_good_model():
    model = tiny_gpt(dropout=0.0)
    trainer = LanguageModelTrainer(
        model, SGD(model.parameters(), lr=1e3), TRAIN, VAL, 16, 8, grad_clip=None, progress=None
    )
    with pytest.raises(FloatingPointError) as info:
        trainer.fit(50)
    message = str(info.value)
    assert "at step" in message and "lower" in message.lower() and "optimizer.lr" in message
    bad_step = int(message.split("at step ")[1].split()[0])
    assert trainer.step == len(trainer.history) < bad_step
    # The model is at a state whose loss is finite, and training can go on with a sane lr.
    assert all(np.isfinite(p).all() for p in parameters(model).values())
    assert np.isfinite(trainer.evaluate())
    trainer.optimizer.lr = 0.1
    trainer.fit(5)
    assert np.isfinite(trainer.history[-1]["train_loss"])


def test_poisoned_weight_is_reported_at_step_one():
    model = tiny_gpt(dropout=0.0)
    first = next(iter(model.parameters()))
    first.data = np.full_like(first.data, np.nan)
    trainer = make_trainer(model=model)
    with pytest.raises(FloatingPointError, match="at step 1 "):
        trainer.fit(10)
    assert trainer.step == 0 and trainer.history == []


class StoppedAdamW(AdamW):
    """AdamW whose `stop_at`-th update is applied and then interrupted (like Jupyter's stop
    button pressed right inside optimizer.step())."""

    stop_at = None
    calls = 0

    def step(self):
        super().step()
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt


def test_interrupt_leaves_a_consistent_model_and_fit_continues(capsys):
    reference = make_trainer(model=tiny_gpt(seed=4, dropout=0.0))
    reference.fit(6)
    model = tiny_gpt(seed=4, dropout=0.0)
    optimizer = StoppedAdamW(model.parameters(), lr=3e-3)
    optimizer.stop_at = 7  # interrupted during the 7th update
    trainer = LanguageModelTrainer(model, optimizer, TRAIN, VAL, 16, 8, validation=Validation(25, 4), progress=None)
    history = trainer.fit(20)  # no traceback: the history comes back
    assert "Stopped at step 6" in capsys.readouterr().out
    assert trainer.step == 6 and [h["step"] for h in history] == list(range(1, 7))
    for name, value in parameters(reference.model).items():  # the half-done update was undone
        assert np.array_equal(value, parameters(model)[name]), name
    trainer.fit(3)
    assert trainer.step == 9 and np.isfinite(trainer.history[-1]["train_loss"])


# --- interrupt and resume: the same numbers as never stopping ----------------------------


class InterruptAt:
    """A loss function that raises KeyboardInterrupt in its `at`-th training call, once: the stop
    button pressed mid-step, after the step's batch was drawn and its dropout masks made."""

    def __init__(self, at):
        self.at, self.calls, self.loss = at, 0, tt.training.LanguageModelLoss()

    def __call__(self, logits, targets):
        if tt.is_grad_enabled():  # evaluate() runs under no_grad: not a training step
            self.calls += 1
            if self.calls == self.at:
                raise KeyboardInterrupt
        return self.loss(logits, targets)


class InterruptAfterStep:
    """A callback that raises KeyboardInterrupt once, after step `step` was recorded."""

    def __init__(self, step):
        self.step, self.fired = step, False

    def on_step_end(self, trainer, record):
        if record.step == self.step and not self.fired:
            self.fired = True
            raise KeyboardInterrupt


def float64_trainer(**kwargs):
    with tt.default_dtype(np.float64):
        model = tiny_gpt(seed=5, dropout=0.2)  # dropout on: the masks come from the same generator
    return make_trainer(model=model, lr_schedule=CosineWarmup(3e-3, 40, warmup_steps=5), every=10, **kwargs)


def assert_same_run(a, b):
    assert [h.step for h in a.history] == [h.step for h in b.history]
    np.testing.assert_allclose([h.train_loss for h in a.history], [h.train_loss for h in b.history], rtol=0, atol=1e-6)
    assert [h.step for h in a.history if h.val_loss is not None] == [
        h.step for h in b.history if h.val_loss is not None
    ]
    np.testing.assert_allclose(
        [h.val_loss for h in a.history if h.val_loss is not None],
        [h.val_loss for h in b.history if h.val_loss is not None],
        rtol=0,
        atol=1e-6,
    )
    np.testing.assert_allclose([h.lr for h in a.history], [h.lr for h in b.history], rtol=0, atol=1e-12)
    for name, value in parameters(b.model).items():
        np.testing.assert_allclose(parameters(a.model)[name], value, rtol=0, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def straight_run():
    trainer = float64_trainer()
    tt.manual_seed(21)
    trainer.fit(40)
    return trainer


def test_interrupt_mid_step_then_fit_again_equals_never_stopping(straight_run, capsys):
    stopped = float64_trainer(loss_fn=InterruptAt(17))
    tt.manual_seed(21)
    stopped.fit(40)
    assert "Stopped at step 16" in capsys.readouterr().out
    assert stopped.step == 16 and len(stopped.history) == 16
    stopped.fit(40 - 16)  # same kernel: the generator is where step 17 found it
    assert_same_run(stopped, straight_run)


def test_interrupt_from_a_callback_redoes_that_step(straight_run, capsys):
    stopped = float64_trainer(callbacks=[InterruptAfterStep(30)])  # right after a validation
    tt.manual_seed(21)
    stopped.fit(40)
    assert "Stopped at step 29" in capsys.readouterr().out and stopped.step == 29
    stopped.fit(11)
    assert_same_run(stopped, straight_run)


def test_interrupt_then_checkpoint_then_fresh_objects_equals_never_stopping(straight_run, tmp_path, capsys):
    stopped = float64_trainer(loss_fn=InterruptAt(23))
    tt.manual_seed(21)
    stopped.fit(40)
    path = stopped.save_checkpoint(tmp_path / "stopped.npz")
    fresh = float64_trainer()
    tt.manual_seed(777)  # a disturbed generator: the checkpoint's state must win
    assert fresh.load_checkpoint(path) == 22
    fresh.fit(18)
    assert_same_run(fresh, straight_run)


# --- runs own their checkpoints ------------------------------------------------------------


def test_two_runs_in_one_folder_keep_their_own_checkpoints(tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    a = make_trainer(checkpoints=Checkpoints(folder, every=5, keep=2))
    b = make_trainer(model=tiny_gpt(n_embd=24), checkpoints=Checkpoints(folder, every=5, keep=2))
    assert a.run_id != b.run_id
    a.fit(20)
    b.fit(10)  # b's pruning must not delete a's files, nor a's b's
    a.fit(5)
    assert [s for s, _ in list_checkpoints(folder, run=a.run_id)] == [20, 25]
    assert [s for s, _ in list_checkpoints(folder, run=b.run_id)] == [5, 10]

    # "The kernel died": rebuild a's trainer. b wrote last, but resume() continues a's run.
    b.fit(5)
    again = make_trainer(checkpoints=Checkpoints(folder))
    capsys.readouterr()
    path = again.resume()
    out = capsys.readouterr().out
    assert again.run_id == a.run_id and again.step == 25 and path.name == f"run-{a.run_id}_step_000025.npz"
    assert f"Resumed run {a.run_id}" in out and b.run_id in out  # says which run, and that b is there too
    assert again.history == a.history

    other = make_trainer(model=tiny_gpt(n_embd=24), checkpoints=Checkpoints(folder))
    assert other.resume(run=b.run_id).name == f"run-{b.run_id}_step_000015.npz" and other.step == 15
    with pytest.raises(ValueError, match="no checkpoint of run 'nope'"):
        other.resume(run="nope")


def test_resume_refuses_a_run_with_other_settings_naming_them(tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    first = make_trainer(checkpoints=Checkpoints(folder))
    first.fit(5)
    name = f"run-{first.run_id}_step_000005.npz"

    bigger_batch = make_trainer(checkpoints=Checkpoints(folder), batch_size=4)
    before = parameters(bigger_batch.model)
    with pytest.raises(ValueError) as info:
        bigger_batch.resume()
    message = str(info.value)
    assert name in message and f"run {first.run_id}" in message
    assert "batch_size: run 8, this trainer 4" in message and "strict=False" in message
    assert bigger_batch.step == 0 and bigger_batch.history == []
    assert all(np.array_equal(before[k], v) for k, v in parameters(bigger_batch.model).items())

    model = tiny_gpt()
    decayed = LanguageModelTrainer(
        model,
        AdamW(model.parameters(), lr=3e-3, weight_decay=0.5),
        TRAIN,
        VAL,
        block_size=16,
        batch_size=8,
        progress=None,
        checkpoints=Checkpoints(folder),
    )
    with pytest.raises(ValueError, match=r"optimizer.weight_decay: run 0.01, this trainer 0.5"):
        decayed.resume()
    with pytest.raises(ValueError, match=r"model.dropout: run 0.1, this trainer 0.0"):
        make_trainer(model=tiny_gpt(dropout=0.0), checkpoints=Checkpoints(folder)).resume()

    assert bigger_batch.resume(strict=False).name == name  # told to: it loads
    assert bigger_batch.step == 5 and bigger_batch.run_id == first.run_id


def test_load_checkpoint_is_all_or_nothing(tmp_path):
    """A checkpoint that does not fit changes nothing: not the weights, not the step, not the
    history, not the random generator -- whatever part of it is the one that does not fit."""
    trainer = make_trainer()
    trainer.fit(3)
    path = trainer.save_checkpoint(tmp_path / "adamw.npz")

    model = tiny_gpt(seed=9)
    sgd = LanguageModelTrainer(model, SGD(model.parameters(), lr=0.1), TRAIN, VAL, 16, 8, progress=None)
    sgd.fit(1)

    def unchanged(before, rng_before):
        assert all(np.array_equal(before[k], v) for k, v in parameters(model).items())
        assert sgd.step == 1 and len(sgd.history) == 1 and tt.rng.rng().bit_generator.state == rng_before

    before, rng_before = parameters(model), tt.rng.rng().bit_generator.state
    with pytest.raises(ValueError) as info:  # the model fits, the optimizer does not
        sgd.load_checkpoint(path)
    assert "adamw.npz" in str(info.value) and "AdamW" in str(info.value) and "SGD" in str(info.value)
    unchanged(before, rng_before)

    state = tt.load(path)  # a checkpoint whose random generator is another kind
    state["rng"]["bit_generator"] = "MT19937"
    tt.save(state, tmp_path / "other_rng.npz")
    adam_model = tiny_gpt(seed=9)
    fresh = make_trainer(model=adam_model)
    before = parameters(adam_model)
    with pytest.raises(ValueError, match="other_rng.npz.*MT19937"):
        fresh.load_checkpoint(tmp_path / "other_rng.npz")
    assert fresh.step == 0 and all(np.array_equal(before[k], v) for k, v in parameters(adam_model).items())

    state["rng"] = {"bit_generator": "PCG64", "state": {"oops": 1}}  # the right kind, damaged
    tt.save(state, tmp_path / "damaged_rng.npz")
    with pytest.raises(ValueError, match="damaged_rng.npz.*damaged random generator state"):
        fresh.load_checkpoint(tmp_path / "damaged_rng.npz")
    assert fresh.step == 0 and all(np.array_equal(before[k], v) for k, v in parameters(adam_model).items())


# --- callbacks ---------------------------------------------------------------------------


def test_callbacks_see_every_step_and_live_plot_needs_a_plot():
    class Recorder:
        def __init__(self):
            self.events = []

        def on_fit_start(self, trainer, target):
            self.events.append(("start", trainer.step, target))

        def on_step_end(self, trainer, record):
            self.events.append(("step", record.step, record.val_loss is not None))

        def on_fit_end(self, trainer):
            self.events.append(("end", trainer.step, trainer.history[-1].val_loss is not None))

    recorder = Recorder()
    make_trainer(every=2, callbacks=[recorder]).fit(3)
    # Built-in callbacks run first: the step-2 record already holds its validation loss.
    assert recorder.events == [
        ("start", 0, 3),
        ("step", 1, False),
        ("step", 2, True),
        ("step", 3, False),
        ("end", 3, True),
    ]
    with pytest.raises(ValueError, match="LiveLossCurve"):
        LivePlot(True)


# --- attention time-lapse -------------------------------------------------------------


def test_attention_snapshots_form_a_time_lapse():
    probe = TOKENIZER.encode("JULIET:\nthe moon")
    trainer = make_trainer(model=tiny_gpt(n_layer=2), lr=1e-2, probe=AttentionProbe(probe, every=20))
    trainer.fit(40)
    steps = [s for s, _ in trainer.attention_snapshots]
    assert steps == [0, 20, 40]
    maps = [m for _, m in trainer.attention_snapshots]
    T = len(probe)
    assert all(m.shape == (2, 2, T, T) for m in maps)
    assert np.allclose(maps[-1].sum(axis=-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(maps[-1], k=1), 0.0)  # causal
    assert not np.allclose(maps[0], maps[-1])  # training changed where heads look
    with pytest.raises(ValueError, match="probe's ids have 22 tokens"):
        make_trainer(probe=AttentionProbe(TOKENIZER.encode("ROMEO:\nmy love my lord"), every=5))
    with pytest.raises(ValueError, match="attention_maps"):
        LanguageModelTrainer(
            BigramLanguageModel(V),
            SGD(BigramLanguageModel(V).parameters(), lr=0.1),
            TRAIN,
            VAL,
            16,
            8,
            probe=AttentionProbe(probe),
            progress=None,
        )


# --- live progress -------------------------------------------------------------------------


def test_text_progress_is_one_rewritten_line(capsys):
    trainer = make_trainer(progress=ProgressDisplay("text", seconds=0.0))  # draw every step
    trainer.fit(30)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n")  # one line in the end
    assert out.count("\r") >= 30  # redrawn in place at every step
    final = out.rstrip("\n").split("\r")[-1]
    assert "step 30/30" in final and "val" in final and "tok/s" in final


def test_text_progress_is_throttled(capsys):
    trainer = make_trainer(progress="text", every=None)
    trainer.fit(60)  # far faster than one redraw per second
    out = capsys.readouterr().out
    assert out.count("\r") < 20 and out.count("\n") == 1


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="larger than the model's 16 positions"):
        make_trainer(block_size=32)
    with pytest.raises(ValueError, match="needs block_size \\+ 1 = 17"):
        LanguageModelTrainer(tiny_gpt(), AdamW(tiny_gpt().parameters()), TRAIN[:10], VAL, 16, 8)
    with pytest.raises(ValueError, match="vocab_size"):
        make_trainer(model=tiny_gpt(vocab_size=5))
    with pytest.raises(ValueError, match="progress"):
        make_trainer(progress="fancy")
    with pytest.raises(ValueError, match="fit\\(\\) needs a number of steps"):
        make_trainer().fit()


def test_history_prints_as_a_summary_but_is_a_list():
    trainer = make_trainer()
    history = trainer.fit(30)
    assert isinstance(history, list) and all(isinstance(h, StepRecord) for h in history)
    text = repr(history)
    assert text.startswith("TrainingHistory(30 steps") and "val loss" in text and "\n" not in text
    assert json.loads(json.dumps(history.as_dicts()))[-1]["step"] == 30


def test_step_records_are_typed_and_still_read_like_dicts():
    """History entries are StepRecords (history[-1].val_loss); record["val_loss"], `in`, get()
    and dict(record) keep notebooks written for the earlier dicts working."""
    history = make_trainer().fit(25)
    last = history[-1]
    assert last.step == 25 and last.val_loss is not None and last.lr == pytest.approx(3e-3)
    assert last["val_loss"] == last.val_loss and last.get("grad_norm") == last.grad_norm
    assert "train_loss" in last and "loss" not in last and last.get("loss", 7) == 7
    assert dict(last) == last.as_dict() and set(dict(last)) == {
        "step",
        "train_loss",
        "val_loss",
        "lr",
        "tokens_per_sec",
        "elapsed",
        "grad_norm",
    }
    with pytest.raises(KeyError, match="'loss': a step record has step, train_loss"):
        last["loss"]


def test_auto_progress_is_text_outside_a_kernel(capsys):
    assert progress_module.resolve_mode("auto") == "text"
    assert progress_module.resolve_mode(None) is None
    make_trainer(progress="bar").fit(5)  # no kernel to show HTML: one text line instead
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "step 5/5" in out and "<" not in out


NOTEBOOK_CELL = """
import numpy as np, tinytorch as tt
from tinytorch.models import TinyGPT, TinyGPTConfig
from tinytorch.optim import AdamW
from tinytorch.training import LanguageModelTrainer
from tinytorch.training.callbacks import LivePlot, ProgressDisplay, Validation
rng = np.random.default_rng(0)
ids = rng.integers(0, 12, size=3000).astype(np.int64)
tt.manual_seed(0)
model = TinyGPT(TinyGPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, n_embd=8))
from tinytorch.viz import LiveLossCurve
trainer = LanguageModelTrainer(model, AdamW(model.parameters(), lr=1e-2), ids[:2500], ids[2500:],
                               block_size=8, batch_size=4, validation=Validation(20, 2),
                               progress=ProgressDisplay(seconds=0.0),   # redraw at every step
                               callbacks=[LivePlot(LiveLossCurve())])
trainer.fit(60)
print("done", trainer.step)
"""


def test_progress_in_a_real_jupyter_kernel_is_one_updating_display():
    """Run a real IPython kernel (as Jupyter does): one progress display updated in place (plus
    the live loss curve, also one display), no stream of text lines."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(NOTEBOOK_CELL))
    notebook.cells.append(nbformat.v4.new_code_cell("trainer.fit(5)"))  # a result shown by Jupyter
    updates = []

    class CountingClient(nbclient.NotebookClient):
        def process_message(self, msg, cell, cell_index):
            if msg["msg_type"] == "update_display_data":
                updates.append(msg)
            return super().process_message(msg, cell, cell_index)

    CountingClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    displays = [o for o in outputs if o["output_type"] == "display_data"]
    streams = [o for o in outputs if o["output_type"] == "stream"]
    assert len(displays) == 2, outputs  # the progress bar and the live loss curve
    assert len(updates) >= 60  # redrawn in place at every step
    bar, curve = (d["data"]["text/html"] for d in displays)
    assert "step 60/60" in bar and "<progress" in bar
    assert "<svg" in curve
    assert "".join(s["text"] for s in streams).strip() == "done 60"
    # fit() returns the history: as a cell's result it is one summary line, not 65 dicts.
    result = [o for o in notebook.cells[1].outputs if o["output_type"] == "execute_result"]
    assert result[0]["data"]["text/plain"].startswith("TrainingHistory(65 steps")
    assert "\n" not in result[0]["data"]["text/plain"]
