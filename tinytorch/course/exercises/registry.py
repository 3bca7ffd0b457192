"""The exercise catalogue and the three calls a notebook makes: check, use, hint."""

import io
from contextlib import redirect_stdout
from dataclasses import dataclass, field

from .verdicts import ExerciseFailed, verdict


@dataclass
class Exercise:
    """One exercise.

    title     what the student writes
    check     check(*answers): raises AssertionError naming the mistake
    hints     [a nudge, the idea]: never the code
    wrong     recorded wrong solutions [(source, keyword its failure message must contain)]; the
              source redefines the student's answer(s) after the reference cells ran
    library   () -> the library's answer(s), same arity as the student's (None: no fallback)
    keep      a passing answer is saved for later notebooks (carry.py): notebook 4 builds the GPT from it
    """

    id: str
    title: str
    check: object
    hints: list
    wrong: list = field(default_factory=list)
    library: object = None
    keep: bool = False


EXERCISES = {}


def register(exercise_id, title, hints, wrong, library=None, keep=False):
    """Decorator for a check function: adds the exercise to the catalogue."""

    def decorate(fn):
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        EXERCISES[exercise_id] = Exercise(exercise_id, title, fn, list(hints), list(wrong), library, keep)
        return fn

    return decorate


def _exercise(exercise_id) -> Exercise:
    exercise_id = str(exercise_id)
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the course has {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]


def check(exercise_id: str, *answers) -> None:
    """The test cell of exercise `exercise_id`: prints ✓, or raises ExerciseFailed with what is wrong.

    A passing answer of an exercise whose piece later notebooks build on is saved (see carry.py)."""
    ex = _exercise(exercise_id)
    nudge = f'stuck? run hint("{exercise_id}") for a nudge, hint("{exercise_id}", level=2) for the idea'
    with verdict(f"Exercise {exercise_id} {ex.title}", hint=nudge):
        ex.check(*answers)
    if ex.keep:
        from .. import carry

        carry.keep(exercise_id, answers)


def use(exercise_id: str, *answers):
    """The student's answer(s) when they pass exercise `exercise_id`'s check, else the library's.

    Returns one object for one answer, a tuple for several, so that
    `softmax = use("2.1", softmax)` keeps the rest of the notebook running either way.
    """
    ex = _exercise(exercise_id)
    try:
        with redirect_stdout(io.StringIO()):
            with verdict(ex.title):
                ex.check(*answers)
        return answers[0] if len(answers) == 1 else answers
    except ExerciseFailed as error:
        reason = "not written yet" if "not implemented yet" in str(error) else "not passing its check yet"
    if ex.library is None:
        raise ExerciseFailed(
            f"Exercise {exercise_id} ({ex.title}) is {reason}: the cells below need it. "
            "Finish it and run its test cell, then run this cell again."
        )
    print(
        f"Note: your Exercise {exercise_id} ({ex.title}) is {reason}, so the cells below use the library's "
        f"version. Finish it, run its test cell, then re-run from here to use yours."
    )
    fallback = ex.library()
    return fallback if len(answers) == 1 else tuple(fallback)


def passes(exercise_id: str, *answers) -> str:
    """'' when the answers pass the exercise's check, else the failure message (nothing printed)."""
    try:
        with redirect_stdout(io.StringIO()):
            with verdict(_exercise(exercise_id).title):
                _exercise(exercise_id).check(*answers)
    except ExerciseFailed as error:
        return str(error)
    return ""


def hint(exercise_id: str, level: int = 1) -> None:
    """Print the hint for exercise `exercise_id`: level 1 a nudge, level 2 the idea."""
    levels = _exercise(exercise_id).hints
    if level not in range(1, len(levels) + 1):
        raise ValueError(f"hint level must be 1 (a nudge) or 2 (the idea), got {level!r}")
    print(f"Hint {level}/{len(levels)} for Exercise {exercise_id}: {levels[level - 1]}")
    if level < len(levels):
        print(f'(still stuck? hint("{exercise_id}", level={level + 1}))')
