"""The learning-rate schedule: linear warm-up, then cosine decay (as in GPT-2 / nanoGPT training).

    schedule = CosineWarmup(lr=5e-3, max_steps=900, warmup_steps=50)   # min_lr: lr / 10
    schedule(0), schedule(49), schedule(900)                           # 1e-4, 5e-3, 5e-4

`cosine_with_warmup` is the formula (nanoGPT's `get_lr`); `CosineWarmup` is the formula with
its settings, the object `LanguageModelTrainer(lr_schedule=...)` calls once per step.
"""

import math
import warnings
from dataclasses import dataclass

from ..validation import non_negative_int, positive_int, real_number


def cosine_with_warmup(
    step: int,
    *,
    lr: float = None,
    warmup_steps: int,
    max_steps: int = None,
    min_lr: float = 0.0,
    max_lr: float = None,
    total_steps: int = None,
) -> float:
    """The learning rate for the update after `step` completed steps (step 0 = the first update).

        step < warmup_steps:                lr * (step + 1) / warmup_steps     (rises linearly to lr)
        warmup_steps <= step <= max_steps:  min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2,
                                            progress = (step - warmup_steps) / (max_steps - warmup_steps)
        step > max_steps:                   min_lr

    lr is the peak. Warm-up keeps the first, noisy Adam steps small; the slow decay lets the
    model settle. (`max_lr` and `total_steps`, the old names of lr and max_steps, still work.)
    """
    lr = _renamed(lr, max_lr, "max_lr", "lr")
    max_steps = _renamed(max_steps, total_steps, "total_steps", "max_steps")
    if max_steps is None:
        raise TypeError("cosine_with_warmup needs max_steps (the step where the decay reaches min_lr)")
    step = non_negative_int(step, "cosine_with_warmup: step")
    warmup_steps = non_negative_int(warmup_steps, "cosine_with_warmup: warmup_steps")
    max_steps = non_negative_int(max_steps, "cosine_with_warmup: max_steps")
    lr = real_number(lr, "cosine_with_warmup: lr", minimum=0.0)
    min_lr = real_number(min_lr, "cosine_with_warmup: min_lr", minimum=0.0)
    if max_steps < warmup_steps:
        raise ValueError(f"cosine_with_warmup needs 0 <= warmup_steps <= max_steps, got {warmup_steps} and {max_steps}")
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def _renamed(value, old_value, old: str, new: str):
    if old_value is None:
        return value
    warnings.warn(f"cosine_with_warmup: {old}= is now called {new}=", DeprecationWarning, stacklevel=3)
    if value is not None:
        raise TypeError(f"cosine_with_warmup: give {new}= only ({old}= is its old name)")
    return old_value


@dataclass
class CosineWarmup:
    """Warm-up then cosine decay, as a function step -> lr: give it to the trainer as lr_schedule.

    lr            the peak learning rate, reached at the end of the warm-up
    max_steps     the step where the decay reaches min_lr (and where fit() stops by default)
    warmup_steps  steps of linear warm-up from lr / warmup_steps
    min_lr        the floor after the decay; None: lr / 10 (nanoGPT's rule of thumb)

    Change `schedule.lr` to lower the peak of a running schedule (after a divergence, say).
    """

    lr: float
    max_steps: int
    warmup_steps: int = 0
    min_lr: float | None = None

    def __post_init__(self):
        self.lr = real_number(self.lr, "CosineWarmup: lr", minimum=0.0)
        self.max_steps = positive_int(self.max_steps, "CosineWarmup: max_steps")
        self.warmup_steps = non_negative_int(self.warmup_steps, "CosineWarmup: warmup_steps")
        if self.min_lr is not None:
            self.min_lr = real_number(self.min_lr, "CosineWarmup: min_lr", minimum=0.0)
        self(0)  # a schedule that cannot work (warmup_steps > max_steps) fails now, not at step 1

    @property
    def floor(self) -> float:
        """min_lr, or lr / 10 when it was not given."""
        return self.lr / 10 if self.min_lr is None else self.min_lr

    def __call__(self, step: int) -> float:
        return cosine_with_warmup(
            step, lr=self.lr, warmup_steps=self.warmup_steps, max_steps=self.max_steps, min_lr=self.floor
        )

    def settings(self) -> dict:
        """What a checkpoint records of this schedule (resume compares it)."""
        return {
            "lr_schedule": "cosine",
            "warmup_steps": self.warmup_steps,
            "max_steps": self.max_steps,
            "min_lr": self.floor,
        }
