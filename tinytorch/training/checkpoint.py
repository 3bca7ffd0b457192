"""Checkpoint files: names, runs, and finding the newest one after a crash.

A checkpoint is one `.npz` written with `tinytorch.save` (nested dicts of arrays and plain
values, no pickle, written atomically). It holds a "format" marker so a plain weights file is
told apart.

Every trainer is one *run* with a short random id. Its automatic checkpoints are named
`run-3f2a1c_step_000400.npz`, so two runs sharing a folder never delete or overwrite each
other's files, and `trainer.resume()` can say which run it continues. (Names without a run,
`step_000400.npz`, from earlier versions are still found.)
"""

import re
import secrets
from pathlib import Path

from .. import serialization

CHECKPOINT_FORMAT = "tinytorch.training.checkpoint"
_NAME = re.compile(r"^(?:run-([0-9a-z]+)_)?step_(\d+)\.npz$")


def new_run_id() -> str:
    """Six random hex digits (from the OS, so tinytorch's seeded generator is not touched)."""
    return secrets.token_hex(3)


def checkpoint_name(step: int, run: str | None = None) -> str:
    """The file name of an automatic checkpoint, e.g. run-3f2a1c_step_000400.npz."""
    return (f"run-{run}_" if run else "") + f"step_{int(step):06d}.npz"


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
            f"no checkpoint at {str(path)!r}; find the newest one with "
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


def run_of(path) -> str | None:
    """The run id in an automatic checkpoint's name, or None (a name without one)."""
    match = _NAME.match(Path(path).name)
    return match.group(1) if match else None


def list_checkpoints(folder, run: str | None = None) -> list:
    """[(step, path)] of the automatic checkpoints in `folder` (of one `run`, if given), oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match and entry.is_file() and (run is None or match.group(1) == run):
            found.append((int(match.group(2)), entry))
    return sorted(found, key=lambda item: (item[1].stat().st_mtime, item[0]))


def list_runs(folder) -> dict:
    """{run id: newest checkpoint path} in `folder`, the most recently written run last."""
    runs = {}
    for _, path in list_checkpoints(folder):
        runs.pop(run_of(path), None)  # re-insert: dict order follows the newest write
        runs[run_of(path)] = path
    return runs


def find_latest_checkpoint(folder, run: str | None = None):
    """The newest automatic checkpoint in `folder` (of one `run`, if given) as a Path, or None."""
    checkpoints = list_checkpoints(folder, run)
    return checkpoints[-1][1] if checkpoints else None
