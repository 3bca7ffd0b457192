"""Training checkpoints: files, names, and finding the newest one after a crash.

A checkpoint is one `.npz` written with `tinytorch.save` (nested dicts of arrays and plain
values, no pickle, written to a temporary name and renamed, so a crash never leaves half a
file under the real name). It holds a "format" marker so a plain weights file is told apart.

Automatic checkpoints are named `step_000400.npz` in a folder; `find_latest_checkpoint(folder)`
picks the highest step, so after a kernel crash or a page reload the last one is found again.
"""

import re
from pathlib import Path

from .. import serialization

CHECKPOINT_FORMAT = "tinytorch.training.checkpoint"
_NAME = re.compile(r"^step_(\d+)\.npz$")


def checkpoint_name(step: int) -> str:
    """The file name an automatic checkpoint for `step` gets, e.g. step_000400.npz."""
    return f"step_{int(step):06d}.npz"


def write_checkpoint(state: dict, path) -> Path:
    """Write a checkpoint dict to `path` (".npz" is added if missing). Returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    return serialization.save({"format": CHECKPOINT_FORMAT, **state}, path)


def read_checkpoint(path) -> dict:
    """Read a checkpoint written by `write_checkpoint`; clear errors for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {str(path)!r}; find the saved ones with "
            "tinytorch.training.find_latest_checkpoint(folder)"
        )
    try:
        state = serialization.load(path)
    except ValueError as error:
        raise ValueError(
            f"{error}. Load an earlier checkpoint instead (tinytorch.training.list_checkpoints(folder))."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a training checkpoint (plain weights? load those with "
            "model.load_state_dict(tinytorch.load(path))); write one with trainer.save_checkpoint(path)"
        )
    return state


def list_checkpoints(folder) -> list:
    """[(step, path)] of the automatic checkpoints in `folder`, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def find_latest_checkpoint(folder):
    """The newest automatic checkpoint (highest step) in `folder` as a Path, or None if there is none."""
    checkpoints = list_checkpoints(folder)
    return checkpoints[-1][1] if checkpoints else None
