"""The trainer's keyword arguments of earlier versions, turned into the callbacks that own them now.

LanguageModelTrainer(..., eval_interval=50, checkpoint_dir="ck", checkpoint_every=100)
# is, with a DeprecationWarning naming the new spelling:
LanguageModelTrainer(..., validation=Validation(every=50), checkpoints=Checkpoints("ck", every=100))
"""

import warnings

from .callbacks import AttentionProbe, Checkpoints, LivePlot, Validation

NEW_SPELLING = {
    "eval_interval": "validation=Validation(every=...)",
    "eval_batches": "validation=Validation(batches=...)",
    "eval_seed": "validation=Validation(seed=...)",
    "checkpoint_dir": 'checkpoints=Checkpoints("folder")',
    "checkpoint_every": "checkpoints=Checkpoints(folder, every=...)",
    "keep_checkpoints": "checkpoints=Checkpoints(folder, keep=...)",
    "probe_ids": "probe=AttentionProbe(ids)",
    "probe_every": "probe=AttentionProbe(ids, every=...)",
    "live_plot": "callbacks=[LivePlot(plot)]",
    "warmup_steps": "lr_schedule=CosineWarmup(lr, max_steps, warmup_steps=...)",
    "min_lr": "lr_schedule=CosineWarmup(lr, max_steps, min_lr=...)",
}


def translate(old: dict, validation, checkpoints, probe, callbacks):
    """(validation, checkpoints, probe, callbacks, schedule_settings) with the old keywords folded in."""
    unknown = sorted(set(old) - set(NEW_SPELLING))
    if unknown:
        raise TypeError(f"LanguageModelTrainer got unexpected keyword argument(s) {', '.join(unknown)}")
    if old:
        warnings.warn(
            "LanguageModelTrainer: " + "; ".join(f"{name}= is now {NEW_SPELLING[name]}" for name in old),
            DeprecationWarning,
            stacklevel=3,
        )
    if {"eval_interval", "eval_batches", "eval_seed"} & set(old) and validation is None:
        validation = Validation(old.get("eval_interval", 100), old.get("eval_batches", 20), old.get("eval_seed", 1234))
    if old.get("checkpoint_every") and old.get("checkpoint_dir") is None:
        raise ValueError("checkpoint_every needs checkpoint_dir (the folder to write the checkpoints to)")
    if old.get("checkpoint_dir") is not None and checkpoints is None:
        checkpoints = Checkpoints(old["checkpoint_dir"], old.get("checkpoint_every"), old.get("keep_checkpoints", 3))
    if old.get("probe_every") and old.get("probe_ids") is None:
        raise ValueError("probe_every needs probe_ids (the token ids whose attention to record)")
    if old.get("probe_ids") is not None and probe is None:
        probe = AttentionProbe(old["probe_ids"], old.get("probe_every"))
    if old.get("live_plot"):
        callbacks = [LivePlot(old["live_plot"]), *callbacks]
    schedule = {key: old[key] for key in ("warmup_steps", "min_lr") if old.get(key) is not None}
    return validation, checkpoints, probe, callbacks, schedule
