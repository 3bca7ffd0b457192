"""Test-cell verdicts: a stub, a wrong answer and a crash each become one ExerciseFailed with the
hint; a right answer prints a pass line; a wrong value is described by the kind of difference.
Gradient badges run the real gradcheck."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.course.badges import gradient_badges
from tinytorch.course.exercises.verdicts import (
    ExerciseFailed,
    check_close,
    check_equal,
    check_shape,
    describe_difference,
    graph_ops,
    tripwire,
)
from tinytorch.course.exercises.verdicts import verdict as exercise


def test_stub_gives_not_implemented_message_with_hint():
    def stub():
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not implemented yet") as info:
        with exercise("Exercise 9.9 thing", hint="add one"):
            stub()
    assert "Hint: add one" in str(info.value) and "Exercise 9.9 thing" in str(info.value)
    assert isinstance(info.value, AssertionError)  # nbgrader counts AssertionError as a failed test


def test_wrong_value_names_index_and_values():
    with pytest.raises(ExerciseFailed) as info:
        with exercise("softmax", hint="subtract the max"):
            check_close(np.array([0.5, 0.2]), [0.5, 0.5], "softmax([1, 1])")
    message = str(info.value)
    assert "index (1,)" in message and "0.2" in message and "Hint: subtract the max" in message


def test_differences_are_named_by_kind():
    want = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert "opposite sign" in describe_difference(-want, want)
    assert "2 times the expected" in describe_difference(2 * want, want)
    assert "same +0.5" in describe_difference(want + 0.5, want)
    assert "nan or inf" in describe_difference(np.full_like(want, np.nan), want)
    square = np.arange(9.0).reshape(3, 3)
    assert "transpose" in describe_difference(square.T, square)


def test_graph_ops_and_tripwire_see_what_the_student_called():
    x = tt.Tensor(np.ones((2, 3)), requires_grad=True)
    assert {"gelu", "sum"} <= graph_ops(x.gelu().sum())
    with tripwire({"F.gelu": (tt.nn.functional, "gelu")}) as called:
        tt.nn.functional.gelu(x)
    assert called == {"F.gelu"}
    assert tt.nn.functional.gelu.__name__ == "gelu"  # restored


def test_crash_in_student_code_is_reported_with_its_line():
    def broken(x):
        return x.nonexistent

    with pytest.raises(ExerciseFailed, match="AttributeError") as info:
        with exercise("broken", hint="h"):
            broken(np.zeros(2))
    assert "return x.nonexistent" in str(info.value)


def test_pass_prints_a_check_mark(capsys):
    with exercise("fine"):
        check_equal([1, 2], [1, 2])
        check_shape(np.zeros((2, 3)), (2, 3))
        check_close(tt.Tensor([1.0, 2.0]), [1.0, 2.0])
    assert "✓ fine: all checks passed" in capsys.readouterr().out


def test_check_close_rejects_shape_and_none():
    with pytest.raises(AssertionError, match="shape"):
        check_close(np.zeros(3), np.zeros(4))
    with pytest.raises(AssertionError, match="return"):
        check_close(None, 1.0, "f(x)")


def test_gradient_badges_pass_and_fail():
    with tt.default_dtype(np.float64):
        x = tt.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True, dtype=np.float64)

        def wrong_square(t):
            # Forward is t*t but backward pretends the gradient is t (not 2t): gradcheck must catch it.
            out = tt.Tensor._from_op(t.data * t.data, (t,), "wrong_square")

            def _backward(grad, data=t.data):
                t._accumulate(grad * data)

            return out._with_backward(_backward)

        badges = gradient_badges([("tanh", lambda t: t.tanh(), [x]), ("wrong", wrong_square, [x])])
    assert [ok for _, ok, _ in badges.results] == [True, False]
    assert not badges.all_passed
    html = badges._repr_html_()
    assert "✓ tanh" in html and "✗ wrong" in html and "#cf222e" in html


def test_gradient_badge_with_a_reference_catches_a_wrong_formula():
    """A GELU with the wrong constant has a backward that matches its own forward, so finite
    differences alone pass it; the reference comparison must not."""
    with tt.default_dtype(np.float64):
        x = tt.Tensor(np.linspace(-3, 3, 13), requires_grad=True, dtype=np.float64)

        def wrong_gelu(t):
            return t * 0.5 * ((t + t * t * t * 0.044715).tanh() + 1.0)  # sqrt(2/pi) missing

        alone = gradient_badges([("gelu", wrong_gelu, [x])])
        checked = gradient_badges(
            [
                ("gelu", wrong_gelu, [x], tt.nn.functional.gelu),
                ("right", lambda t: t.gelu(), [x], tt.nn.functional.gelu),
            ]
        )
    assert alone.all_passed  # why the reference is needed
    (_, ok, detail), (_, ok_right, detail_right) = checked.results
    assert not ok and "differs from the reference" in detail
    assert ok_right and "matches the reference" in detail_right
