"""How a test cell reaches its verdict: one readable failure that names the mistake, or a pass line.

A test cell runs an exercise's check inside `verdict(...)`:

    with verdict("Exercise 2.1 softmax", hint="..."):
        compare(softmax(x), reference(x), "softmax(x)", mistakes=[(wrong(x), "the max of the WHOLE array ...")])

- the stub still raises NotImplementedError  -> ExerciseFailed "not implemented yet ... Hint: ..."
- a comparison fails                          -> ExerciseFailed naming the mistake it recognised
- any other error inside the student's code   -> ExerciseFailed naming that error and its line
- everything passes                           -> prints "✓ ...: all checks passed"

ExerciseFailed is an AssertionError: what nbgrader counts as a failed test. Nothing here writes to
stderr (nbgrader validate would count that as a failure). The helpers below the verdict are the
comparisons the exercises share: values (`compare`, which names the kind of difference when no
recorded mistake matches), gradients against a reference, the library's own answer used in place
of the student's (`refuse_library`), parameters randomised so that pieces which are the identity at
initialisation cannot stand in for each other.
"""

from contextlib import contextmanager

import numpy as np


class ExerciseFailed(AssertionError):
    """A test cell's verdict: the exercise is not done yet, or not right yet (message says why)."""

    def _render_traceback_(self):
        # IPython shows this instead of a long traceback: the student needs the message, not our frames.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


@contextmanager
def verdict(name: str, hint: str = ""):
    """Run an exercise's checks; turn every failure into one readable ExerciseFailed with `hint`."""
    hint_text = f"\n  Hint: {hint}" if hint else ""
    try:
        with np.errstate(all="ignore"):  # a student's overflow is reported by the check, not by numpy warnings
            yield
    except NotImplementedError:
        raise ExerciseFailed(
            f"✗ {name}: not implemented yet. Replace `raise NotImplementedError()` in the exercise cell "
            f"above with your code, run that cell, then run this one again.{hint_text}"
        ) from None
    except ExerciseFailed:
        raise
    except AssertionError as error:
        raise ExerciseFailed(f"✗ {name}: {error}{hint_text}") from None
    except Exception as error:  # a crash inside the student's code is also a failed check
        raise ExerciseFailed(
            f"✗ {name}: your code raised {type(error).__name__}: {error}{_where(error)}{hint_text}"
        ) from error
    print(f"✓ {name}: all checks passed")


exercise = verdict  # the older name, kept for notebooks saved before the rename


def _where(error) -> str:
    """' (in f, line N: `code`)' for the innermost frame of the error, to help debugging."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    if len(frames) < 2:
        return ""
    frame = frames[-1]
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"\n  (in {frame.name}, line {frame.lineno}{code})"


# --------------------------------------------------------------------------- values


def _as_array(value, what: str) -> np.ndarray:
    data = getattr(value, "data", value)  # a Tensor holds its numbers in .data
    if data is None:
        raise AssertionError(f"{what} is None: did the function forget to `return` its result?")
    try:
        return np.asarray(data)
    except Exception as error:
        raise AssertionError(f"{what} is a {type(value).__name__}, which is not array-like ({error})") from None


def _close(a, b, atol=1e-5, rtol=1e-4) -> bool:
    try:
        a = np.asarray(getattr(a, "data", a), dtype=np.float64)
        b = np.asarray(getattr(b, "data", b), dtype=np.float64)
    except Exception:
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))


def describe_difference(got, want, atol=1e-5, rtol=1e-4) -> str:
    """What kind of difference separates `got` from `want` (same shape), in words a student can act on."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.all(np.isfinite(got[np.isfinite(want)])):
        return "it contains nan or inf where finite numbers were expected (an overflow, a log of 0, or 0 / 0?)"
    if _close(got, -want, atol, rtol):
        return "it has the opposite sign of the expected values"
    finite = np.isfinite(want) & (np.abs(want) > 1e-8)
    if finite.any():
        ratios = got[finite] / want[finite]
        if np.allclose(ratios, ratios[0], rtol=1e-3) and abs(ratios[0] - 1) > 1e-3:
            return f"every value is {ratios[0]:.4g} times the expected one: a missing or extra constant factor"
    diff = got - want
    if diff.size > 1 and np.allclose(diff, diff.flat[0], atol=atol) and abs(diff.flat[0]) > atol:
        return f"every value is off by the same {diff.flat[0]:+.4g}: a missing or extra constant term"
    if got.ndim >= 2 and got.shape[-1] == got.shape[-2] and _close(np.swapaxes(got, -1, -2), want, atol, rtol):
        return "it is the transpose of the expected result (rows and columns swapped)"
    if got.ndim >= 1 and got.shape[0] > 1:
        for shift in (1, -1):
            if _close(np.roll(got, shift, axis=0), want, atol, rtol):
                return "its entries are shifted by one position along the first axis"
    bad = ~np.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    if np.nanmax(np.abs(diff)) < 1e-3 * max(1.0, float(np.nanmax(np.abs(want[np.isfinite(want)]), initial=0.0))):
        return (
            f"it is close but not equal (off by up to {np.nanmax(np.abs(diff)):.2g}): a constant rounded or "
            "slightly off?"
        )
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (
        f"{int(bad.sum())} of {bad.size} values differ, by up to {np.nanmax(np.abs(diff)):.3g} "
        f"(first at index {where}: got {got[where]:.6g}, expected {want[where]:.6g})"
    )


def check_shape(actual, shape, what: str = "the result") -> None:
    """Assert that `actual` (array or Tensor) has `shape`."""
    got = _as_array(actual, what).shape
    if tuple(got) != tuple(shape):
        raise AssertionError(f"{what} has shape {tuple(got)}, expected {tuple(shape)}")


def check_close(actual, expected, what: str = "the result", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Assert that `actual` matches `expected` in shape and value; a failure says how they differ."""
    got = _as_array(actual, what)
    want = np.asarray(getattr(expected, "data", expected))
    if got.shape != want.shape:
        raise AssertionError(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        raise AssertionError(f"{what} holds {got.dtype} values, expected numbers")
    if not _close(got, want, atol, rtol):
        raise AssertionError(f"{what} is wrong: {describe_difference(got, want, atol, rtol)}")


def compare(got, expected, what, mistakes=(), atol=1e-5, rtol=1e-4) -> None:
    """check_close(got, expected), but when `got` matches a known mistake's result, say which mistake.

    mistakes: [(result of the mistaken version, message)]; a None result is skipped."""
    try:
        check_close(got, expected, what, atol=atol, rtol=rtol)
    except AssertionError:
        for wrong, message in mistakes:
            if wrong is not None and _close(got, wrong, atol=atol, rtol=rtol):
                raise AssertionError(f"{what}: {message}") from None
        raise


def check_equal(actual, expected, what: str = "the result") -> None:
    """Assert exact equality (lists, strings, int arrays)."""
    if isinstance(expected, (list, tuple, np.ndarray)) and not isinstance(actual, str):
        got, want = _as_array(actual, what), np.asarray(expected)
        if got.shape != want.shape or not np.array_equal(got, want):
            raise AssertionError(f"{what} is {got.tolist()!r}, expected {want.tolist()!r}")
    elif actual != expected:
        raise AssertionError(f"{what} is {actual!r}, expected {expected!r}")


def check_true(condition, message: str) -> None:
    """Assert `condition`; `message` says what should have been true."""
    if not condition:
        raise AssertionError(message)


# --------------------------------------------------------------------------- tensors and gradients


def tensor64(array, grad=True):
    """A float64 Tensor (gradient checks need float64's precision)."""
    from ...tensor import Tensor

    return Tensor(np.asarray(array, dtype=np.float64), requires_grad=grad, dtype=np.float64)


def float64():
    """Inside this block new parameters and constants are float64."""
    from ...tensor import default_dtype

    return default_dtype(np.float64)


def needs_tensor(result, what):
    from ...tensor import Tensor

    check_true(
        isinstance(result, Tensor),
        f"{what} returned a {type(result).__name__}, not a Tensor: use Tensor operations (not numpy) "
        "so that gradients flow",
    )


def graph_ops(out) -> set:
    """The names of every op in the graph that produced `out` (empty when nothing required grad)."""
    ops, stack, seen = set(), [out], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "_op", ""):
            ops.add(node._op)
        stack.extend(getattr(node, "_parents", ()))
    return ops


def refuse_library(out, ops: dict) -> None:
    """Fail when the graph of `out` holds one of the library's fused ops that do the exercise.

    ops: {op name: what the student called}, e.g. {"layer_norm": "tinytorch's layer_norm"}."""
    used = graph_ops(out) & set(ops)
    for op in sorted(used):
        raise AssertionError(
            f"your result comes from {ops[op]}, the library's version of what this exercise asks "
            "you to write: build it yourself from elementary Tensor operations"
        )


@contextmanager
def tripwire(targets: dict):
    """Record calls to library functions the student should not delegate to.

    targets: {label: (owner object, attribute name)}. Yields a set that collects the labels called.
    The originals are restored afterwards, whatever happens."""
    called, saved = set(), []
    for label, (owner, name) in targets.items():
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def spy(*args, _original=original, _label=label, **kwargs):
            called.add(_label)
            return _original(*args, **kwargs)

        setattr(owner, name, spy)
    try:
        yield called
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def delegated(called: set, what: str) -> None:
    if called:
        raise AssertionError(
            f"your {what} calls {', '.join(sorted(called))}: that is the library's answer to this "
            "exercise. Write it yourself (the library's version is what the check compares with)"
        )


def backward_with(out, seed=0):
    """Backpropagate a random direction from `out` (every output element matters), or say why not."""
    check_true(
        getattr(out, "requires_grad", False),
        "the result is not connected to the inputs or weights (computed with numpy, or from .data?): "
        "use Tensor operations so that gradients flow",
    )
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    (out * weights.astype(out.data.dtype)).sum().backward()


def compare_gradients(mine: dict, reference: dict, what: str, atol=1e-4, rtol=1e-3) -> None:
    """mine, reference: {name: gradient array or None} after the same backward. Names the first that differs."""
    for name, want in reference.items():
        got = mine.get(name)
        if want is None:
            continue
        if got is None or not np.any(got):
            raise AssertionError(
                f"{what}: no gradient reached {name}: part of the computation left the graph "
                "(numpy, .data or a new Tensor made from numbers); use Tensor operations throughout"
            )
        if not _close(got, want, atol, rtol):
            raise AssertionError(
                f"{what}: the values are right but the gradient of {name} is wrong ("
                f"{describe_difference(got, want, atol, rtol)}): some step is computed outside the graph "
                "(a .data, numpy or a constant where a Tensor belongs), so backward skips its share"
            )


def randomize(module, seed: int, scale: float = 0.3) -> None:
    """Give every parameter distinct random values: 1-D ones (LayerNorm weights, biases) too, so that
    pieces which are the identity at initialisation (a LayerNorm, a zero bias) cannot stand in for
    each other unnoticed."""
    generator = np.random.default_rng(seed)
    for name, p in module.named_parameters():
        values = generator.standard_normal(p.shape) * scale
        if name.endswith("weight") and p.ndim == 1:  # LayerNorm scales: around 1, never 0
            values = 1.0 + values
        p.data = values.astype(p.data.dtype)


def load_same_weights(mine, reference, what):
    try:
        mine.load_state_dict(reference.state_dict())
    except Exception as error:
        raise AssertionError(
            f"{what}: could not load the reference weights into yours ({error}); keep the "
            "submodule names given in __init__"
        ) from None


def run_like_reference(mine, reference, what: str, data):
    """Load the reference's weights into the student's module and run it on `data` (a Tensor that
    needs grad). Refuses a forward that calls the reference class's own forward (the library's
    answer) or returns no Tensor. what: the student's class, named if the weights do not load.
    Returns (x, out)."""
    from ...tensor import Tensor

    load_same_weights(mine, reference, what)
    x = Tensor(data, requires_grad=True)
    library = type(reference)
    with tripwire({f"{library.__name__}.forward": (library, "forward")}) as called:
        out = mine(x)
    delegated(called, "forward")
    needs_tensor(out, "forward")
    return x, out


def param_grads(module) -> dict:
    """{parameter name: a copy of its gradient, or None} after a backward."""
    return {name: (None if p.grad is None else np.array(p.grad)) for name, p in module.named_parameters()}


def compare_module_gradients(out, want, mine, reference, what: str, seed: int, x=None, xr=None) -> None:
    """Backpropagate the same random direction (`seed`) from the student's output and the reference's,
    then compare every parameter's gradient, and the input's when given (x: the student's, xr: the
    reference's). Names the first that differs."""
    backward_with(out, seed=seed)
    backward_with(want, seed=seed)
    grads, ref_grads = param_grads(mine), param_grads(reference)
    if x is not None:
        grads["x"], ref_grads["x"] = x.grad, xr.grad
    compare_gradients(grads, ref_grads, what)


def np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def causal_mask_numpy(T):
    return np.triu(np.ones((T, T), dtype=bool), k=1)
