"""Training a language model: the loss, a resumable trainer, checkpoints.

LanguageModelLoss        mean next-token cross-entropy of logits (B, T, V) and targets (B, T)
LanguageModelTrainer     fit(steps) in resumable chunks; the loop is trainer.py's _train_step
StepRecord               one step of the history (step, train_loss, val_loss, lr, ...)
TrainingHistory          the list of StepRecords that fit() returns
find_latest_checkpoint   the newest run-<id>_step_XXXXXX.npz in a folder (after a crash or reload)
list_checkpoints         all of them (of one run, if asked), oldest first
Validation, Checkpoints, AttentionProbe, ProgressDisplay, LivePlot
                         what runs around the loop (callbacks.py), each with its own settings
"""

from .callbacks import AttentionProbe, Checkpoints, LivePlot, ProgressDisplay, Validation
from .checkpoint import find_latest_checkpoint, list_checkpoints
from .history import StepRecord, TrainingHistory
from .loss import LanguageModelLoss
from .trainer import LanguageModelTrainer
