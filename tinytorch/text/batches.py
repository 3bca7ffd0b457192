"""Train/validation split and random batches of (input, next-token target) pairs.

A batch is B windows of T+1 consecutive ids cut at random places from the data. The input
is the first T ids of each window and the target the last T: target[t] is the token that
follows input[t], shifted by exactly one.

    data:  ... 18 47 56 57 58  1 15 ...
    x:         18 47 56 57           (T = 4)
    y:            47 56 57 58
"""

import numpy as np

from ..rng import rng as global_rng
from ..validation import allocating, positive_int, real_number, token_ids


def as_id_array(ids, name="ids", vocab_size=None) -> np.ndarray:
    """`ids` (a list, array or Tensor of token ids) as a 1-D np.int64 array: none negative, and
    below vocab_size when given. `name` goes into the errors."""
    return token_ids(ids, vocab_size, name, ndims=(1,))


def train_val_split(ids, train_fraction: float = 0.9):
    """Split a 1-D id array into (train, val): the first `train_fraction`, then the rest.

    No shuffling: the validation text is a contiguous piece the model never trained on.
    """
    array = as_id_array(ids)
    train_fraction = real_number(train_fraction, "train_val_split: train_fraction", above=0.0, below=1.0)
    if array.size < 2:
        raise ValueError(f"cannot split {array.size} token(s) into train and validation: the text is too short")
    n_train = int(round(array.size * train_fraction))
    n_train = min(max(n_train, 1), array.size - 1)  # both parts non-empty
    return array[:n_train], array[n_train:]


def get_batch(data, batch_size: int, block_size: int, rng=None):
    """Sample a batch: x, y both np.int64 of shape (batch_size, block_size), y = x shifted by one.

    data: 1-D token ids (at least block_size + 1 of them).
    A batch_size x (block_size + 1) too big to allocate is refused first, naming both.
    rng:  a numpy Generator; default tinytorch.rng.rng(), so manual_seed(s) fixes the batches.
    """
    array = as_id_array(data, "data")
    batch_size = positive_int(batch_size, "get_batch: batch_size")
    block_size = positive_int(block_size, "get_batch: block_size")
    if array.size == 0:
        raise ValueError("get_batch got empty data: encode some text first (tokenizer.encode(text))")
    if array.size < block_size + 1:
        raise ValueError(
            f"the data has {array.size} tokens but a window needs block_size + 1 = {block_size + 1} "
            f"(inputs plus the next-token target): use a longer text or a block_size of at most "
            f"{array.size - 1}"
        )
    sizes = {"batch_size": batch_size, "block_size": block_size}
    with allocating("get_batch", sizes, (batch_size, block_size + 1), np.int64, "the windows"):
        if rng is None:
            rng = global_rng()
        # A window starting at s covers data[s : s + block_size + 1]; the last valid start is
        # len - block_size - 1, so `high` (exclusive) is len - block_size.
        starts = rng.integers(0, array.size - block_size, size=batch_size)
        windows = starts[:, None] + np.arange(block_size + 1, dtype=np.int64)[None, :]
        chunk = array[windows]  # (B, T + 1), one gather instead of a Python loop
        x = np.ascontiguousarray(chunk[:, :-1])
        y = np.ascontiguousarray(chunk[:, 1:])
    return x, y
