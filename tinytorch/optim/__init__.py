"""Optimizers, gradient clipping and learning-rate schedules.

optimizer = tinytorch.optim.AdamW(model.parameters(), lr=1e-3)
loss.backward()
tinytorch.optim.clip_grad_norm_(model.parameters(), 1.0)
optimizer.step()
optimizer.zero_grad()

schedule = tinytorch.optim.CosineWarmup(lr=1e-3, max_steps=2000, warmup_steps=100)
optimizer.lr = schedule(step)   # what LanguageModelTrainer(lr_schedule=schedule) does each step
"""

from .adam import Adam, AdamW
from .clip import clip_grad_norm_
from .optimizer import Optimizer
from .schedule import CosineWarmup, cosine_with_warmup
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "cosine_with_warmup", "CosineWarmup"]
