"""`save(obj, path)` / `load(path)`: state dicts and checkpoints as `.npz` files, never pickle.

A pickle file can run any code when it is loaded, so a shared "model file" could do anything
on a student's machine. An `.npz` is a zip of plain `.npy` arrays: loading one (with
`allow_pickle=False`) only ever reads numbers.

What can be saved:
  - a state dict {name: ndarray or Tensor} (`model.state_dict()`): each array is stored under
    its own name, so `np.load(path)["lm_head.weight"]` works in any numpy program too;
  - nested dicts / lists / tuples of arrays, Tensors, numbers, strings, bools and None, e.g.
    {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 120, "config": {...}}.
    Arrays are stored under their path ("model/lm_head.weight"); everything that is not an
    array goes, with the structure, into a small JSON document stored as one uint8 array.

`load` returns what was saved (Tensors come back as numpy arrays; dicts keep their order).
The file is written with `tinytorch.files.atomic_write`, so a crash mid-save never leaves a
half-written file under the real name.
"""

import json
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_write
from .tensor import Tensor

__all__ = ["save", "load"]

META_KEY = "__tinytorch__"
FORMAT = "tinytorch.save"
VERSION = 1


# ----------------------------------------------------------------------------- saving


def _flatten(obj):
    """obj -> ({npz key: ndarray}, JSON-able skeleton that says where each array goes back)."""
    arrays = {}

    def array_key(path: str) -> str:
        key = path or "array"
        n = 1
        while key in arrays or key == META_KEY:  # two paths can spell the same key ("a/b" vs a -> b)
            n += 1
            key = f"{path or 'array'}#{n}"
        return key

    def visit(value, path: str):
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.kind not in "biufc":
                raise TypeError(
                    f"save: the array at {path or 'the top level'!r} has dtype {array.dtype}; only numeric "
                    "and bool arrays can be stored without pickle"
                )
            key = array_key(path)
            arrays[key] = array
            return {"array": key}
        if value is None or isinstance(value, (bool, str)):
            return {"value": value}
        if isinstance(value, int):
            return {"value": int(value)}
        if isinstance(value, float):
            return {"value": value} if np.isfinite(value) else {"float": repr(value)}
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(f"save: dict keys must be str or int, got {k!r} at {path or 'the top level'!r}")
                items.append([k, visit(v, f"{path}/{k}" if path else str(k))])
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "list" if isinstance(value, list) else "tuple"
            return {kind: [visit(v, f"{path}/{i}" if path else str(i)) for i, v in enumerate(value)]}
        hint = f" (save its .state_dict() instead)" if hasattr(value, "state_dict") else ""
        raise TypeError(
            f"save: cannot store a {type(value).__name__} at {path or 'the top level'!r}{hint}; "
            "use arrays, Tensors, numbers, strings, bools, None, and dicts/lists of them"
        )

    skeleton = visit(obj, "")
    return arrays, skeleton


def save(obj, path) -> Path:
    """Write `obj` (a state dict, or nested dicts of arrays and plain values) to `path` as .npz.

    The file name is used exactly as given (no ".npz" is appended). Returns the path.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"save: {str(path)!r} is a folder; give a file name, e.g. {str(path / 'model.npz')!r}")
    arrays, skeleton = _flatten(obj)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "skeleton": skeleton})
    arrays[META_KEY] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda f: _write_npz(f, arrays))


def _write_npz(f, arrays: dict) -> None:
    """What np.savez does, written out: one `<key>.npy` member per array in an uncompressed zip.

    (np.savez takes the arrays as keyword arguments, so keys such as "file" or
    "allow_pickle" would collide with its own parameters.)
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


# ----------------------------------------------------------------------------- loading


def _corrupt(path, what: str) -> ValueError:
    return ValueError(f"load: {str(path)!r} {what}")


def load(path):
    """Read a file written by `save` (or any .npz of numeric arrays) without pickle.

    Returns the saved object: a dict name -> ndarray (in saved order) for a state dict, nested
    dicts for a checkpoint. A plain `np.savez` file gives a dict of its arrays. A missing,
    truncated, corrupt or non-npz file raises an error naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no file at {str(path)!r} (check the name and folder; save one with tinytorch.save(obj, path))")
    if path.is_dir():
        raise IsADirectoryError(f"load: {str(path)!r} is a folder, not a saved file")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise _corrupt(path, "is empty (0 bytes): the save was probably interrupted; save it again")
    if head[:2] != b"PK":
        hint = " (it looks like a pickle file: tinytorch never loads pickles, they can run code)" if head[:1] == b"\x80" else ""
        raise _corrupt(path, f"is not an .npz file (it starts with {head!r}){hint}")

    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                arrays[key] = npz[key]  # read everything now, so damage shows up here
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, zipfile.LargeZipFile) as error:
        if isinstance(error, ValueError) and "allow_pickle" in str(error):
            raise _corrupt(path, "contains Python objects (pickled data), which tinytorch refuses to load") from None
        raise _corrupt(path, f"is truncated or corrupt and cannot be read ({type(error).__name__}: {error}); save it again or use an earlier copy") from None

    foreign = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
    if foreign:  # np.load hands back members that are not .npy files as raw bytes
        raise _corrupt(path, f"is a zip file but not an .npz: its member {foreign[0]!r} is not a numpy array")
    if not arrays:
        raise _corrupt(path, "holds no arrays at all (an empty zip file)")
    if META_KEY not in arrays:
        return arrays  # a plain npz of arrays (e.g. written by np.savez)
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError("unknown format")
    except (UnicodeDecodeError, ValueError, AttributeError) as error:
        raise _corrupt(path, f"has a damaged description block ({error})") from None
    if int(meta.get("version", 0)) > VERSION:
        raise _corrupt(path, f"was written by a newer tinytorch (format version {meta['version']}); upgrade tinytorch")
    return _rebuild(meta["skeleton"], arrays, path)


def _rebuild(node, arrays, path):
    if "array" in node:
        key = node["array"]
        if key not in arrays:
            raise _corrupt(path, f"is corrupt: the array {key!r} is missing")
        return arrays[key]
    if "value" in node:
        return node["value"]
    if "float" in node:
        return float(node["float"])
    if "dict" in node:
        return {k: _rebuild(v, arrays, path) for k, v in node["dict"]}
    if "list" in node:
        return [_rebuild(v, arrays, path) for v in node["list"]]
    if "tuple" in node:
        return tuple(_rebuild(v, arrays, path) for v in node["tuple"])
    raise _corrupt(path, f"is corrupt: unknown entry {node!r}")
