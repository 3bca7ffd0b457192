"""What happens around the training loop: validation, the attention probe, checkpoints, the
progress line and the live plot. Each is a callback, an object with any of these methods:

    on_fit_start(trainer, target)   before the first step of fit() (target: the last step)
    on_step_end(trainer, record)    after each step (record: the StepRecord just appended)
    on_fit_end(trainer)             after the last step, when fit() ran to the end
    on_fit_close(trainer)           always, last (also after an interrupt or an error)

The trainer calls them in its order (validation first, so a checkpoint holds the val loss);
pass your own with `LanguageModelTrainer(..., callbacks=[...])`. If one raises
KeyboardInterrupt, the trainer goes back to the start of the step, as if it never began.
"""

import time

import numpy as np

from ..nn.module import eval_mode
from ..tensor import no_grad
from . import checkpoint as ckpt
from .progress import Progress, resolve_mode


class Validation:
    """Every `trainer.eval_interval` steps, and after the last step of each fit, put the
    validation loss into the step's record (`trainer.evaluate()`: fixed batches, so the numbers
    compare over time)."""

    def on_fit_start(self, trainer, target):
        self.steps = target - trainer.step

    def on_step_end(self, trainer, record):
        if trainer.eval_interval and record.step % trainer.eval_interval == 0:
            record.val_loss = trainer.evaluate()

    def on_fit_end(self, trainer):
        last = trainer.history[-1] if trainer.history else None
        if self.steps and last is not None and last.val_loss is None:
            last.val_loss = trainer.evaluate()


class AttentionProbe:
    """The attention time-lapse: every `trainer.probe_every` steps (and once before training
    starts) append (step, model.attention_maps(trainer.probe_ids)) -- maps (L, H, T, T) -- to
    `trainer.attention_snapshots`."""

    def on_fit_start(self, trainer, target):
        if trainer.step == 0 and not trainer.attention_snapshots:
            self.record(trainer)  # the time-lapse starts from the untrained model

    def on_step_end(self, trainer, record):
        if trainer.probe_every and record.step % trainer.probe_every == 0:
            self.record(trainer)

    def record(self, trainer):
        model = trainer.model
        with eval_mode(model), no_grad():  # no dropout on the maps
            maps = np.array(model.attention_maps(trainer.probe_ids), copy=True)
        trainer.attention_snapshots.append((trainer.step, maps))


class Checkpoints:
    """Every `trainer.checkpoint_every` steps and after the last step of each fit, write
    `checkpoint_dir/run-<id>_step_XXXXXX.npz`; keep the `trainer.keep_checkpoints` newest of
    this run (other runs' files are never touched)."""

    def on_fit_start(self, trainer, target):
        self.steps = target - trainer.step

    def on_step_end(self, trainer, record):
        if trainer.checkpoint_every and record.step % trainer.checkpoint_every == 0:
            self.write(trainer)

    def on_fit_end(self, trainer):
        if self.steps and trainer.last_checkpoint != self.path(trainer):
            self.write(trainer)

    def path(self, trainer):
        return trainer.checkpoint_dir / ckpt.checkpoint_name(trainer.step, trainer.run_id)

    def write(self, trainer):
        trainer.save_checkpoint(self.path(trainer))
        keep = trainer.keep_checkpoints
        if keep:
            for _, old in ckpt.list_checkpoints(trainer.checkpoint_dir, run=trainer.run_id)[:-keep]:
                old.unlink()


class ProgressDisplay:
    """One live output per fit: an HTML bar in Jupyter/JupyterLite, one rewritten text line
    elsewhere (`trainer.progress`: "auto", "bar", "text" or None), redrawn at most every
    `trainer.progress_interval` seconds."""

    def on_fit_start(self, trainer, target):
        self.display = Progress(resolve_mode(trainer.progress), trainer.progress_interval)
        self.start, self.target, self.started = trainer.step, target, time.perf_counter()
        self.tokens, self.seconds = 0, 0.0
        self.display.update(self.status(trainer), force=True)

    def on_step_end(self, trainer, record):
        if record.tokens_per_sec:
            tokens = trainer.batch_size * trainer.block_size
            self.tokens += tokens
            self.seconds += tokens / record.tokens_per_sec
        self.display.update(self.status(trainer), force=record.val_loss is not None)

    def on_fit_close(self, trainer):
        self.display.close(self.status(trainer, done=True))

    def status(self, trainer, done=False) -> dict:
        spent = time.perf_counter() - self.started
        made = trainer.step - self.start
        last = trainer.history[-1] if trainer.history and made > 0 else None
        val_step, val_loss = trainer.history.last_validation()
        return {
            "start": self.start,
            "step": trainer.step,
            "target": self.target,
            "train_loss": last and last.train_loss,
            "val_loss": val_loss,
            "val_step": val_step,
            "lr": last and last.lr,
            "tokens_per_sec": self.tokens / self.seconds if self.seconds > 0 else None,
            "elapsed": spent,
            "remaining": spent / made * (self.target - trainer.step) if made > 0 else None,
            "done": done,
        }


class LivePlot:
    """Redraw a plot (anything with `update(history)`, e.g. tinytorch.viz.LiveLossCurve) after
    each validation, at most every `trainer.plot_interval` seconds in between, and at the end."""

    def __init__(self, plot):
        self.plot = plot
        self.last = None

    def on_step_end(self, trainer, record):
        now = time.perf_counter()
        if record.val_loss is not None or self.last is None or now - self.last >= trainer.plot_interval:
            self.plot.update(trainer.history)
            self.last = now

    def on_fit_close(self, trainer):
        self.plot.update(trainer.history)
