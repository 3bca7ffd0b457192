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
import zlib
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
        hint = " (save its .state_dict() instead)" if hasattr(value, "state_dict") else ""
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

#: Limits on what a file may ask `load` to allocate, checked from each array's header before
#: any memory is taken (an .npz is untrusted input: a 2 MB file can declare a 4 GiB array).
MAX_LOAD_BYTES = 2**30  # all arrays together: 1 GiB, far above any course model
MAX_ARRAYS = 100_000
MAX_HEADER = 10_000  # bytes of one array's header (numpy's own default)
MAX_DEPTH = 200  # nesting of the description (dicts in lists in dicts ...)
_READ_CHUNK = 1 << 24


def _corrupt(path, what: str) -> ValueError:
    return ValueError(f"load: {str(path)!r} {what}")


def load(path, max_bytes: int = MAX_LOAD_BYTES):
    """Read a file written by `save` (or any .npz of numeric arrays) without pickle.

    Returns the saved object: a dict name -> ndarray (in saved order) for a state dict, nested
    dicts for a checkpoint. A plain `np.savez` file gives a dict of its arrays. A missing,
    truncated, corrupt or non-npz file raises an error naming the file and the problem (and the
    array or key). Each array's header is checked before memory is taken for it: shapes must fit
    the bytes the file holds and all arrays together at most `max_bytes` (MAX_LOAD_BYTES, 1 GiB).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"load: no file at {str(path)!r} (check the name and folder; save one with tinytorch.save(obj, path))"
        )
    if path.is_dir():
        raise IsADirectoryError(f"load: {str(path)!r} is a folder, not a saved file")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise _corrupt(path, "is empty (0 bytes): the save was probably interrupted; save it again")
    if head[:2] != b"PK":
        hint = (
            " (it looks like a pickle file: tinytorch never loads pickles, they can run code)"
            if head[:1] == b"\x80"
            else ""
        )
        raise _corrupt(path, f"is not an .npz file (it starts with {head!r}){hint}")

    try:
        arrays = _read_arrays(path, max_bytes)
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, zlib.error, NotImplementedError) as error:
        raise _corrupt(
            path,
            f"is truncated or corrupt and cannot be read ({type(error).__name__}: {error}); "
            "save it again or use an earlier copy",
        ) from None
    if not arrays:
        raise _corrupt(path, "holds no arrays at all (an empty zip file)")
    if META_KEY not in arrays:
        return arrays  # a plain npz of arrays (e.g. written by np.savez)
    meta_array = arrays.pop(META_KEY)
    try:
        if meta_array.dtype != np.uint8 or meta_array.ndim != 1:
            raise ValueError(f"it is a {meta_array.dtype} array of shape {meta_array.shape}, not text")
        meta = json.loads(meta_array.tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("unknown format")
        version = meta.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError(f"its version is {version!r}, not a number")
        if "skeleton" not in meta:
            raise ValueError("it has no skeleton")
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        why = "nested too deeply" if isinstance(error, RecursionError) else error
        raise _corrupt(path, f"has a damaged description block ({why})") from None
    if version > VERSION:
        raise _corrupt(path, f"was written by a newer tinytorch (format version {version}); upgrade tinytorch")
    return _rebuild(meta["skeleton"], arrays, path, "", 0)


def _read_arrays(path: Path, max_bytes: int) -> dict:
    """{key: ndarray} of every member, each header checked before its array is allocated."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ARRAYS:
            raise _corrupt(path, f"holds {len(infos):,} members, more than the limit of {MAX_ARRAYS:,}")
        budget = max_bytes
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            arrays[key] = _read_array(archive, info, path, key, budget, max_bytes)
            budget -= arrays[key].nbytes
    return arrays


def _read_array(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, key: str, budget: int, limit: int
) -> np.ndarray:
    """One member as an array: magic, header, then exactly the bytes the header declares."""
    fmt = np.lib.format
    with archive.open(info) as member:
        magic = member.read(len(fmt.MAGIC_PREFIX) + 2)
        if not magic.startswith(fmt.MAGIC_PREFIX):
            raise _corrupt(path, f"is a zip file but not an .npz: its member {key!r} is not a numpy array")
        try:
            version = (magic[-2], magic[-1])
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(member, max_header_size=MAX_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(member, max_header_size=MAX_HEADER)
            else:
                raise ValueError(f"unknown .npy format version {version}")
        except (ValueError, SyntaxError, TypeError, OverflowError) as error:
            raise _corrupt(path, f"has a damaged header for the array {key!r} ({error})") from None
        if dtype.hasobject:
            raise _corrupt(path, f"contains Python objects (pickled data) in {key!r}, which tinytorch refuses to load")
        if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
            raise _corrupt(path, f"has the array {key!r} of dtype {dtype}: only numbers and bools are loaded")
        count = 1
        for n in shape:  # Python ints: a product that would overflow numpy cannot here
            count *= n
        nbytes = count * dtype.itemsize
        holds = info.file_size - member.tell()
        if nbytes > budget:
            raise _corrupt(
                path,
                f"has the array {key!r} of shape {shape} ({nbytes:,} bytes), past the limit of "
                f"{limit:,} bytes for all arrays together (load(path, max_bytes=...) raises it)",
            )
        if nbytes != holds:
            raise _corrupt(
                path,
                f"is corrupt: the array {key!r} declares shape {shape} ({nbytes:,} bytes) but holds {holds:,} bytes",
            )
        array = np.empty(count, dtype=dtype)
        view, done = memoryview(array).cast("B"), 0
        while done < nbytes:
            got = member.readinto(view[done : done + _READ_CHUNK])
            if not got:
                raise _corrupt(path, f"is truncated: the array {key!r} stops after {done:,} of {nbytes:,} bytes")
            done += got
    return array.reshape(shape, order="F" if fortran else "C")


def _rebuild(node, arrays, path, where: str, depth: int):
    """The saved object from its skeleton; every entry checked, errors name the key."""
    at = where or "the top level"
    if depth > MAX_DEPTH:
        raise _corrupt(path, f"has a damaged description: it nests deeper than {MAX_DEPTH} levels at {at!r}")
    if not isinstance(node, dict) or len(node) != 1:
        raise _corrupt(path, f"has a damaged description at {at!r}: unknown entry {str(node)[:80]}")
    ((kind, value),) = node.items()
    if kind == "array":
        if not isinstance(value, str) or value not in arrays:
            raise _corrupt(path, f"is corrupt: the array {value!r} (for {at!r}) is missing")
        return arrays[value]
    if kind == "value" and (value is None or isinstance(value, (bool, str, int, float))):
        return value
    if kind == "float" and value in ("nan", "inf", "-inf"):
        return float(value)
    if kind == "dict" and isinstance(value, list):
        out = {}
        for item in value:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], (str, int))
                and not isinstance(item[0], bool)
            ):
                raise _corrupt(path, f"has a damaged description at {at!r}: a dict item {str(item)[:80]}")
            k = item[0]
            out[k] = _rebuild(item[1], arrays, path, f"{where}/{k}" if where else str(k), depth + 1)
        return out
    if kind in ("list", "tuple") and isinstance(value, list):
        items = [_rebuild(v, arrays, path, f"{where}/{i}" if where else str(i), depth + 1) for i, v in enumerate(value)]
        return items if kind == "list" else tuple(items)
    raise _corrupt(path, f"has a damaged description at {at!r}: unknown entry {str(node)[:80]}")
