"""The trainer's argument checks: a wrong argument fails when the trainer is built, with a
message that names it and the fix, not at step 1 or after an hour of training."""

import numpy as np

from ..text.batches import as_id_array


def positive_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def optional_positive_int(value, name):
    """None for None/0/False (the feature is off), else a positive int."""
    return None if not value else positive_int(value, name)


def _model_positions(model):
    return getattr(getattr(model, "config", None), "block_size", None)


def check_block_size(model, block_size) -> int:
    block_size = positive_int(block_size, "block_size")
    limit = _model_positions(model)
    if limit is not None and block_size > limit:
        raise ValueError(
            f"block_size {block_size} is larger than the model's {limit} positions "
            f"(config.block_size): use block_size <= {limit} or build a model with more positions"
        )
    return block_size


def check_data(model, data, name, block_size) -> np.ndarray:
    """`data` as a 1-D int64 array with room for one window and ids the model knows."""
    array = as_id_array(data, name)
    if array.size < block_size + 1:
        raise ValueError(
            f"{name} has {array.size} tokens but one batch window needs block_size + 1 = "
            f"{block_size + 1}: use more text or a smaller block_size"
        )
    vocab = getattr(getattr(model, "config", None), "vocab_size", getattr(model, "vocab_size", None))
    if vocab is not None and (array.min() < 0 or array.max() >= vocab):
        raise ValueError(
            f"{name} has token id {int(array.max())} but the model's vocab_size is {vocab}: "
            "build the model with vocab_size=tokenizer.vocab_size"
        )
    return array


def check_probe(model, probe_ids, probe_every):
    """The attention probe's ids as an array (None: no probe)."""
    if probe_ids is None:
        if probe_every:
            raise ValueError("probe_every needs probe_ids (the token ids whose attention to record)")
        return None
    if not hasattr(model, "attention_maps"):
        raise ValueError(f"probe_ids needs a model with attention_maps(ids); {type(model).__name__} has none")
    probe_ids = as_id_array(probe_ids, "probe_ids")
    limit = _model_positions(model)
    if probe_ids.size == 0 or (limit is not None and probe_ids.size > limit):
        raise ValueError(
            f"probe_ids has {probe_ids.size} tokens; the attention probe needs 1 to "
            f"{limit} (the model's block_size): use a shorter probe text"
        )
    return probe_ids


def check_plot(plot):
    if not hasattr(plot, "update"):
        raise ValueError(
            f"live_plot must be a plot with update(history), got {plot!r}: "
            "from tinytorch.viz import LiveLossCurve, then live_plot=LiveLossCurve()"
        )
    return plot
