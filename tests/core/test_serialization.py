"""tinytorch.save / load: exact round trips, no pickle, atomic writes, clear errors for bad files."""

import os
import pickle
import zipfile

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn, serialization
from tinytorch.optim import AdamW


def test_state_dict_round_trip_is_exact_and_ordered(tmp_path):
    rng = np.random.default_rng(0)
    sd = {
        "z.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "a.bias": rng.standard_normal(4),  # float64
        "ids": np.arange(5, dtype=np.int64),
        "mask": np.array([True, False]),
        "scalar": np.float32(1.5),
    }
    path = serialization.save(sd, tmp_path / "weights.npz")
    assert path == tmp_path / "weights.npz"
    back = tt.load(path)
    assert list(back) == list(sd)  # order kept
    for k, v in sd.items():
        assert back[k].dtype == np.asarray(v).dtype and back[k].shape == np.shape(v)
        np.testing.assert_array_equal(back[k], v)
    with np.load(path, allow_pickle=False) as plain:  # any numpy program can read the weights by name
        np.testing.assert_array_equal(plain["z.weight"], sd["z.weight"])


def test_model_weights_round_trip_through_a_file(tmp_path):
    tt.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4))
    tt.manual_seed(1)
    b = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4))
    tt.save(a.state_dict(), tmp_path / "m.npz")
    b.load_state_dict(tt.load(tmp_path / "m.npz"))
    x = Tensor(np.ones((2, 3)))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    tt.save({k: Tensor(v) for k, v in a.state_dict().items()}, tmp_path / "t.npz")  # Tensors are stored as arrays
    np.testing.assert_array_equal(tt.load(tmp_path / "t.npz")["0.weight"], a[0].weight.data)


def test_nested_checkpoint_round_trip(tmp_path):
    model = nn.Linear(2, 2)
    opt = AdamW(model.parameters(), lr=1e-3)
    model(Tensor(np.ones((1, 2)))).sum().backward()
    opt.step()
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "step": 120,
        "config": {"n_layer": 2, "dropout": 0.1, "name": "tiny", "tied": False, "note": None, "shape": (2, 3)},
        "history": [{"step": 1, "loss": 4.2}, {"step": 2, "loss": float("nan")}],
        "weird/key": float("inf"),
    }
    tt.save(checkpoint, tmp_path / "ckpt.npz")
    back = tt.load(tmp_path / "ckpt.npz")
    assert back["step"] == 120 and isinstance(back["step"], int)
    assert back["config"] == {
        "n_layer": 2,
        "dropout": 0.1,
        "name": "tiny",
        "tied": False,
        "note": None,
        "shape": (2, 3),
    }
    assert back["history"][0] == {"step": 1, "loss": 4.2} and np.isnan(back["history"][1]["loss"])
    assert back["weird/key"] == float("inf")
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    np.testing.assert_array_equal(back["model"]["weight"], model.weight.data)


def test_unsupported_values_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="set.*'a/b'"):
        tt.save({"a": {"b": {1, 2}}}, path)
    with pytest.raises(TypeError, match="dtype object"):
        tt.save({"a": np.array([object()])}, path)
    with pytest.raises(TypeError, match=r"Linear.*state_dict\(\)"):
        tt.save(nn.Linear(2, 2), path)
    assert not path.exists()


def test_saving_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tt.save({"w": np.ones(3)}, path)

    def crash(f, arrays):  # a crash half way through writing the new file
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        tt.save({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tt.load(path)["w"], np.ones(3))  # the old file is intact
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file is left behind


def test_any_key_names_work(tmp_path):
    sd = {"file": np.ones(2), "allow_pickle": np.zeros(1), "a b/c.d": np.arange(3), "": np.eye(2)}
    tt.save(sd, tmp_path / "keys.npz")
    back = tt.load(tmp_path / "keys.npz")
    assert list(back) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])


def test_plain_numpy_npz_files_load(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.arange(3), b=np.eye(2))
    back = tt.load(tmp_path / "plain.npz")
    assert list(back) == ["a", "b"]
    np.testing.assert_array_equal(back["b"], np.eye(2))


# --- bad files ----------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here.npz"):
        tt.load(tmp_path / "nothing_here.npz")
    with pytest.raises(IsADirectoryError, match="folder"):
        tt.load(tmp_path)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.npz"
    tt.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.npz.*truncated or corrupt"):
        tt.load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="cut.npz.*empty"):
        tt.load(path)


def test_corrupt_bytes_inside_the_zip(tmp_path):
    path = tmp_path / "flipped.npz"
    tt.save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # damage the middle of the stored array
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="flipped.npz.*corrupt"):
        tt.load(path)


def test_not_an_npz_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt.*not an .npz"):
        tt.load(text)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"w": np.ones(2)}))
    with pytest.raises(ValueError, match="model.pkl.*pickle"):
        tt.load(pickled)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "not an array")
    with pytest.raises(ValueError, match="other.zip"):
        tt.load(other_zip)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, evil=np.array([{"a": 1}], dtype=object))  # np.savez pickles object arrays
    with pytest.raises(ValueError, match="objects.npz.*Python objects"):
        tt.load(path)
