"""What a checkpoint holds, and putting it back all-or-nothing.

`capture(trainer)` is everything needed to continue exactly: model, optimizer, step, history,
attention snapshots, the random generator, and the run's id and settings. `restore(trainer,
state)` first checks all of it against the trainer -- model class, config and shapes, the
optimizer (by loading its state into a copy), the generator, the run's settings when asked --
and only then assigns: a checkpoint that does not fit raises a ValueError and changes nothing.
"""

import copy
import dataclasses

import numpy as np

from ..rng import rng as global_rng
from ..validation import non_negative_int, real_number
from .history import StepRecord

# Config fields that change how a model trains or starts, not which weights it has: loading
# weights saved with another dropout or init_std is a choice, not a mistake (resume(strict=True)
# still compares them).
FREE_CONFIG_FIELDS = {"dropout", "init_std"}


def model_config(model):
    """The model's config as a dict (None for a model without one)."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(vars(config))


def config_defaults(model) -> dict:
    """The defaults of the model's config fields: a checkpoint saved before a field existed had its default."""
    config = getattr(model, "config", None)
    if not dataclasses.is_dataclass(config):
        return {}
    return {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}


def run_settings(trainer) -> dict:
    """{name: value} of what makes two trainers train the same way: the model, the optimizer and
    the recipe. Evaluation, probe, progress and checkpoint settings are not part of it."""
    settings = {"model": type(trainer.model).__name__, "optimizer": type(trainer.optimizer).__name__}
    for key, value in (model_config(trainer.model) or {}).items():
        settings[f"model.{key}"] = _plain(value)
    groups = trainer.optimizer.param_groups
    for g, group in enumerate(groups):
        prefix = "optimizer." if len(groups) == 1 else f"optimizer.groups[{g}]."
        settings[prefix + "size"] = len(group["params"])
        for key, value in group.items():
            if key != "params":
                settings[prefix + key] = _plain(value)
    schedule = trainer.lr_schedule
    settings.update(block_size=trainer.block_size, batch_size=trainer.batch_size, grad_clip=trainer.grad_clip)
    if hasattr(schedule, "settings"):  # e.g. CosineWarmup: its kind, warm-up, length and floor
        settings.update(schedule.settings())
    else:
        name = None if schedule is None else getattr(schedule, "__name__", "a function")
        settings.update(lr_schedule=name, max_steps=trainer.max_steps)
    return settings


def _plain(value):
    """Numbers, strings and lists as plain Python values, so they compare after a save and load."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value


def setting_differences(saved: dict, mine: dict) -> list:
    """["key: run X, this trainer Y", ...] for every setting that differs (this trainer's order)."""
    keys = list(mine) + [key for key in saved if key not in mine]
    return [
        f"{key}: run {saved.get(key)!r}, this trainer {mine.get(key)!r}"
        for key in keys
        if _plain(saved.get(key)) != mine.get(key)
    ]


def capture(trainer) -> dict:
    """Everything needed to continue training exactly (plain values and arrays: tinytorch.save can write it)."""
    return {
        "model_class": type(trainer.model).__name__,
        "model_config": model_config(trainer.model),
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "trainer": {
            "run": trainer.run_id,
            "settings": trainer.settings,
            "step": trainer.step,
            "elapsed": trainer.elapsed,
            "history": trainer.history.as_dicts(),
            "attention_snapshots": trainer.attention_snapshots,
            "lr": getattr(trainer.lr_schedule, "lr", None),  # the schedule's peak (None: no peak to keep)
        },
        "rng": global_rng().bit_generator.state,
    }


def restore(trainer, state: dict, where: str, strict: bool = False) -> None:
    """Put `state` (from `capture`) into the trainer: check everything, then assign. `where`
    names the checkpoint in errors. strict=True also refuses a run with different settings."""
    _check_model(trainer, state, where)
    saved = state["trainer"]
    if strict and saved.get("settings") is not None:
        differences = setting_differences(saved["settings"], trainer.settings)
        if differences:
            raise ValueError(
                f"{where} belongs to run {saved.get('run')}, which was trained with other settings ("
                + "; ".join(differences)
                + "). Build the trainer as that run was built, or resume(strict=False) to load it anyway."
            )
    # The optimizer checks its state (shapes, hyperparameters and moments in range, as its
    # constructor checks its arguments) on a copy, so nothing changes when it is refused.
    trial = copy.copy(trainer.optimizer)
    trial.param_groups = [dict(group) for group in trainer.optimizer.param_groups]
    trial.state = {}
    try:
        trial.load_state_dict(state["optimizer"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{where} holds an optimizer state this optimizer cannot take: {error}") from None
    try:
        history = [StepRecord(**record) for record in saved["history"]]
        snapshots = [
            (non_negative_int(s, "an attention snapshot's step"), np.asarray(m))
            for s, m in saved["attention_snapshots"]
        ]
        step = non_negative_int(saved["step"], "trainer/step")
        elapsed = real_number(saved["elapsed"], "trainer/elapsed", minimum=0.0)
        peak = saved.get("lr", saved.get("base_lr"))  # "base_lr" in checkpoints of earlier versions
        peak = None if peak is None else real_number(peak, "trainer/lr", minimum=0.0)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where} has a damaged trainer section ({type(error).__name__}: {error})") from None
    rng_state = state["rng"]
    generator = global_rng()
    kind = type(generator.bit_generator)
    saved_kind = rng_state.get("bit_generator") if isinstance(rng_state, dict) else rng_state
    if saved_kind != kind.__name__:
        raise ValueError(f"{where}'s random generator is {saved_kind!r}, not {kind.__name__}")
    try:
        kind().state = rng_state  # on a throwaway generator first
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{where} has a damaged random generator state ({error})") from None

    # Everything fits: assign.
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.step, trainer.elapsed = step, elapsed
    if peak is not None and hasattr(trainer.lr_schedule, "lr"):
        trainer.lr_schedule.lr = peak
    trainer.history[:] = history  # in place: views holding the list see the change
    trainer.attention_snapshots[:] = snapshots
    generator.bit_generator.state = rng_state
    trainer.run_id = saved.get("run") or trainer.run_id


def _check_model(trainer, state, where) -> None:
    model = trainer.model
    if state.get("model_class") != type(model).__name__:
        raise ValueError(
            f"{where} holds a {state.get('model_class')}, not a {type(model).__name__}: "
            "build the same kind of model before loading it"
        )
    saved, mine = state.get("model_config"), model_config(model)
    if saved is not None and mine is not None:
        saved = {**config_defaults(model), **saved}
        differences = [
            f"{key}: checkpoint {saved.get(key)!r}, this model {mine.get(key)!r}"
            for key in sorted(set(saved) | set(mine))
            if saved.get(key) != mine.get(key) and key not in FREE_CONFIG_FIELDS
        ]
        if differences:
            raise ValueError(
                f"{where} was saved from a model with a different config ("
                + "; ".join(differences)
                + "). Build the model with the checkpoint's config to load it."
            )
    # the model-side rule has one home: Module.state_dict_problems
    problems = model.state_dict_problems(state["model"]) if hasattr(model, "state_dict_problems") else []
    if problems:
        raise ValueError(f"{where} does not fit this model's parameters: " + "; ".join(problems))
