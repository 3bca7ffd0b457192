"""LanguageModelTrainer: a resumable training loop for next-character prediction.

    trainer = LanguageModelTrainer(model, optimizer, train_ids, val_ids, block_size=32, batch_size=16)
    trainer = preset("browser").build_trainer(model, train_ids, val_ids)   # the same, with a recipe
    trainer.fit(200)      # 200 steps, with one live progress line
    trainer.fit(200)      # 200 more, continuing where it stopped
    trainer.history[-1]   # StepRecord(step=400, train_loss=..., val_loss=..., lr=..., ...)

One step (`_train_step` and its `_update`, read them first): set the learning rate, sample a batch (B, T),
forward, loss, backward, clip the gradient norm, update, record. Everything else --
validation, the attention probe, checkpoints, the progress line, the live plot -- is a
callback around the loop (callbacks.py).

Training runs in chunks: `fit(steps)` as often as you like. An interrupt (Jupyter's Stop
button; in the course's browser kernel too, where the page is cross-origin isolated) puts model,
optimizer, history and random generator back to the start of the unfinished step, so
continuing gives the same numbers as never stopping. Checkpoints hold all of it too, so
training 100 steps equals training 50, saving, loading into fresh objects, and training 50.
"""

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import optim
from ..nn.module import eval_mode
from ..rng import rng as global_rng
from ..tensor import no_grad
from ..text.batches import get_batch
from ..validation import non_negative_int
from . import arguments, legacy
from . import checkpoint as ckpt
from . import state as trainer_state
from .callbacks import ProgressDisplay, Validation
from .history import StepRecord, TrainingHistory
from .loss import LanguageModelLoss


class LanguageModelTrainer:
    """Trains a language model (int ids (B, T) -> logits (B, T, V)) on a 1-D array of token ids.

    model, optimizer:  e.g. TinyGPT(config) and model.configure_optimizers(lr=1e-3)
    train_data, val_data: 1-D int arrays of token ids (val_data may be None: no validation)
    block_size, batch_size: T and B of every batch
    lr_schedule:       None (keep optimizer.lr), a function step -> lr such as
                       tinytorch.optim.CosineWarmup(lr, max_steps, warmup_steps), or "cosine"
                       (CosineWarmup from the optimizer's lr over max_steps, no warm-up)
    max_steps:         where fit() stops by default (default: the schedule's max_steps)
    grad_clip:         clip the global gradient norm to this (None: no clipping)
    loss_fn:           defaults to LanguageModelLoss()
    validation:        Validation(every, batches, seed); default Validation() (none without val_data)
    checkpoints:       Checkpoints(folder, every, keep), or None
    probe:             AttentionProbe(ids, every), or None: the attention time-lapse
    progress:          "auto" (HTML bar in Jupyter/JupyterLite, one text line elsewhere), "bar",
                       "text", None, or a ProgressDisplay(mode, seconds)
    callbacks:         more callbacks (see callbacks.py), e.g. [LivePlot(LiveLossCurve())],
                       called after the ones above

    A preset builds all of this: `preset("browser").build_trainer(model, train_ids, val_ids)`.
    After training: `history` (a StepRecord per step: step, train_loss, val_loss or None, lr,
    tokens_per_sec, elapsed, grad_norm), `attention_snapshots`, `step`, `run_id`.
    """

    def __init__(
        self,
        model,
        optimizer,
        train_data,
        val_data,
        block_size,
        batch_size,
        lr_schedule=None,
        max_steps=None,
        grad_clip=1.0,
        loss_fn=None,
        validation=None,
        checkpoints=None,
        probe=None,
        progress="auto",
        callbacks=(),
        **old_names,
    ):
        # Keywords of earlier versions (eval_interval=, checkpoint_dir=, ...) become the callbacks that own them.
        validation, checkpoints, probe, callbacks, old_schedule = legacy.translate(
            old_names, validation, checkpoints, probe, callbacks
        )
        self.model, self.optimizer = model, optimizer
        self.block_size = arguments.check_block_size(model, block_size)
        self.batch_size = arguments.check_batch_size(model, batch_size, self.block_size)
        self.train_data = arguments.check_data(model, train_data, "train_data", self.block_size)
        self.val_data = None if val_data is None else arguments.check_data(model, val_data, "val_data", self.block_size)
        self.loss_fn = loss_fn if loss_fn is not None else LanguageModelLoss()
        self.grad_clip = None if grad_clip in (None, 0) else float(grad_clip)
        self._set_schedule(lr_schedule, max_steps, old_schedule)

        # Around the loop, in this order: validation first, so a checkpoint holds the val loss.
        if self.val_data is not None and validation is None:
            validation = Validation()
        self.validation = None if self.val_data is None else validation
        self.probe = arguments.check_probe(model, probe)
        self.checkpoints = checkpoints
        self.progress = progress if isinstance(progress, ProgressDisplay) else ProgressDisplay(progress)
        builtin = [self.validation, self.probe, self.checkpoints, self.progress]
        self.callbacks = [callback for callback in builtin if callback is not None] + list(callbacks)

        self.step = 0  # optimizer updates done so far
        self.elapsed = 0.0  # seconds spent inside fit, over all calls
        self.history = TrainingHistory()
        self.attention_snapshots = []
        self.last_checkpoint = None
        self.run_id = ckpt.new_run_id()
        self.settings = trainer_state.run_settings(self)  # as built: resume() compares these
        self._params = list(model.parameters())
        self._starts = []  # where the current and the previous step began (see _rewind)

    @property
    def checkpoint_dir(self):
        """The checkpoints' folder (None without checkpoints): where resume() looks."""
        return None if self.checkpoints is None else self.checkpoints.folder

    @property
    def probe_ids(self):
        """The attention probe's token ids (None without a probe)."""
        return None if self.probe is None else self.probe.ids

    # --- the loop ------------------------------------------------------------------------

    def fit(self, steps=None):
        """Train `steps` more steps (default: until max_steps), continuing where the last call
        stopped. Shows one live progress output. Returns `history`."""
        first, target = self.step, self.step + self._steps_to_run(steps)
        started, elapsed_before = time.perf_counter(), self.elapsed
        self._notify("on_fit_start", target)
        self.model.train()
        try:
            # Overflow is caught below and explained with the step number; numpy's own
            # RuntimeWarnings would only add noise (and stderr output) to the notebook.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                while self.step < target:
                    record = self._train_step()
                    self.elapsed = record.elapsed = elapsed_before + time.perf_counter() - started
                    self._notify("on_step_end", record)
                self._notify("on_fit_end")
        except KeyboardInterrupt:
            # Stopping a long run is normal in a notebook: go back to the last finished step.
            unfinished = self._starts[-1] if self._starts and self._starts[-1].step >= first else None
            self._rewind(unfinished)
            print(f"Stopped at step {self.step}: the model is as it was after that step; fit() continues from there.")
        finally:
            self.elapsed = elapsed_before + time.perf_counter() - started
            self._notify("on_fit_close")
        return self.history

    def _train_step(self) -> StepRecord:
        """One step: learning rate, batch, update, record. Returns its record."""
        # Where an interrupt (to this step's start) or a NaN (to the previous step's) goes back to:
        self._starts = self._starts[-1:] + [self._snapshot()]
        started = time.perf_counter()
        lr = self.lr_at(self.step)
        if self.lr_schedule is not None:
            self.optimizer.lr = lr
        x, y = get_batch(self.train_data, self.batch_size, self.block_size)
        loss_value, grad_norm = self._update(x, y, lr)
        seconds = time.perf_counter() - started
        self.step += 1
        record = StepRecord(
            step=self.step,
            train_loss=loss_value,
            lr=lr,
            tokens_per_sec=self.batch_size * self.block_size / seconds if seconds > 0 else None,
            grad_norm=grad_norm,
        )
        self.history.append(record)
        return record

    def _update(self, x, y, lr) -> tuple:
        """Forward, loss, backward, clip, optimizer step on one batch (B, T). Returns (loss, grad norm or None)."""
        loss = self.loss_fn(self.model(x), y)
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            # The weights that gave this loss came from the previous update: undo it too.
            self._diverged(f"the training loss became {loss_value}", lr, self._starts[0])
        self.model.zero_grad()
        loss.backward()
        grad_norm = None
        if self.grad_clip is not None:
            grad_norm = float(optim.clip_grad_norm_(self._params, self.grad_clip))
            if not math.isfinite(grad_norm):
                # The weights still give a finite loss: keep them, drop the broken gradient.
                self._diverged(f"the gradient norm became {grad_norm}", lr, self._starts[-1])
        self.optimizer.step()
        return loss_value, grad_norm

    def _notify(self, event: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, event, None)
            if method is not None:
                method(self, *args)

    def _steps_to_run(self, steps) -> int:
        if steps is None:
            if self.max_steps is None:
                raise ValueError("fit() needs a number of steps, e.g. trainer.fit(200), or max_steps= in the trainer")
            return max(self.max_steps - self.step, 0)
        return non_negative_int(steps, "fit: steps")

    # --- the learning rate ---------------------------------------------------------------

    def _set_schedule(self, lr_schedule, max_steps, old_settings) -> None:
        if lr_schedule == "cosine":
            if not max_steps:
                raise ValueError('lr_schedule="cosine" needs max_steps (the step where the decay ends)')
            lr_schedule = optim.CosineWarmup(self.optimizer.lr, max_steps, **old_settings)
        elif not (lr_schedule is None or callable(lr_schedule)):
            raise ValueError(f'lr_schedule must be None, "cosine" or a function step -> lr, got {lr_schedule!r}')
        scheduled = getattr(lr_schedule, "max_steps", None)
        if max_steps is not None and scheduled is not None and max_steps != scheduled:
            raise ValueError(f"max_steps={max_steps} but the schedule ends at {scheduled}: give max_steps once")
        self.lr_schedule = lr_schedule
        steps = scheduled if scheduled is not None else max_steps  # the step count has one home
        self.max_steps = None if steps is None else arguments.positive_int(steps, "max_steps")
        self.lr_at(0)  # a schedule that cannot work fails now, not at step 1

    def lr_at(self, step: int) -> float:
        """The learning rate for the update after `step` completed steps."""
        if self.lr_schedule is None:
            return float(self.optimizer.lr)
        return float(self.lr_schedule(step))

    # --- going back: interrupts and NaN ----------------------------------------------------

    def _snapshot(self) -> "_StepStart":
        return _StepStart(
            step=self.step,
            weights=[p.data.copy() for p in self._params],
            optimizer=self.optimizer.state_dict(),  # already a copy
            rng=global_rng().bit_generator.state,
            records=len(self.history),
            attention_snapshots=len(self.attention_snapshots),
        )

    def _rewind(self, snapshot) -> None:
        """Put everything back to `snapshot` (None: nothing to undo), as if the steps since never ran."""
        self.model.zero_grad()
        if snapshot is None:
            return
        for p, saved in zip(self._params, snapshot.weights):
            p.data = saved
        lr = self.optimizer.lr
        self.optimizer.load_state_dict(snapshot.optimizer)
        if self.lr_schedule is None:
            self.optimizer.lr = lr  # keep the lr the student set, not the remembered one
        global_rng().bit_generator.state = snapshot.rng
        self.step = snapshot.step
        del self.history[snapshot.records :]  # in place: views holding the list see the change
        del self.attention_snapshots[snapshot.attention_snapshots :]
        self._starts = []

    def _diverged(self, what: str, lr: float, snapshot):
        step = self.step + 1
        self._rewind(snapshot)
        if self.lr_schedule is None:
            fix = f"optimizer.lr = {lr / 10:.3g}"
        elif hasattr(self.lr_schedule, "lr"):
            fix = f"trainer.lr_schedule.lr = {self.lr_schedule.lr / 10:.3g} (the schedule's peak)"
        else:
            fix = "a schedule with a lower peak"
        raise FloatingPointError(
            f"{what} at step {step} (learning rate {lr:.3g}). The model and optimizer are as they were "
            f"after step {self.step}, the last one with a finite loss. The learning rate is probably "
            f"too high: lower it (e.g. {fix}), keep grad_clip on, and call fit() again."
        )

    # --- measuring -------------------------------------------------------------------------

    def evaluate(self, split: str = "val", batches=None) -> float:
        """Mean loss over `batches` fixed batches of `split` ("val" or "train").

        The batches come from their own generator, so every call sees the same text and
        training's random stream is not disturbed. Batches and seed: the validation's settings.
        """
        data = {"val": self.val_data, "train": self.train_data}.get(split, "?")
        if isinstance(data, str):
            raise ValueError(f'split must be "val" or "train", got {split!r}')
        if data is None:
            raise ValueError("this trainer has no validation data: pass val_data to evaluate on it")
        settings = self.validation or Validation()
        batches = settings.batches if batches is None else arguments.positive_int(batches, "batches")
        rng = np.random.default_rng(settings.seed)
        total = 0.0
        with eval_mode(self.model), no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(batches):
                x, y = get_batch(data, self.batch_size, self.block_size, rng=rng)
                total += float(self.loss_fn(self.model(x), y).item())
        return total / batches

    # --- checkpoints -----------------------------------------------------------------------

    def state(self) -> dict:
        """Everything needed to continue training exactly: model, optimizer, step, history, RNG, run."""
        return trainer_state.capture(self)

    def save_checkpoint(self, path) -> Path:
        """Write a checkpoint (.npz, no pickle) atomically. Returns the path written."""
        self.last_checkpoint = ckpt.write_checkpoint(self.state(), path)
        return self.last_checkpoint

    def load_checkpoint(self, path, strict: bool = False) -> int:
        """Restore model, optimizer, step, history, random generator and run id from `path`.

        All or nothing: a checkpoint that does not fit (model class, config, parameter shapes,
        optimizer) is a ValueError naming the difference, raised before anything changes.
        strict=True also refuses a run trained with other settings (see resume). Returns the step.
        """
        state = ckpt.read_checkpoint(path)
        trainer_state.restore(self, state, f"checkpoint {str(path)!r}", strict=strict)
        self._starts = []
        self.last_checkpoint = Path(path)
        return self.step

    def resume(self, path=None, run=None, strict: bool = True):
        """Continue from a checkpoint: `path`, or the newest one of a run in checkpoint_dir.

        After a kernel crash or a page reload: build the model, optimizer and trainer as
        before, then `trainer.resume()`. Which run: `run` if given, else this trainer's own if
        it has checkpoints, else the newest run built with the same settings. It prints the run
        it continues and refuses a run trained with other settings (model, optimizer, batch,
        schedule; the error names them) unless strict=False. Returns the checkpoint's path, or
        None if the folder has no checkpoint yet.
        """
        others = []
        if path is None:
            if self.checkpoint_dir is None:
                raise ValueError('resume() needs a path, or a trainer made with checkpoints=Checkpoints("folder")')
            runs = ckpt.list_runs(self.checkpoint_dir)
            if not runs:
                print(f"No checkpoint in {str(self.checkpoint_dir)!r} yet: training starts at step 0.")
                return None
            path = self._choose_run(runs, run, strict)
            others = [str(r) for r in runs if runs[r] != path]
        step = self.load_checkpoint(path, strict=strict)
        also = (
            f" The folder also holds run(s) {', '.join(map(str, others))}: resume(run=...) picks one." if others else ""
        )
        print(f"Resumed run {self.run_id} from {str(path)!r} at step {step}.{also}")
        return Path(path)

    def _choose_run(self, runs: dict, run, strict: bool) -> Path:
        """The newest checkpoint of: `run`; else this trainer's own run; else the newest run
        trained with this trainer's settings (strict) or just the newest (not strict). With
        no match, the newest run's: loading it then says what differs."""
        if run is not None:
            if run not in runs:
                known = ", ".join(map(str, runs))
                raise ValueError(f"no checkpoint of run {run!r} in {str(self.checkpoint_dir)!r} (runs there: {known})")
            return runs[run]
        if self.run_id in runs:
            return runs[self.run_id]
        newest_first = list(reversed(runs.values()))
        for path in newest_first if strict else []:
            saved = ckpt.read_checkpoint(path)["trainer"].get("settings")
            if saved is None or not trainer_state.setting_differences(saved, self.settings):
                return path
        return newest_first[0]

    def __repr__(self) -> str:
        return (
            f"LanguageModelTrainer(run={self.run_id}, step={self.step}, model={type(self.model).__name__}, "
            f"block_size={self.block_size}, batch_size={self.batch_size}, "
            f"train tokens={self.train_data.size:,}, val tokens={0 if self.val_data is None else self.val_data.size:,})"
        )


@dataclass
class _StepStart:
    """What a step changes, as it was when the step began (the trainer keeps the last two)."""

    step: int
    weights: list
    optimizer: dict
    rng: dict
    records: int
    attention_snapshots: int
