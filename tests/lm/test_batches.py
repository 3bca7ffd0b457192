"""Train/val split and batch sampling: shapes, dtypes, a one-step shift, seeding, errors."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.text import get_batch, train_val_split


def test_split_is_contiguous_ninety_ten():
    ids = np.arange(1000, dtype=np.int64)
    train, val = train_val_split(ids)
    assert train.size == 900 and val.size == 100
    assert np.array_equal(np.concatenate([train, val]), ids)
    train, val = train_val_split(list(range(10)), 0.5)
    assert train.tolist() == [0, 1, 2, 3, 4] and val.dtype == np.int64


def test_split_errors():
    with pytest.raises(ValueError, match="too short"):
        train_val_split(np.array([1], dtype=np.int64))
    with pytest.raises(ValueError, match="train_fraction"):
        train_val_split(np.arange(10), 1.0)
    with pytest.raises(ValueError, match="1-D"):
        train_val_split(np.zeros((2, 5), dtype=np.int64))


def test_targets_are_inputs_shifted_by_exactly_one():
    # data[i] == i, so every window is consecutive integers and the shift is visible.
    data = np.arange(50, dtype=np.int64)
    x, y = get_batch(data, batch_size=8, block_size=6, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (8, 6)
    assert x.dtype == y.dtype == np.int64
    assert np.array_equal(y, x + 1)  # shifted once (the old code shifted twice: y == x + 2)
    assert np.array_equal(np.diff(x, axis=1), np.ones((8, 5)))
    assert x.min() >= 0 and y.max() <= 49


def test_every_start_position_is_reachable_including_the_last():
    data = np.arange(5, dtype=np.int64)  # block 4: the only window is the whole array
    x, y = get_batch(data, 3, 4, rng=np.random.default_rng(1))
    assert x.tolist() == [[0, 1, 2, 3]] * 3 and y.tolist() == [[1, 2, 3, 4]] * 3
    x, _ = get_batch(np.arange(12, dtype=np.int64), 400, 4, rng=np.random.default_rng(2))
    assert set(x[:, 0].tolist()) == set(range(8))  # starts 0..7 all drawn, none past the end


def test_manual_seed_makes_batches_reproducible():
    data = np.arange(1000, dtype=np.int64)
    tt.manual_seed(123)
    a = get_batch(data, 4, 8)
    tt.manual_seed(123)
    b = get_batch(data, 4, 8)
    c = get_batch(data, 4, 8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(b[0], c[0])


def test_short_and_empty_data_errors_say_what_to_do():
    with pytest.raises(ValueError, match=r"has 5 tokens .* block_size \+ 1 = 9 .* at most 4"):
        get_batch(np.arange(5, dtype=np.int64), 2, 8)
    with pytest.raises(ValueError, match="empty"):
        get_batch(np.array([], dtype=np.int64), 2, 8)
    with pytest.raises(TypeError, match="integer"):
        get_batch(np.linspace(0, 1, 20), 2, 4)
    with pytest.raises(ValueError, match="at least 1"):
        get_batch(np.arange(20), 0, 4)
