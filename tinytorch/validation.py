"""The argument checks the framework shares: one home per rule, one wording per mistake.

Every public function that takes an axis, a count, a hyperparameter or token ids checks it
here, so fixing a message fixes it for every caller. Each error names the offending value
and says how to fix it. (The trainer's own argument checks, built on these, are in
`training/arguments.py`; checks on a student's notebook answers are another thing: they live
with each exercise in `tinytorch/course/exercises/`.)

    axis_index(axis, ndim, who)        one axis -> 0..ndim-1      (numpy's rule: never wraps)
    axes_tuple(axis, ndim, who)        None / int / tuple -> sorted unique axes
    positive_int(value, name)          1, 2, ... (not True, not 2.5, not "3")
    non_negative_int(value, name)      0, 1, 2, ...
    real_number(value, name, ...)      a finite float within bounds (lr, temperature, dropout...)
    token_ids(ids, vocab_size, who)    integer ids in 0..vocab_size-1, as int64
    integer_ids(ids, who)              the same without the range (targets with an ignore_index)
    tensor_data(data)                  numbers for a Tensor: never None, objects or text
    check_allocation(who, sizes, shape, dtype)   an array from user-given sizes fits in MAX_ARRAY_BYTES
    allocating(who, sizes, shape, dtype)         the same, and an out-of-memory inside names the sizes
"""

import math

import numpy as np

__all__ = [
    "TokenIdError",
    "axis_index",
    "axes_tuple",
    "positive_int",
    "non_negative_int",
    "real_number",
    "token_ids",
    "integer_ids",
    "tensor_data",
    "MAX_ARRAY_BYTES",
    "AllocationError",
    "check_allocation",
    "allocating",
]


# ----------------------------------------------------------------------------- axes


def axis_index(axis, ndim: int, who: str) -> int:
    """`axis` as an index 0..ndim-1 (negative counts from the end), or an AxisError naming it.

    numpy's rule: axis 2 of a 2-D tensor is an error, never quietly axis 0.
    AxisError is both a ValueError and an IndexError.
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{who}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        valid = f"{-ndim}..{ndim - 1}" if ndim else "none: a 0-d tensor has no axes"
        raise np.exceptions.AxisError(
            f"{who}: axis {axis} is out of range for a tensor with {ndim} dim{'s' if ndim != 1 else ''} "
            f"(valid axes: {valid})"
        )
    return axis % ndim


def axes_tuple(axis, ndim: int, who: str) -> tuple:
    """None -> every axis; an int or a sequence of ints -> a sorted tuple of distinct axes."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(axis_index(a, ndim, who) for a in items)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{who}: axis {tuple(items)} names the same axis twice")
    return tuple(sorted(axes))


# ----------------------------------------------------------------------------- numbers


def _whole(value, name: str, smallest: int) -> int:
    # Always a ValueError (a float or a str is a wrong *value* for a size), so callers catch one type.
    wanted = "a positive int (at least 1)" if smallest == 1 else "a non-negative int (at least 0)"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        whole = isinstance(value, (float, np.floating)) and float(value).is_integer()
        hint = f": write {int(value)}" if whole and value >= smallest else ""
        raise ValueError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__}){hint}")
    if value < smallest:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def positive_int(value, name: str) -> int:
    """value as an int >= 1; a bool, a float (even 2.0), a str or a number < 1 is a ValueError naming it."""
    return _whole(value, name, 1)


def non_negative_int(value, name: str) -> int:
    """value as an int >= 0 (see positive_int)."""
    return _whole(value, name, 0)


def real_number(value, name: str, *, minimum=None, maximum=None, below=None, above=None, hint: str = "") -> float:
    """value as a finite float with minimum <= value <= maximum, above < value < below.

    None, text, bools and NaN are ValueErrors naming the value: `lr=None` or `temperature="hot"`
    get our message, not one from float() or numpy.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        and not (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")
    ):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}){hint}")
    number = float(value)
    wrong = (
        not np.isfinite(number)
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
        or (below is not None and number >= below)
        or (above is not None and number <= above)
    )
    if wrong:
        if minimum is not None and maximum is not None:
            bounds = [f"between {minimum:g} and {maximum:g}"]
        else:
            bounds = [
                f"{op} {bound:g}"
                for op, bound in ((">=", minimum), (">", above), ("<=", maximum), ("<", below))
                if bound is not None
            ]
        wanted = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise ValueError(f"{name} must be {wanted}, got {value!r}{hint}")
    return number


# ----------------------------------------------------------------------------- token ids


class TokenIdError(IndexError, ValueError):
    """A token id outside the vocabulary (an IndexError, as for a table lookup, and a ValueError)."""


def token_ids(
    ids, vocab_size, who: str, ndims=None, noun: str = "token id", unit: str = "tokens", hint: str = ""
) -> np.ndarray:
    """ids (list, ndarray or Tensor of ints) checked against a vocabulary of `vocab_size`, as int64.

    vocab_size: None checks only that no id is negative (data before a model exists).
    ndims: allowed numbers of dims, e.g. (2,) for (B, T) or (1, 2); None allows any.
    hint: appended to the out-of-range message (e.g. "or ignore_index=-100").
    Errors: text instead of ids, float ids (1.5 would silently become 1), a wrong shape, and an
    id outside 0..vocab_size-1 (naming the id, where it is, and the largest valid id).
    """
    array = integer_ids(ids, who, ndims, noun)
    if array.size:
        low, high = array.min(), array.max()
        if low < 0 or (vocab_size is not None and high >= vocab_size):
            bad = int(low) if low < 0 else int(high)
            flat = int(np.argmax(array.reshape(-1) == bad))
            where = flat if array.ndim <= 1 else tuple(int(i) for i in np.unravel_index(flat, array.shape))
            if bad < 0:
                fix = (
                    f"ids start at 0 ({bad} often marks a character the tokenizer did not know); "
                    f"if the data really has more {unit}, build with a bigger vocab_size"
                )
            else:
                fix = (
                    f"was the text encoded with a different tokenizer? Otherwise build with a bigger "
                    f"vocab_size (at least {bad + 1})"
                )
            if vocab_size is None:
                raise TokenIdError(f"{who}: {noun} {bad} (at position {where}) is negative: {fix}")
            raise TokenIdError(
                f"{who}: {noun} {bad} is outside the vocabulary of {vocab_size} {unit} (at position {where}; "
                f"valid: 0..{vocab_size - 1}, the largest valid id is {vocab_size - 1}): {fix}{hint}"
            )
    return array


def integer_ids(ids, who: str, ndims=None, noun: str = "token id") -> np.ndarray:
    """ids as an int64 ndarray of an allowed number of dims, without a range check (see token_ids)."""
    data = ids.data if hasattr(ids, "data") and not isinstance(ids, np.ndarray) else ids
    if isinstance(data, str):
        raise TypeError(f"{who} takes token ids, not text: encode it first, e.g. tokenizer.encode(text)")
    try:
        array = np.asarray(data)
    except ValueError:
        raise TypeError(
            f"{who}: token ids must form a rectangular array, got {type(data).__name__} of ragged rows"
        ) from None
    if array.dtype.kind not in "iu":
        if array.dtype.kind in "USO":
            raise TypeError(
                f"{who} takes token ids, not text or objects (got dtype {array.dtype}): "
                "encode it first, e.g. tokenizer.encode(text)"
            )
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.int64)  # [] is float64 in numpy: an empty list is fine
        else:
            flat = array.reshape(-1)
            odd = np.flatnonzero(~(np.isfinite(flat) & (flat == np.round(flat)))) if array.dtype.kind == "f" else []
            if array.dtype.kind == "f" and len(odd) == 0:
                hint = " (they look like integers: convert with .astype(np.int64))"
            elif len(odd):
                hint = (
                    f" ({flat[odd[0]].item()!r} at position {int(odd[0])} is not a whole number: no token has that id)"
                )
            else:
                hint = ""
            raise TypeError(f"{who} takes integer {noun}s, got dtype {array.dtype}{hint}")
    if ndims is not None and array.ndim not in ndims:
        wanted = " or ".join({1: "1-D, shape (T,)", 2: "2-D, shape (B, T)"}.get(n, f"{n}-D") for n in ndims)
        hint = " For one sequence use ids[None, :]." if array.ndim == 1 and 1 not in ndims else ""
        raise ValueError(f"{who}: {noun}s must be {wanted}, got shape {array.shape}.{hint}")
    return array.astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- tensor data


def tensor_data(data) -> np.ndarray:
    """data as a numeric ndarray (bool, int or float, not yet cast), or a TypeError saying why not.

    None anywhere, objects and strings never become NaN: the usual cause is a function that
    forgot to `return` its result (it returned None).
    """
    if data is None:
        raise TypeError("Tensor(None): there is no data. Did a function forget to `return` its result?")
    try:
        array = np.asarray(data)
    except ValueError:
        raise ValueError("Tensor data must be rectangular: the nested lists have rows of different lengths") from None
    if array.dtype.kind in "biuf":
        return array
    if array.dtype == object:
        flat = list(array.reshape(-1))
        for i, item in enumerate(flat):
            if item is None:
                where = i if array.ndim <= 1 else tuple(int(j) for j in np.unravel_index(i, array.shape))
                raise TypeError(
                    f"Tensor data contains None at position {where}: did a function forget to `return` its result?"
                )
        try:
            converted = np.asarray(flat, dtype=np.float64).reshape(array.shape)
        except (TypeError, ValueError):
            kinds = sorted({type(item).__name__ for item in flat})
            raise TypeError(f"Tensor data must be numbers, got a mix of {', '.join(kinds)}") from None
        return converted
    if array.dtype.kind in "US":
        raise TypeError(
            f"Tensor data must be numbers, got text {array.reshape(-1)[:3].tolist()!r}: "
            "encode text into token ids first (tokenizer.encode(text))"
        )
    raise TypeError(f"Tensor data must be numbers (bool, int or float), got dtype {array.dtype}")


# ----------------------------------------------------------------------------- allocations

#: The most bytes one array built from user-given sizes may take (1 GiB). Far above what any
#: course model or batch needs (the presets' largest arrays take a few MB), and well below what a
#: browser tab can hold: Pyodide is 32-bit wasm, so all of its memory is at most 4 GiB (often 2),
#: and numpy there cannot even describe an array of 2 GiB. Training needs several arrays of the
#: largest size at once (weights, gradients, Adam's moments), so a bigger one would not train.
#: Read at every check: set `tinytorch.validation.MAX_ARRAY_BYTES` to raise it on a big machine.
MAX_ARRAY_BYTES = 2**30


class AllocationError(MemoryError, ValueError):
    """Sizes whose arrays cannot be allocated: refused up front (over MAX_ARRAY_BYTES), or the
    machine ran out of memory while allocating them. A MemoryError (what numpy would raise) and
    a ValueError (like every other wrong size); the message names the sizes to make smaller."""

    def __init__(self, message: str, refused: bool = True):
        super().__init__(message)
        self.refused = refused  # False: under the limit, but the memory was not there


def _readable_bytes(nbytes: int) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:,.1f} {unit}"
    return f"{nbytes} bytes"


def _describe(who: str, sizes: dict, shape, dtype, what: str):
    """(the sizes and the array they make, the fix), shared by both errors."""
    if isinstance(shape, (int, np.integer)):
        count, form = int(shape), f"{int(shape):,} {np.dtype(dtype).name} values"  # a total, not one array
    else:
        count = math.prod(map(int, shape))
        form = f"a {np.dtype(dtype).name} array of shape {tuple(int(n) for n in shape)}"
    nbytes = count * np.dtype(dtype).itemsize
    names = list(sizes)
    given = [f"{name}={value!r}" for name, value in sizes.items()]
    given = given[0] if len(given) == 1 else ", ".join(given[:-1]) + " and " + given[-1]
    verb = "makes" if len(names) == 1 else "make"
    said = f"{who}: {given} {verb} {what} {form}: {nbytes:,} bytes ({_readable_bytes(nbytes)})"
    smaller = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return nbytes, said, f"use a smaller {smaller}"


def check_allocation(who: str, sizes: dict, shape, dtype=np.float64, what: str = "it") -> int:
    """Refuse an array built from user-given sizes before allocating it, if it needs more than
    MAX_ARRAY_BYTES; return its bytes.

    sizes: the arguments that set the shape, {name: value}; the message names each of them and
    asks for a smaller one. shape: a tuple of ints, or one int (a count of values). The bytes
    are counted with Python ints, so sizes whose product overflows int64 (or numpy's int32 in
    the browser) are refused like any other. Costs a few integer operations: call it freely.
    """
    count = shape if isinstance(shape, (int, np.integer)) else math.prod(map(int, shape))  # never wraps
    nbytes = int(count) * np.dtype(dtype).itemsize
    if nbytes > MAX_ARRAY_BYTES:
        _, said, fix = _describe(who, sizes, shape, dtype, what)
        raise AllocationError(
            f"{said}, more than MAX_ARRAY_BYTES ({_readable_bytes(MAX_ARRAY_BYTES)}; a browser tab has 2-4 GiB "
            f"for everything): {fix}",
            refused=True,
        )
    return nbytes


class allocating:
    """`with allocating(who, sizes, shape, dtype, what):` around the code that allocates.

    Checks the size up front (check_allocation), and turns a MemoryError raised inside (the
    size was allowed but the machine had not that much free memory) into an AllocationError
    naming the same sizes, the bytes and the fix. An out-of-memory from an inner `allocating`
    is renamed by the outer one (its sizes are the ones the caller chose); refusals pass as they are.
    """

    __slots__ = ("who", "sizes", "shape", "dtype", "what")

    def __init__(self, who: str, sizes: dict, shape, dtype=np.float64, what: str = "it"):
        check_allocation(who, sizes, shape, dtype, what)
        self.who, self.sizes, self.shape, self.dtype, self.what = who, sizes, shape, dtype, what

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None or not issubclass(kind, MemoryError) or getattr(error, "refused", False):
            return False
        _, said, fix = _describe(self.who, self.sizes, self.shape, self.dtype, self.what)
        raise AllocationError(
            f"{said}, and there was not enough free memory for it: {fix}, or free memory "
            "(delete big arrays you no longer need, or restart the kernel)",
            refused=False,
        ) from error
