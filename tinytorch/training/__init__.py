"""Training a language model: the loss, a resumable trainer, checkpoints.

    LanguageModelLoss        mean next-token cross-entropy of logits (B, T, V) and targets (B, T)
    LanguageModelTrainer     fit(steps) in resumable chunks, validation, live progress, checkpoints
    find_latest_checkpoint   the newest step_XXXXXX.npz in a folder (after a crash or reload)
    list_checkpoints         all of them, oldest first
    TrainingHistory          the list of per-step dicts that fit() returns
"""

from .loss import LanguageModelLoss
from .trainer import LanguageModelTrainer
from .checkpoint import find_latest_checkpoint, list_checkpoints
from .history import TrainingHistory
