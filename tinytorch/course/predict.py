"""Predict, then run: the student writes a guess before a cell shows the answer; `reveal` compares.

    my_guess = None          # the student's cell: a number (or one of the choices)
    ...                      # the cell that measures the answer
    reveal(my_guess, actual, tolerance=0.2)          # numbers: within 20 % is a hit
    reveal(my_guess, "u", choices=["e", "u", " "])   # a choice: exact match

A missing guess is not an error (the notebook keeps running), it just says so.
"""


def reveal(guess, actual, tolerance: float = 0.2, choices=None, unit: str = "") -> str:
    """Print how `guess` compares with `actual`; return "none", "hit" or "miss".

    Numbers: a hit within `tolerance` relative error (0.2 = 20 %). With `choices`, the guess
    must equal `actual` exactly (the choices are listed in the message).
    """
    shown = f"{actual}{unit}" if choices is not None else f"{_fmt(actual)}{unit}"
    if guess is None:
        print(
            f"The answer: {shown}. (You did not write a prediction: next time, guess first, it is how "
            f"you find out what you really expected.)"
        )
        return "none"
    if choices is not None:
        if guess not in choices:
            print(f"Your prediction {guess!r} is not one of the choices {choices!r}. The answer: {shown}.")
            return "miss"
        verdict = "hit" if guess == actual else "miss"
        print(
            f"You predicted {guess!r}; the answer is {shown}: "
            + ("right!" if verdict == "hit" else "not what you expected. Worth a minute: why?")
        )
        return verdict
    try:
        guess_value = float(guess)
    except (TypeError, ValueError):
        print(f"Your prediction {guess!r} is not a number. The answer: {shown}.")
        return "miss"
    actual_value = float(actual)
    error = abs(guess_value - actual_value) / max(abs(actual_value), 1e-12)
    verdict = "hit" if error <= tolerance else "miss"
    print(
        f"You predicted {_fmt(guess_value)}{unit}; measured {shown} ({error:.0%} off): "
        + (
            "within the tolerance of " + f"{tolerance:.0%}. Well reasoned."
            if verdict == "hit"
            else f"outside the {tolerance:.0%} tolerance. Which step of your reasoning was off?"
        )
    )
    return verdict


def _fmt(value) -> str:
    value = float(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")
