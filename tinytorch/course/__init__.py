"""Helpers the course notebooks call in the browser: answers, export, speed probe."""
from tinytorch.course.work import export_work, import_work, reset_notebook  # noqa: F401
from tinytorch.course.answers import export_answers  # noqa: F401
