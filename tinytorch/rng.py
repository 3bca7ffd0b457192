"""One random generator for the whole library, so one seed makes a run reproducible.

(Named `rng`, not `random`: a module called random reads like, and can shadow, Python's own.)

Weight init, dropout, batch sampling and text sampling all draw from `rng()`;
`manual_seed(seed)` resets it. Code that wants its own stream (e.g. `generate(seed=...)`)
makes a local `np.random.default_rng(seed)` instead of touching the global one.
"""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the global generator: same seed, same init, dropout, batches and samples."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def rng() -> np.random.Generator:
    """The global generator (changes object when manual_seed is called: don't cache it)."""
    return _generator
