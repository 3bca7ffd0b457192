"""LanguageModelTrainer: a resumable training loop for next-character prediction.

    trainer = LanguageModelTrainer(model, optimizer, train_ids, val_ids, block_size=32, batch_size=16)
    trainer.fit(200)      # 200 steps, with one live progress line
    trainer.fit(200)      # 200 more, continuing where it stopped
    trainer.history[-1]   # {'step': 400, 'train_loss': ..., 'val_loss': ..., 'lr': ..., ...}

One step: sample a batch (B, T), forward, loss, backward, clip the gradient norm, update.
Every `eval_interval` steps (and at the end of each `fit`) the validation loss is measured
on the same fixed validation batches, so the numbers are comparable over time.

In the browser a cell cannot be interrupted, so training runs in chunks: `fit(steps)` as
often as you like. Checkpoints (`save_checkpoint`, or `checkpoint_dir=` for automatic ones)
hold the model, the optimizer, the step, the history and the random generator's state, so
training 100 steps equals training 50, saving, loading into fresh objects, and training 50.
"""

import dataclasses
import math
import time
from pathlib import Path

import numpy as np

from .. import optim
from .. import random as tt_random
from ..tensor import no_grad
from ..text.batches import _as_id_array, get_batch
from ..nn.module import eval_mode
from ..validation import positive_int as _positive_int
from . import checkpoint as ckpt
from .history import TrainingHistory
from .loss import LanguageModelLoss
from .progress import Progress, resolve_mode


class LanguageModelTrainer:
    """Trains a language model (int ids (B, T) -> logits (B, T, V)) on a 1-D array of token ids.

    model, optimizer:  e.g. TinyGPT(config) and tinytorch.optim.AdamW(model.parameters(), lr=1e-3)
    train_data, val_data: 1-D int arrays of token ids (val_data may be None: no validation)
    block_size, batch_size: T and B of every batch
    eval_interval:     measure the validation loss every this many steps (and at the end of fit)
    eval_batches:      how many fixed validation batches make one measurement
    lr_schedule:       None (keep optimizer.lr), "cosine" (warm-up then cosine decay over
                       max_steps, peak = the optimizer's lr), or a function step -> lr
    warmup_steps, max_steps, min_lr: for the cosine schedule (min_lr default: peak / 10)
    grad_clip:         clip the global gradient norm to this (None: no clipping)
    checkpoint_dir, checkpoint_every: write step_XXXXXX.npz there every N steps and at the end
                       of each fit; keep_checkpoints newest are kept
    probe_ids, probe_every: attention time-lapse: every N steps append
                       (step, model.attention_maps(probe_ids)) to `attention_snapshots`
    progress:          "auto" (HTML bar in Jupyter/JupyterLite, one text line elsewhere),
                       "bar", "text" or None
    live_plot:         True: also draw the loss curve live (tinytorch.viz.LiveLossCurve);
                       or pass your own LiveLossCurve(ladder=...)
    loss_fn:           defaults to LanguageModelLoss()

    After training: `history` (one dict per step: step, train_loss, val_loss or None, lr,
    tokens_per_sec, elapsed, grad_norm), `attention_snapshots`, `step`.
    """

    progress_interval = 0.5  # seconds between redraws of the live output
    plot_interval = 2.0  # seconds between redraws of the live loss curve (an SVG costs more)

    def __init__(
        self,
        model,
        optimizer,
        train_data,
        val_data,
        block_size,
        batch_size,
        eval_interval=100,
        eval_batches=20,
        lr_schedule=None,
        warmup_steps=0,
        max_steps=None,
        min_lr=None,
        grad_clip=1.0,
        checkpoint_dir=None,
        checkpoint_every=None,
        keep_checkpoints=3,
        probe_ids=None,
        probe_every=None,
        progress="auto",
        live_plot=False,
        loss_fn=None,
        eval_seed=1234,
    ):
        self.model = model
        self.optimizer = optimizer
        self.block_size = _positive_int(block_size, "block_size")
        self.batch_size = _positive_int(batch_size, "batch_size")
        self._check_model_positions()
        self.train_data = self._check_data(train_data, "train_data")
        self.val_data = None if val_data is None else self._check_data(val_data, "val_data")
        self.eval_interval = None if not eval_interval else _positive_int(eval_interval, "eval_interval")
        self.eval_batches = _positive_int(eval_batches, "eval_batches")
        self.eval_seed = int(eval_seed)

        if not (lr_schedule is None or lr_schedule == "cosine" or callable(lr_schedule)):
            raise ValueError(f'lr_schedule must be None, "cosine" or a function step -> lr, got {lr_schedule!r}')
        if lr_schedule == "cosine" and not max_steps:
            raise ValueError('lr_schedule="cosine" needs max_steps (the step where the decay ends)')
        self.lr_schedule = lr_schedule
        self.warmup_steps = int(warmup_steps)
        self.max_steps = None if max_steps is None else _positive_int(max_steps, "max_steps")
        self.base_lr = float(optimizer.lr)  # the peak of a schedule
        self.min_lr = self.base_lr / 10 if min_lr is None else float(min_lr)
        self.grad_clip = None if grad_clip in (None, 0) else float(grad_clip)
        self.lr_at(0)  # a schedule that cannot work (e.g. warmup_steps > max_steps) fails now

        if checkpoint_every and checkpoint_dir is None:
            raise ValueError("checkpoint_every needs checkpoint_dir (the folder to write the checkpoints to)")
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.checkpoint_every = None if not checkpoint_every else _positive_int(checkpoint_every, "checkpoint_every")
        self.keep_checkpoints = None if keep_checkpoints is None else _positive_int(keep_checkpoints, "keep_checkpoints")

        if probe_ids is not None:
            if not hasattr(model, "attention_maps"):
                raise ValueError(f"probe_ids needs a model with attention_maps(ids); {type(model).__name__} has none")
            probe_ids = _as_id_array(probe_ids, "probe_ids")
            limit = getattr(getattr(model, "config", None), "block_size", None)
            if probe_ids.size == 0 or (limit is not None and probe_ids.size > limit):
                raise ValueError(
                    f"probe_ids has {probe_ids.size} tokens; the attention probe needs 1 to "
                    f"{limit} (the model's block_size): use a shorter probe text"
                )
        elif probe_every:
            raise ValueError("probe_every needs probe_ids (the token ids whose attention to record)")
        self.probe_ids = probe_ids
        self.probe_every = None if not probe_every else _positive_int(probe_every, "probe_every")

        self.progress = progress
        resolve_mode(progress)  # reject a misspelt mode now, not after the first step
        self.live_plot = live_plot
        self.loss_fn = loss_fn if loss_fn is not None else LanguageModelLoss()
        self._params = list(model.parameters())

        self.step = 0  # optimizer updates done so far
        self.elapsed = 0.0  # seconds spent inside fit, over all calls
        self.history = TrainingHistory()
        self.attention_snapshots = []
        self.last_checkpoint = None
        self._good_state = None  # (model arrays, optimizer state, step) before the last update
        self._updating = False  # True while an update is applied but not yet recorded

    # --- checks --------------------------------------------------------------------

    def _check_model_positions(self) -> None:
        config = getattr(self.model, "config", None)
        limit = getattr(config, "block_size", None)
        if limit is not None and self.block_size > limit:
            raise ValueError(
                f"block_size {self.block_size} is larger than the model's {limit} positions "
                f"(config.block_size): use block_size <= {limit} or build a model with more positions"
            )

    def _check_data(self, data, name):
        config = getattr(self.model, "config", None)
        vocab = getattr(config, "vocab_size", getattr(self.model, "vocab_size", None))
        array = _as_id_array(data, name, vocab)  # names a bad id (a -1 too) and the largest valid one
        if array.size < self.block_size + 1:
            raise ValueError(
                f"{name} has {array.size} tokens but one batch window needs block_size + 1 = "
                f"{self.block_size + 1}: use more text or a smaller block_size"
            )
        return array

    # --- the learning rate -----------------------------------------------------------

    def lr_at(self, step: int) -> float:
        """The learning rate for the update after `step` completed steps."""
        if self.lr_schedule is None:
            return float(self.optimizer.lr)
        if self.lr_schedule == "cosine":
            return float(
                optim.cosine_with_warmup(
                    step,
                    max_lr=self.base_lr,
                    warmup_steps=self.warmup_steps,
                    total_steps=self.max_steps,
                    min_lr=self.min_lr,
                )
            )
        return float(self.lr_schedule(step))

    # --- training --------------------------------------------------------------------

    def fit(self, steps=None):
        """Train `steps` more steps (default: until max_steps), continuing where the last call
        stopped. Shows one live progress output. Returns `history`."""
        if steps is None:
            if self.max_steps is None:
                raise ValueError("fit() needs a number of steps, e.g. trainer.fit(200), or max_steps= in the trainer")
            steps = max(self.max_steps - self.step, 0)
        steps = int(steps)
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        start, target = self.step, self.step + steps
        progress = Progress(resolve_mode(self.progress), self.progress_interval)
        plot = self._make_live_plot()
        fit_started = last_plot = time.perf_counter()
        elapsed_before = self.elapsed
        trained_tokens, train_seconds = 0, 0.0

        def status(done=False):
            spent = time.perf_counter() - fit_started
            made = self.step - start
            last = self.history[-1] if self.history and made else {}
            val_step, val_loss = self._last_validation()
            return {
                "start": start,
                "step": self.step,
                "target": target,
                "train_loss": last.get("train_loss"),
                "val_loss": val_loss,
                "val_step": val_step,
                "lr": last.get("lr"),
                "tokens_per_sec": trained_tokens / train_seconds if train_seconds > 0 else None,
                "elapsed": spent,
                "remaining": spent / made * (target - self.step) if made else None,
                "done": done,
            }

        if self.probe_ids is not None and self.step == 0 and not self.attention_snapshots:
            self._record_attention()  # the time-lapse starts from the untrained model
        self.model.train()
        progress.update(status(), force=True)
        interrupted = False
        try:
            while self.step < target:
                seconds = self._train_step()
                trained_tokens += self.batch_size * self.block_size
                train_seconds += seconds
                self.elapsed = elapsed_before + (time.perf_counter() - fit_started)
                self.history[-1]["elapsed"] = self.elapsed
                evaluated = self._after_step()
                progress.update(status(), force=evaluated)
                if plot is not None and (evaluated or time.perf_counter() - last_plot >= self.plot_interval):
                    plot.update(self.history)
                    last_plot = time.perf_counter()
            if self.val_data is not None and self.history and self.history[-1]["val_loss"] is None and steps:
                self.history[-1]["val_loss"] = self.evaluate()
            if self.checkpoint_dir is not None and steps and self._auto_checkpoint_path() != self.last_checkpoint:
                self._write_auto_checkpoint()
        except KeyboardInterrupt:
            # Stopping a long run is normal in a notebook: keep a consistent model, no traceback.
            self._stop_cleanly()
            interrupted = True
        finally:
            self.elapsed = elapsed_before + (time.perf_counter() - fit_started)
            progress.close(status(done=True))
            if plot is not None:
                plot.update(self.history)
        if interrupted:
            print(f"Stopped at step {self.step}: the model is as it was after that step; fit() continues from there.")
        return self.history

    def _train_step(self) -> float:
        """One update; appends to history. Returns the seconds it took."""
        # Overflow is detected below and explained with the step number; numpy's own
        # RuntimeWarnings would only add noise (and stderr output) to the notebook.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train_step_unguarded()

    def _train_step_unguarded(self) -> float:
        started = time.perf_counter()
        step = self.step + 1
        lr = self.lr_at(self.step)
        if self.lr_schedule is not None:
            self.optimizer.lr = lr
        x, y = get_batch(self.train_data, self.batch_size, self.block_size)
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            self._diverged(step, f"the training loss became {loss_value}", lr)
        self.model.zero_grad()
        loss.backward()
        grad_norm = None
        if self.grad_clip is not None:
            grad_norm = float(optim.clip_grad_norm_(self._params, self.grad_clip))
            if not math.isfinite(grad_norm):
                # The weights still give a finite loss: keep them, drop the broken gradient.
                self._diverged(step, f"the gradient norm became {grad_norm}", lr, restore=False)
        self._remember_good_state()
        self._updating = True  # until the step is fully recorded (see _stop_cleanly)
        self.optimizer.step()
        seconds = time.perf_counter() - started
        self.step = step
        self.history.append(
            {
                "step": step,
                "train_loss": loss_value,
                "val_loss": None,
                "lr": lr,
                "tokens_per_sec": self.batch_size * self.block_size / seconds if seconds > 0 else None,
                "elapsed": self.elapsed,
                "grad_norm": grad_norm,
            }
        )
        self._updating = False
        return seconds

    def _after_step(self) -> bool:
        """Validation, attention probe and auto-checkpoint when their step comes. True if evaluated."""
        evaluated = False
        if self.val_data is not None and self.eval_interval and self.step % self.eval_interval == 0:
            self.history[-1]["val_loss"] = self.evaluate()
            evaluated = True
        if self.probe_every and self.step % self.probe_every == 0:
            self._record_attention()
        if self.checkpoint_every and self.step % self.checkpoint_every == 0:
            self._write_auto_checkpoint()
        return evaluated

    def _last_validation(self):
        return self.history.last_validation()

    # --- NaN protection -------------------------------------------------------------

    def _remember_good_state(self) -> None:
        # The loss of the current weights was finite: keep them, so if this update sends the
        # weights somewhere that gives NaN, the model can go back here.
        self._good_state = (
            [p.data.copy() for p in self._params],
            self.optimizer.state_dict(),  # already a copy: its arrays and lists are new
            self.step,
        )

    def _restore_good_state(self) -> int:
        """Put model, optimizer, step and history back to the remembered state; returns its step."""
        arrays, optimizer_state, good_step = self._good_state
        lr = self.optimizer.lr
        for p, saved in zip(self._params, arrays):
            p.data = saved
            p.grad = None
        self.optimizer.load_state_dict(optimizer_state)
        if self.lr_schedule is None:
            self.optimizer.lr = lr  # keep the lr the student set, not the remembered one
        self.step = good_step
        self.history[:] = [h for h in self.history if h["step"] <= good_step]  # in place: views keep it
        self.attention_snapshots[:] = [(s, m) for s, m in self.attention_snapshots if s <= good_step]
        self._good_state = None
        self._updating = False
        return good_step

    def _stop_cleanly(self) -> None:
        """After an interrupt (Jupyter's stop button): never leave a half-applied update."""
        if self._updating and self._good_state is not None:
            self._restore_good_state()
        self.model.zero_grad()

    def _diverged(self, step: int, what: str, lr: float, restore: bool = True):
        restored = f" The model stays at step {self.step}."
        if restore and self._good_state is not None:
            good_step = self._restore_good_state()
            restored = f" The model and optimizer were put back to step {good_step}, the last one with a finite loss."
        self.model.zero_grad()
        if self.lr_schedule is None:
            fix = f"optimizer.lr = {lr / 10:.3g}"
        else:
            fix = f"trainer.base_lr = {self.base_lr / 10:.3g} (the schedule's peak)"
        raise FloatingPointError(
            f"{what} at step {step} (learning rate {lr:.3g}).{restored} The learning rate is "
            f"probably too high: lower it (e.g. {fix}), keep grad_clip on, and call fit() again."
        )

    # --- measuring -------------------------------------------------------------------

    def evaluate(self, split: str = "val", batches=None) -> float:
        """Mean loss over `batches` (default eval_batches) fixed batches of `split` ("val" or "train").

        The batches come from their own generator (seeded with eval_seed), so every call sees
        the same text and training's random stream is not disturbed.
        """
        data = {"val": self.val_data, "train": self.train_data}.get(split, "?")
        if isinstance(data, str):
            raise ValueError(f'split must be "val" or "train", got {split!r}')
        if data is None:
            raise ValueError("this trainer has no validation data: pass val_data to evaluate on it")
        batches = self.eval_batches if batches is None else _positive_int(batches, "batches")
        rng = np.random.default_rng(self.eval_seed)
        total = 0.0
        with eval_mode(self.model), no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(batches):
                x, y = get_batch(data, self.batch_size, self.block_size, rng=rng)
                total += float(self.loss_fn(self.model(x), y).item())
        return total / batches

    def _record_attention(self) -> None:
        with eval_mode(self.model), no_grad():  # no dropout on the maps
            maps = np.array(self.model.attention_maps(self.probe_ids), copy=True)
        self.attention_snapshots.append((self.step, maps))

    def _make_live_plot(self):
        if not self.live_plot:
            return None
        if hasattr(self.live_plot, "update"):
            return self.live_plot  # a LiveLossCurve made by the caller (e.g. with a ladder)
        from ..viz import LiveLossCurve  # imported only when asked for

        return LiveLossCurve()

    # --- checkpoints -----------------------------------------------------------------

    def _model_config(self):
        config = getattr(self.model, "config", None)
        if config is None:
            return None
        if dataclasses.is_dataclass(config):
            return dataclasses.asdict(config)
        return dict(vars(config))

    def state(self) -> dict:
        """Everything needed to continue training exactly: model, optimizer, step, history, RNG."""
        return {
            "model_class": type(self.model).__name__,
            "model_config": self._model_config(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "trainer": {
                "step": self.step,
                "elapsed": self.elapsed,
                "history": self.history,
                "attention_snapshots": self.attention_snapshots,
                "base_lr": self.base_lr,
                "block_size": self.block_size,
                "batch_size": self.batch_size,
            },
            "rng": tt_random.rng().bit_generator.state,
        }

    def save_checkpoint(self, path) -> Path:
        """Write a checkpoint (.npz, no pickle) atomically. Returns the path written."""
        written = ckpt.write_checkpoint(self.state(), path)
        self.last_checkpoint = written
        return written

    def load_checkpoint(self, path) -> int:
        """Restore model, optimizer, step, history and the random generator from `path`.

        A checkpoint from a different model (class, config or parameter shapes) is a
        ValueError naming the differences, raised before anything is changed. Returns the step.
        """
        state = ckpt.read_checkpoint(path)
        self._check_compatible(state, path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        trainer = state["trainer"]
        self.step = int(trainer["step"])
        self.elapsed = float(trainer["elapsed"])
        self.history[:] = [dict(entry) for entry in trainer["history"]]
        self.attention_snapshots = [(int(s), np.asarray(m)) for s, m in trainer["attention_snapshots"]]
        self.base_lr = float(trainer["base_lr"])
        rng_state = state["rng"]
        generator = tt_random.rng()
        if rng_state.get("bit_generator") != type(generator.bit_generator).__name__:
            raise ValueError(f"the checkpoint's random generator is {rng_state.get('bit_generator')}, not {type(generator.bit_generator).__name__}")
        generator.bit_generator.state = rng_state
        self._good_state = None
        self.last_checkpoint = Path(path)
        return self.step

    def _check_compatible(self, state, path) -> None:
        where = f"checkpoint {str(path)!r}"
        if state.get("model_class") != type(self.model).__name__:
            raise ValueError(
                f"{where} holds a {state.get('model_class')}, not a {type(self.model).__name__}: "
                "build the same kind of model before loading it"
            )
        saved, mine = state.get("model_config"), self._model_config()
        if saved is not None and mine is not None:
            differences = [
                f"{key}: checkpoint {saved.get(key)!r}, this model {mine.get(key)!r}"
                for key in sorted(set(saved) | set(mine))
                if saved.get(key) != mine.get(key) and key not in _FREE_CONFIG_FIELDS
            ]
            if differences:
                raise ValueError(
                    f"{where} was saved from a model with a different config ("
                    + "; ".join(differences)
                    + "). Build the model with the checkpoint's config to load it."
                )
        own = self.model.state_dict()
        theirs = state["model"]
        problems = [f"missing {k}" for k in own if k not in theirs]
        problems += [f"unexpected {k}" for k in theirs if k not in own]
        problems += [
            f"{k}: checkpoint {tuple(np.shape(theirs[k]))}, this model {tuple(np.shape(own[k]))}"
            for k in own
            if k in theirs and np.shape(theirs[k]) != np.shape(own[k])
        ]
        if problems:
            raise ValueError(f"{where} does not fit this model's parameters: " + "; ".join(problems))

    def _auto_checkpoint_path(self) -> Path:
        return self.checkpoint_dir / ckpt.checkpoint_name(self.step)

    def _write_auto_checkpoint(self) -> Path:
        path = self.save_checkpoint(self._auto_checkpoint_path())
        if self.keep_checkpoints:
            for _, old in ckpt.list_checkpoints(self.checkpoint_dir)[: -self.keep_checkpoints]:
                old.unlink()
        return path

    def resume(self, path=None):
        """Continue from a checkpoint: `path`, or the newest one in checkpoint_dir.

        After a kernel crash or a page reload: build the model, optimizer and trainer as
        before, then `trainer.resume()`. Returns the checkpoint's path, or None if there was
        none (training then starts from step 0).
        """
        if path is None:
            if self.checkpoint_dir is None:
                raise ValueError("resume() needs a path, or a trainer made with checkpoint_dir=")
            path = ckpt.find_latest_checkpoint(self.checkpoint_dir)
            if path is None:
                print(f"No checkpoint in {str(self.checkpoint_dir)!r} yet: training starts at step 0.")
                return None
        step = self.load_checkpoint(path)
        print(f"Resumed from {str(path)!r} at step {step}.")
        return Path(path)

    def __repr__(self) -> str:
        return (
            f"LanguageModelTrainer(step={self.step}, model={type(self.model).__name__}, "
            f"block_size={self.block_size}, batch_size={self.batch_size}, "
            f"train tokens={self.train_data.size:,}, val tokens={0 if self.val_data is None else self.val_data.size:,})"
        )


# Config fields that change how a model trains, not which weights it has: resuming with a
# different dropout is a choice, not a mistake.
_FREE_CONFIG_FIELDS = {"dropout"}

