"""The trainer's argument checks: a wrong argument fails when the trainer is built, with a
message that names it and the fix, not at step 1 or after an hour of training.

Built on the shared checks of `tinytorch/validation.py`; what is particular to training (a
window against the model's positions, one step's arrays, the data, the probe) is here."""

import numpy as np

from ..text.batches import as_id_array
from ..validation import check_allocation, positive_int


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


def check_batch_size(model, batch_size, block_size) -> int:
    """batch_size as an int; refused now, naming batch_size and block_size, if one step's
    arrays (the batch's windows, and the model's activations when it can tell) cannot be allocated."""
    batch_size = positive_int(batch_size, "batch_size")
    sizes = {"batch_size": batch_size, "block_size": block_size}
    check_allocation("LanguageModelTrainer", sizes, (batch_size, block_size + 1), np.int64, "each batch's windows")
    check_activations = getattr(model, "_check_batch", None)  # TinyGPT and the bigram model have one
    if check_activations is not None:
        check_activations(batch_size, block_size, sizes, "LanguageModelTrainer")
    return batch_size


def check_data(model, data, name, block_size) -> np.ndarray:
    """`data` as a 1-D int64 array with room for one window and ids the model knows."""
    vocab = getattr(getattr(model, "config", None), "vocab_size", getattr(model, "vocab_size", None))
    array = as_id_array(data, name, vocab)  # names a bad id (a -1 too) and the largest valid one
    if array.size < block_size + 1:
        raise ValueError(
            f"{name} has {array.size} tokens but one batch window needs block_size + 1 = "
            f"{block_size + 1}: use more text or a smaller block_size"
        )
    return array


def check_probe(model, probe):
    """The attention probe fits the model: it has attention_maps and the ids fit its positions."""
    if probe is None:
        return None
    if not hasattr(model, "attention_maps"):
        raise ValueError(f"an AttentionProbe needs a model with attention_maps(ids); {type(model).__name__} has none")
    limit = _model_positions(model)
    if probe.ids.size == 0 or (limit is not None and probe.ids.size > limit):
        raise ValueError(
            f"the probe's ids have {probe.ids.size} tokens; the attention probe needs 1 to "
            f"{limit} (the model's block_size): use a shorter probe text"
        )
    return probe
