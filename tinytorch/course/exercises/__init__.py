"""Every course exercise, by notebook: its check, its hints, the library's fallback and recorded
wrong solutions, side by side (nb0_welcome.py ... nb5_systems.py).

    check("2.1", softmax)            # a test cell: prints ✓, or one ExerciseFailed naming the mistake
    softmax = use("2.1", softmax)    # later cells: yours once it passes, else the library's (says so)
    hint("2.1"); hint("2.1", level=2)

A check compares the answer with a reference on inputs where the usual slips cannot coincide
(realistic text, irregular ids, sizes that differ from each other, randomised weights), compares
gradients as well as values, and names the mistake it recognises. Each exercise records wrong
solutions (at least three); tests/course/test_exercises.py runs every check on the stub, the
reference and each of them.
"""

from . import nb0_welcome, nb1_tokens, nb2_attention, nb3_block, nb4_gpt, nb5_systems  # noqa: F401  (registers the exercises)
from .registry import EXERCISES, Exercise, check, hint, use  # noqa: F401
from .verdicts import ExerciseFailed  # noqa: F401
