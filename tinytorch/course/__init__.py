"""Helpers the course notebooks call in the browser: exercise checks and hints, predictions,
answers, export, hand-in, speed probe."""
from tinytorch.course.work import export_work, import_work, reset_notebook  # noqa: F401
from tinytorch.course.answers import export_answers  # noqa: F401
from tinytorch.course.handin import hand_in  # noqa: F401
from tinytorch.course.exercises import check, use  # noqa: F401
from tinytorch.course.hints import hint  # noqa: F401
from tinytorch.course.predict import reveal  # noqa: F401
