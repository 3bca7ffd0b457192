"""Gradient badges: a row of pass/fail badges comparing a student's pieces with the library's,
value, gradient and finite differences (notebook 3 draws them)."""

import html

import numpy as np


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
