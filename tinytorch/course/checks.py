"""Helpers for the course's test cells: clear pass/fail messages with a hint, and gradient badges.

A test cell wraps its checks in `exercise(...)`:

    from tinytorch.course.checks import exercise, check_close
    with exercise("softmax", hint="Subtract the row max before exp, then divide by the row sum."):
        check_close(softmax(np.array([1.0, 2.0])), [0.2689, 0.7311], "softmax([1, 2])")

- the stub still raises NotImplementedError  -> AssertionError "softmax: not implemented yet ... Hint: ..."
- a check fails                              -> AssertionError naming what was wrong, plus the hint
- any other error inside the block           -> AssertionError naming that error, plus the hint
- everything passes                          -> prints "✓ softmax: all checks passed"

An AssertionError is what nbgrader counts as a failed test, and the message is written for
the student, not for the grader. Nothing here writes to stderr (nbgrader validate would
count that as a failure).
"""

import html
from contextlib import contextmanager

import numpy as np


class ExerciseFailed(AssertionError):
    """A test cell's verdict: the exercise is not done yet, or not right yet (message says why)."""

    def _render_traceback_(self):
        # IPython shows this instead of a long traceback: the student needs the message, not our frames.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


@contextmanager
def exercise(name: str, hint: str = ""):
    """Run an exercise's checks; turn every failure into one readable AssertionError with `hint`."""
    hint_text = f"\n  Hint: {hint}" if hint else ""
    try:
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


def _where(error) -> str:
    """' (at line N of cell ...: `code`)' for the innermost frame of the error, to help debugging."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    if len(frames) < 2:
        return ""
    frame = frames[-1]
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"\n  (in {frame.name}, line {frame.lineno}{code})"


def _as_array(value, what: str) -> np.ndarray:
    data = getattr(value, "data", value)  # a Tensor holds its numbers in .data
    if data is None:
        raise AssertionError(f"{what} is None: did the function forget to `return` its result?")
    try:
        return np.asarray(data)
    except Exception as error:
        raise AssertionError(f"{what} is a {type(value).__name__}, which is not array-like ({error})") from None


def check_shape(actual, shape, what: str = "the result") -> None:
    """Assert that `actual` (array or Tensor) has `shape`."""
    got = _as_array(actual, what).shape
    if tuple(got) != tuple(shape):
        raise AssertionError(f"{what} has shape {tuple(got)}, expected {tuple(shape)}")


def check_close(actual, expected, what: str = "the result", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Assert that `actual` matches `expected` in shape and value (within atol + rtol * |expected|)."""
    got = _as_array(actual, what)
    want = np.asarray(getattr(expected, "data", expected))
    if got.shape != want.shape:
        raise AssertionError(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        raise AssertionError(f"{what} holds {got.dtype} values, expected numbers")
    if not np.all(np.isfinite(got[np.isfinite(want)])):
        raise AssertionError(f"{what} contains nan or inf where finite numbers were expected")
    bad = ~np.isclose(got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what} is off at index {where}: got {got[where]!r}, expected {want[where]!r} "
            f"({int(bad.sum())} of {bad.size} values differ)"
        )


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


# --------------------------------------------------------------------------- gradient badges


class Badges:
    """A row of pass/fail badges that renders as HTML in Jupyter (`.html` holds the markup)."""

    def __init__(self, results):
        self.results = list(results)  # (name, passed, detail)

    @property
    def all_passed(self) -> bool:
        return all(passed for _, passed, _ in self.results)

    @property
    def html(self) -> str:
        badges = []
        for name, passed, detail in self.results:
            color, mark = ("#1a7f37", "✓") if passed else ("#cf222e", "✗")
            badges.append(
                f'<span class="tinygpt-badge" title="{html.escape(detail)}" style="display:inline-block;'
                f"margin:2px 6px 2px 0;padding:3px 10px;border-radius:12px;color:white;background:{color};"
                f'font:13px sans-serif">{mark} {html.escape(name)} '
                f'<span style="opacity:.8">{html.escape(detail)}</span></span>'
            )
        return '<div class="tinygpt-badges">' + "".join(badges) + "</div>"

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return "\n".join(f"{'✓' if ok else '✗'} {name}: {detail}" for name, ok, detail in self.results)


def gradient_badge(name: str, fn, inputs, reference=None, **gradcheck_kwargs):
    """Check `fn(*inputs)` against `reference(*inputs)` (value and gradient), then its backward
    against finite differences; return (name, passed, detail).

    inputs must be float64 Tensors with requires_grad=True (see tinytorch.gradcheck). Finite
    differences alone only say that fn's backward matches fn's forward: a GELU with the wrong
    formula would still pass, so a badge with a reference also compares the numbers themselves.
    """
    from ..gradcheck import gradcheck

    try:
        if reference is not None:
            problem = _differs_from_reference(fn, reference, inputs)
            if problem:
                return (name, False, problem)
        worst = gradcheck(fn, inputs, **gradcheck_kwargs)
    except NotImplementedError:
        return (name, False, "not implemented yet")
    except AssertionError as error:
        return (name, False, str(error).replace("gradcheck: ", ""))
    except Exception as error:
        return (name, False, f"{type(error).__name__}: {error}")
    return (name, True, f"max error {worst:.1e}" + (", matches the reference" if reference is not None else ""))


def _differs_from_reference(fn, reference, inputs) -> str:
    """'' when fn and reference agree on inputs (outputs and input gradients), else what differs."""
    results = []
    for f in (fn, reference):
        for t in inputs:
            t.grad = None
        out = f(*inputs)
        weights = np.random.default_rng(0).standard_normal(out.shape)
        (out * weights).sum().backward()  # a random direction: every output element matters
        results.append((np.array(out.data), [None if t.grad is None else np.array(t.grad) for t in inputs]))
    for t in inputs:
        t.grad = None
    (mine, mine_grads), (ref, ref_grads) = results
    if mine.shape != ref.shape:
        return f"output shape {mine.shape}, the reference gives {ref.shape}"
    if not np.allclose(mine, ref, atol=1e-6, rtol=1e-5):
        return f"output differs from the reference by up to {np.abs(mine - ref).max():.1e}"
    for i, (a, b) in enumerate(zip(mine_grads, ref_grads)):
        if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, atol=1e-6, rtol=1e-5)):
            return f"the gradient of input {i} differs from the reference's"
    return ""


def gradient_badges(checks) -> Badges:
    """checks: list of (name, fn, inputs) or (name, fn, inputs, reference). Runs each check; returns Badges."""
    return Badges(gradient_badge(*check) for check in checks)
