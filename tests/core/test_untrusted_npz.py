"""tinytorch.load on untrusted .npz files: headers checked before any memory is taken, damaged
descriptions named. Generated cases per class; each asserts a ValueError naming the file (and the
array or key) and, for the size classes, that loading took almost no memory.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import serialization
from tinytorch.serialization import META_KEY


def _npy(header: dict, data: bytes = b"", version=(1, 0)) -> bytes:
    buffer = io.BytesIO()
    write = np.lib.format.write_array_header_1_0 if version == (1, 0) else np.lib.format.write_array_header_2_0
    write(buffer, header)
    return buffer.getvalue() + data


def _npz(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _load_refused(path: Path, *needles: str) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            tt.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(error.value)
    assert path.name in message, message
    for needle in needles:
        assert needle in message, message
    assert peak < 16 * 2**20, f"refusing {path.name} took {peak:,} bytes"
    return message


# ----------------------------------------------------------------------------- sizes in headers


HUGE = [(2**32,), (2**29, 2), (2**20, 2**20), (10**12,), (2**62,), (2**40, 2**40, 2**40), (3, 2**31), (2**31 - 1, 8)]


@pytest.mark.parametrize("shape", HUGE)
@pytest.mark.parametrize("descr", ["<f4", "<f8", "|u1", "<i8", "<c16", "|b1"])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_a_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path, shape, descr, version):
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    path = _npz(tmp_path / "huge.npz", {"w.npy": _npy(header, b"\0" * 64, version)})
    _load_refused(path, "'w'")


@pytest.mark.parametrize("declared, held", [((100,), 50), ((10, 10), 101), ((0,), 8), ((5,), 0), ((2, 3), 47)])
def test_a_header_that_does_not_fit_its_bytes_is_refused(tmp_path, declared, held):
    path = _npz(
        tmp_path / "mismatch.npz",
        {"w.npy": _npy({"descr": "<f8", "fortran_order": False, "shape": declared}, b"\1" * held)},
    )
    _load_refused(path, "'w'", f"{held:,} bytes")


@pytest.mark.parametrize("limit", [1, 100, 799, 1000])
def test_all_arrays_together_stay_under_max_bytes(tmp_path, limit):
    path = tmp_path / "arrays.npz"
    tt.save({"a": np.zeros(50), "b": np.zeros(50)}, path)  # 400 + 400 bytes
    if limit >= 800:
        assert set(tt.load(path, max_bytes=limit)) == {"a", "b"}
        return
    with pytest.raises(ValueError, match=rf"arrays\.npz.*past the limit of {limit:,} bytes"):
        tt.load(path, max_bytes=limit)


def test_too_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_ARRAYS", 10)
    path = tmp_path / "many.npz"
    np.savez(path, **{f"a{i}": np.zeros(1) for i in range(11)})
    _load_refused(path, "11 members", "10")


@pytest.mark.parametrize(
    "header",
    [
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), " + b"'x': 1, " * 2000 + b"}",  # too long
        b"{'descr': '<f8', 'fortran_order': False}",  # no shape
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}",
        b"{'descr': 'nonsense', 'fortran_order': False, 'shape': (2,)}",
        b"[1, 2, 3]",
        b"__import__('os')",
    ],
)
def test_a_damaged_header_is_refused_naming_the_array(tmp_path, header):
    raw = np.lib.format.MAGIC_PREFIX + b"\x01\x00" + len(header + b"\n").to_bytes(2, "little") + header + b"\n"
    if len(header) > 60000:
        pytest.fail("test header too long for format 1.0")
    path = _npz(tmp_path / "header.npz", {"w.npy": raw + b"\0" * 16})
    _load_refused(path, "'w'")


@pytest.mark.parametrize("descr", ["|O", "<U4", "|S4", [("a", "<f4"), ("b", "<i4")], "|V8", "<M8[s]", "<m8[s]"])
def test_arrays_that_are_not_numbers_are_refused_naming_the_array(tmp_path, descr):
    path = _npz(
        tmp_path / "kinds.npz",
        {"weights.npy": _npy({"descr": descr, "fortran_order": False, "shape": (2,)}, b"\0" * 64)},
    )
    _load_refused(path, "'weights'")


# ----------------------------------------------------------------------------- damaged descriptions


def _with_description(path: Path, meta, arrays=None) -> Path:
    text = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    members = {
        f"{key}.npy": _npy({"descr": "<f8", "fortran_order": False, "shape": a.shape}, a.tobytes())
        for key, a in (arrays or {"w": np.arange(3.0)}).items()
    }
    members[f"{META_KEY}.npy"] = _npy({"descr": "|u1", "fortran_order": False, "shape": (len(text),)}, text)
    return _npz(path, members)


def _meta(skeleton, **extra) -> dict:
    return {"format": serialization.FORMAT, "version": 1, "skeleton": skeleton, **extra}


DEEP = {"dict": [["a", {"list": []}]]}
for _ in range(serialization.MAX_DEPTH + 50):
    DEEP = {"list": [DEEP]}

DESCRIPTIONS = {
    "not JSON": (b"{not json", "description"),
    "not UTF-8": (b"\xff\xfe", "description"),
    "a list": ([1, 2], "description"),
    "no format": ({"version": 1, "skeleton": {"value": 1}}, "description"),
    "version a list": (_meta({"value": 1}, version=[1]), "version"),
    "no skeleton": ({"format": serialization.FORMAT, "version": 1}, "skeleton"),
    "deep JSON": (b"[" * 100_000 + b"]" * 100_000, "description"),
    "deep skeleton": (_meta(DEEP), "deeper than"),
    "node a list": (_meta({"dict": [["model", [1, 2]]]}), "'model'"),
    "node a string": (_meta({"dict": [["opt", {"dict": [["lr", "fast"]]}]]}), "'opt/lr'"),
    "two kinds": (_meta({"dict": [["step", {"value": 1, "float": "nan"}]]}), "'step'"),
    "unknown kind": (_meta({"dict": [["model", {"pickle": "x"}]]}), "'model'"),
    "dict not a list": (_meta({"dict": {"a": {"value": 1}}}), "top level"),
    "dict item not a pair": (_meta({"dict": [["a"]]}), "dict item"),
    "dict key a bool": (_meta({"dict": [[True, {"value": 1}]]}), "dict item"),
    "dict key a list": (_meta({"dict": [[["a"], {"value": 1}]]}), "dict item"),
    "missing array": (_meta({"dict": [["model", {"dict": [["w", {"array": "model/w"}]]}]]}), "'model/w'"),
    "array key a number": (_meta({"dict": [["w", {"array": 3}]]}), "'w'"),
    "value an object": (_meta({"dict": [["cfg", {"value": {"a": 1}}]]}), "'cfg'"),
    "float not special": (_meta({"list": [{"float": "1e999x"}]}), "'0'"),
    "list not a list": (_meta({"dict": [["h", {"list": "abc"}]]}), "'h'"),
}


@pytest.mark.parametrize("case", DESCRIPTIONS)
def test_a_damaged_description_names_the_file_and_key(tmp_path, case):
    meta, needle = DESCRIPTIONS[case]
    _load_refused(_with_description(tmp_path / "checkpoint.npz", meta), needle)


def test_a_description_that_is_not_text_is_refused(tmp_path):
    path = _npz(
        tmp_path / "meta.npz",
        {f"{META_KEY}.npy": _npy({"descr": "<f8", "fortran_order": False, "shape": (2,)}, b"\0" * 16)},
    )
    _load_refused(path, "description")


def test_every_value_kind_still_round_trips(tmp_path):
    state = {
        "model": {"w": np.arange(6.0).reshape(2, 3), "f": np.asfortranarray(np.eye(3, dtype=np.float32))},
        "step": 3,
        "lr": float("nan"),
        "name": "run",
        "flag": True,
        "none": None,
        "t": (1, [2.0, {"x": "y"}]),
        "big": np.zeros(0),
        "c": np.array([1 + 2j]),
        "b": np.array([True, False]),
        7: "int key",
    }
    back = tt.load(tt.save(state, tmp_path / "all.npz"))
    assert list(back) == list(state) and back["t"] == (1, [2.0, {"x": "y"}]) and np.isnan(back["lr"])
    for key in ("big", "c", "b"):
        np.testing.assert_array_equal(back[key], state[key])
    np.testing.assert_array_equal(back["model"]["f"], state["model"]["f"])
    assert back["model"]["w"].flags.writeable
