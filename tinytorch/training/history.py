"""The training history: one `StepRecord` per step, in a list that prints as a one-line summary.

    record = trainer.history[-1]
    record.train_loss, record.val_loss      # typed fields
    record["train_loss"]                    # the same, read like the dicts of earlier versions

`trainer.fit(200)` returns the history; as the last line of a notebook cell a plain list would
print hundreds of records, so this list prints a summary instead.
"""

import dataclasses
from dataclasses import dataclass


@dataclass
class StepRecord:
    """What happened at one training step.

    step:           optimizer updates done, counting this one (1, 2, ...)
    train_loss:     the loss of this step's batch, before the update
    lr:             the learning rate of the update
    elapsed:        seconds spent inside fit() up to the end of this step, over all calls
    tokens_per_sec: B * T / the seconds this step took
    grad_norm:      the gradient's global norm before clipping (None without grad_clip)
    val_loss:       the validation loss after this step, or None where it was not measured
    """

    step: int
    train_loss: float
    lr: float
    elapsed: float = 0.0
    tokens_per_sec: float | None = None
    grad_norm: float | None = None
    val_loss: float | None = None

    # record["train_loss"]: the dict-style reading earlier versions (and many notebooks) use.
    def __getitem__(self, key):
        if key not in FIELDS:
            raise KeyError(f"{key!r}: a step record has {', '.join(FIELDS)}")
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key) if key in FIELDS else default

    def __contains__(self, key) -> bool:
        return key in FIELDS

    def keys(self):
        return FIELDS

    def as_dict(self) -> dict:
        """A plain dict (for JSON, or a checkpoint)."""
        return dict(vars(self))


FIELDS = tuple(field.name for field in dataclasses.fields(StepRecord))


class TrainingHistory(list):
    """A list of StepRecord, one per step, that prints as a one-line summary."""

    def last_validation(self):
        """(step, val_loss) of the newest validated step, or (None, None)."""
        for record in reversed(self):
            if record.val_loss is not None:
                return record.step, record.val_loss
        return None, None

    def as_dicts(self) -> list:
        """Plain dicts, one per step (e.g. for json.dumps)."""
        return [record.as_dict() for record in self]

    def __repr__(self) -> str:
        if not self:
            return "TrainingHistory(no steps yet)"
        last = self[-1]
        parts = [f"{len(self)} steps (up to step {last.step})", f"last train loss {last.train_loss:.4f}"]
        val_step, val_loss = self.last_validation()
        if val_loss is not None:
            parts.append(f"val loss {val_loss:.4f} at step {val_step}")
        parts.append(f"{last.elapsed:.1f} s")
        return (
            "TrainingHistory(" + ", ".join(parts) + ")  "
            "-- a list of StepRecord: history[-1].val_loss, or tinytorch.viz.loss_curves(history)"
        )

    def _repr_pretty_(self, printer, cycle):  # IPython uses this for the cell's result
        printer.text(repr(self))
