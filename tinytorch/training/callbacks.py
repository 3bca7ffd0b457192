"""What happens around the training loop: validation, the attention probe, checkpoints, the
progress line and the live plot. Each is a callback, an object with any of these methods:

    on_fit_start(trainer, target)   before the first step of fit() (target: the last step)
    on_step_end(trainer, record)    after each step (record: the StepRecord just appended)
    on_fit_end(trainer)             after the last step, when fit() ran to the end
    on_fit_close(trainer)           always, last (also after an interrupt or an error)

Each owns its settings (`Validation(every=100)`, `Checkpoints("checkpoints", every=250)`):
give them to the trainer, which calls them in a fixed order -- validation, probe, checkpoints
(so a checkpoint holds the step's val loss and snapshot), progress, then `callbacks=[...]` as
given (e.g. `LivePlot(LiveLossCurve())`). If one raises KeyboardInterrupt, the trainer goes
back to the start of the step, as if it never began.
"""

import time
from pathlib import Path

import numpy as np

from ..nn.module import eval_mode
from ..tensor import no_grad
from ..text.batches import as_id_array
from ..validation import positive_int
from . import checkpoint as ckpt
from .progress import Progress, resolve_mode


def _every(value, name):
    """None for None/0/False (only at the end of each fit, or never), else a positive int."""
    return None if not value else positive_int(value, name)


class Validation:
    """Every `every` steps, and after the last step of each fit, put the validation loss into
    the step's record: the mean loss over `batches` fixed batches drawn with `seed`
    (`trainer.evaluate()`), so the numbers compare over time. every=None: at the end of each fit only."""

    def __init__(self, every=100, batches=20, seed=1234):
        self.every = _every(every, "Validation: every")
        self.batches = positive_int(batches, "Validation: batches")
        self.seed = int(seed)

    def on_fit_start(self, trainer, target):
        self.steps = target - trainer.step

    def on_step_end(self, trainer, record):
        if self.every and record.step % self.every == 0:
            record.val_loss = trainer.evaluate()

    def on_fit_end(self, trainer):
        last = trainer.history[-1] if trainer.history else None
        if self.steps and last is not None and last.val_loss is None:
            last.val_loss = trainer.evaluate()


class AttentionProbe:
    """The attention time-lapse: every `every` steps (and once before training starts) append
    (step, model.attention_maps(ids)) -- maps (L, H, T, T) -- to `trainer.attention_snapshots`.
    ids: the token ids (T,) whose attention to record, at most the model's block_size."""

    def __init__(self, ids, every=None):
        self.ids = as_id_array(ids, "AttentionProbe: ids")
        self.every = _every(every, "AttentionProbe: every")

    def on_fit_start(self, trainer, target):
        if trainer.step == 0 and not trainer.attention_snapshots:
            self.record(trainer)  # the time-lapse starts from the untrained model

    def on_step_end(self, trainer, record):
        if self.every and record.step % self.every == 0:
            self.record(trainer)

    def record(self, trainer):
        model = trainer.model
        with eval_mode(model), no_grad():  # no dropout on the maps
            maps = np.array(model.attention_maps(self.ids), copy=True)
        trainer.attention_snapshots.append((trainer.step, maps))


class Checkpoints:
    """Every `every` steps (None: only at the end) and after the last step of each fit, write
    `folder/run-<id>_step_XXXXXX.npz`; keep the `keep` newest of this run (None: all; other
    runs' files are never touched). `trainer.resume()` looks in `folder`."""

    def __init__(self, folder, every=None, keep=3):
        self.folder = Path(folder)
        self.every = _every(every, "Checkpoints: every")
        self.keep = _every(keep, "Checkpoints: keep")

    def on_fit_start(self, trainer, target):
        self.steps = target - trainer.step

    def on_step_end(self, trainer, record):
        if self.every and record.step % self.every == 0:
            self.write(trainer)

    def on_fit_end(self, trainer):
        if self.steps and trainer.last_checkpoint != self.path(trainer):
            self.write(trainer)

    def path(self, trainer):
        return self.folder / ckpt.checkpoint_name(trainer.step, trainer.run_id)

    def write(self, trainer):
        trainer.save_checkpoint(self.path(trainer))
        if self.keep:
            for _, old in ckpt.list_checkpoints(self.folder, run=trainer.run_id)[: -self.keep]:
                old.unlink()


class ProgressDisplay:
    """One live output per fit: an HTML bar in Jupyter/JupyterLite, one rewritten text line
    elsewhere (mode: "auto", "bar", "text" or None), redrawn at most every `seconds`.

    In a browser tab the page renders on the same 2-4 cores that train: redrawing every 0.5 s
    cost ~6% of training time there, every 1 s ~2%."""

    def __init__(self, mode="auto", seconds=1.0):
        resolve_mode(mode)  # reject a misspelt mode now, not after the first step
        self.mode, self.seconds = mode, float(seconds)

    def on_fit_start(self, trainer, target):
        self.display = Progress(resolve_mode(self.mode), self.seconds)
        self.start, self.target, self.started = trainer.step, target, time.perf_counter()
        self.tokens, self.spent_training = 0, 0.0
        self.display.update(self.status(trainer), force=True)

    def on_step_end(self, trainer, record):
        if record.tokens_per_sec:
            tokens = trainer.batch_size * trainer.block_size
            self.tokens += tokens
            self.spent_training += tokens / record.tokens_per_sec
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
            "tokens_per_sec": self.tokens / self.spent_training if self.spent_training > 0 else None,
            "elapsed": spent,
            "remaining": spent / made * (self.target - trainer.step) if made > 0 else None,
            "done": done,
        }


class LivePlot:
    """Redraw a plot (anything with `update(history)`, e.g. tinytorch.viz.LiveLossCurve) after
    each validation, at most every `seconds` in between (an SVG costs more than the progress
    line: every 5 s cost ~2% of training in a browser tab), and at the end."""

    def __init__(self, plot, seconds=5.0):
        if not hasattr(plot, "update"):
            raise ValueError(
                f"LivePlot needs a plot with update(history), got {plot!r}: "
                "from tinytorch.viz import LiveLossCurve, then LivePlot(LiveLossCurve())"
            )
        self.plot, self.seconds = plot, float(seconds)
        self.last = None

    def on_step_end(self, trainer, record):
        now = time.perf_counter()
        if record.val_loss is not None or self.last is None or now - self.last >= self.seconds:
            self.plot.update(trainer.history)
            self.last = now

    def on_fit_close(self, trainer):
        self.plot.update(trainer.history)
