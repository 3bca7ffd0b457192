"""Learning-rate schedule: linear warm-up, then cosine decay (as in GPT-2 / nanoGPT training)."""

import math

from ..validation import non_negative_int, real_number


def cosine_with_warmup(step: int, *, max_lr: float, warmup_steps: int, total_steps: int = None,
                       min_lr: float = 0.0, max_steps: int = None) -> float:
    """The learning rate for the update after `step` completed steps (step 0 = the first update).

        step < warmup_steps:            max_lr * (step + 1) / warmup_steps     (rises linearly to max_lr)
        warmup_steps <= step <= total:  min_lr + (max_lr - min_lr) * (1 + cos(pi * progress)) / 2,
                                        progress = (step - warmup_steps) / (total_steps - warmup_steps)
        step > total_steps:             min_lr

    Warm-up keeps the first, noisy Adam steps small; the slow decay lets the model settle.
    `max_steps` is accepted as another name for `total_steps`.
    """
    if total_steps is None:
        total_steps = max_steps
    if total_steps is None:
        raise TypeError("cosine_with_warmup needs total_steps (the step where the decay reaches min_lr)")
    step = non_negative_int(step, "cosine_with_warmup: step")
    warmup_steps = non_negative_int(warmup_steps, "cosine_with_warmup: warmup_steps")
    total_steps = non_negative_int(total_steps, "cosine_with_warmup: total_steps")
    max_lr = real_number(max_lr, "cosine_with_warmup: max_lr", minimum=0.0)
    min_lr = real_number(min_lr, "cosine_with_warmup: min_lr", minimum=0.0)
    if total_steps < warmup_steps:
        raise ValueError(f"cosine_with_warmup needs 0 <= warmup_steps <= total_steps, got {warmup_steps} and {total_steps}")
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


class CosineWarmupScheduler:
    """Drives an optimizer's lr with `cosine_with_warmup`; call `step()` after each `optimizer.step()`.

        scheduler = CosineWarmupScheduler(optimizer, warmup_steps=100, total_steps=5000, min_lr=1e-4)
        for batch in batches:
            ...; optimizer.step(); scheduler.step()

    The peak is each parameter group's lr when the scheduler is made. On creation the lr is set
    for step 0. With several groups of different lrs, each group keeps its ratio to the
    first group (min_lr applies to the first group and is scaled the same way for the others).
    """

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr: float = 0.0):
        self.optimizer = optimizer
        self.warmup_steps = non_negative_int(warmup_steps, "CosineWarmupScheduler: warmup_steps")
        self.total_steps = non_negative_int(total_steps, "CosineWarmupScheduler: total_steps")
        self.min_lr = real_number(min_lr, "CosineWarmupScheduler: min_lr", minimum=0.0)
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        cosine_with_warmup(0, max_lr=1.0, warmup_steps=self.warmup_steps, total_steps=self.total_steps)  # checks
        self.last_step = 0
        self._apply()

    def lr_at(self, step: int) -> list:
        """The learning rate of every group after `step` scheduler steps."""
        first = self.base_lrs[0]
        lrs = []
        for base in self.base_lrs:
            ratio = base / first if first else 1.0
            lrs.append(cosine_with_warmup(step, max_lr=base, warmup_steps=self.warmup_steps,
                                          total_steps=self.total_steps, min_lr=self.min_lr * ratio))
        return lrs

    def _apply(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.lr_at(self.last_step)):
            group["lr"] = lr

    def step(self) -> float:
        """Advance one step and set the optimizer's lr; returns the new lr (of the first group)."""
        self.last_step += 1
        self._apply()
        return self.optimizer.param_groups[0]["lr"]

    def get_last_lr(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_step": self.last_step, "base_lrs": list(self.base_lrs), "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps, "min_lr": self.min_lr}

    def load_state_dict(self, state: dict) -> None:
        """Restore the position in the schedule (and its settings) and set the optimizer's lr."""
        self.last_step = int(state["last_step"])
        self.base_lrs = [float(x) for x in state["base_lrs"]]
        self.warmup_steps, self.total_steps = int(state["warmup_steps"]), int(state["total_steps"])
        self.min_lr = float(state["min_lr"])
        self._apply()
