"""The old home of the test-cell helpers, kept so that notebooks saved before the move still run.

New code imports them from their homes: `tinytorch.course.exercises.verdicts` (the verdict of a
test cell and the comparisons that name a mistake) and `tinytorch.course.badges` (gradient badges).
"""

from .badges import Badges, gradient_badge, gradient_badges  # noqa: F401
from .exercises.verdicts import ExerciseFailed, check_close, check_equal, check_shape, check_true  # noqa: F401
