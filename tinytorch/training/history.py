"""The training history: a plain list of per-step dicts that prints as a one-line summary.

`trainer.fit(200)` returns the history; as the last line of a notebook cell a plain list would
print hundreds of dicts. This list prints a summary instead; everything else (indexing, len,
iteration, ==, json.dumps) is an ordinary list's.
"""


class TrainingHistory(list):
    """list of {"step", "train_loss", "val_loss" (None if not measured), "lr", "tokens_per_sec",
    "elapsed", "grad_norm"}, one per step."""

    def last_validation(self):
        """(step, val_loss) of the newest validated step, or (None, None)."""
        for entry in reversed(self):
            if entry.get("val_loss") is not None:
                return entry["step"], entry["val_loss"]
        return None, None

    def __repr__(self) -> str:
        if not self:
            return "TrainingHistory(no steps yet)"
        last = self[-1]
        parts = [f"{len(self)} steps (up to step {last['step']})", f"last train loss {last['train_loss']:.4f}"]
        val_step, val_loss = self.last_validation()
        if val_loss is not None:
            parts.append(f"val loss {val_loss:.4f} at step {val_step}")
        if last.get("elapsed") is not None:
            parts.append(f"{last['elapsed']:.1f} s")
        return (
            "TrainingHistory(" + ", ".join(parts) + ")  "
            "-- a list of dicts: history[-1], or tinytorch.viz.loss_curves(history)"
        )

    def _repr_pretty_(self, printer, cycle):  # IPython uses this for the cell's result
        printer.text(repr(self))
