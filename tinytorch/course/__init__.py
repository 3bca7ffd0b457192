"""Helpers the course notebooks call in the browser: exercises (checks, hints, fallbacks), the
student's GPT assembled from their pieces, predictions, answers, export, hand-in, speed probe."""

from tinytorch.course.answers import export_answers  # noqa: F401
from tinytorch.course.exercises import check, hint, use  # noqa: F401
from tinytorch.course.handin import hand_in  # noqa: F401
from tinytorch.course.predict import reveal  # noqa: F401
from tinytorch.course.work import export_work, import_work, reset_notebook  # noqa: F401
