"""`atomic_write(path, content)`: the one way tinytorch writes a file, so a crash (or the
stop button) never leaves half a file where a whole one is expected.

The content goes to a temporary file beside `path`, with a name no other writer uses
(`.model.npz.<pid>-<random>.tmp.npz`: two saves of one path, even from two threads, never
share a temporary file), and is then renamed onto `path`.

The browser: the kernel's files (its working folder /drive) are JupyterLite's contents
storage seen through Pyodide's DriveFS. There a rename is the contents API's rename, which
stores the file under the new name, replacing what was there, then forgets the old name
(jupyterlite 0.8.6; checked in Chromium: `os.replace` onto an existing file in /drive
works and the stored file holds the new bytes). A file system that refuses to rename onto
an existing file gets a fallback: remove the old file, then rename. The new content is
complete in the temporary file before the old one goes, so nothing is ever half written.
"""

import os
import uuid
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, content) -> Path:
    """Write `content` to `path` all at once, creating the folder if needed. Returns the Path.

    content: bytes, a str (written as UTF-8), or a function `write(f)` that writes into a
    binary file object (e.g. a zip or an .npz). If writing fails or is interrupted, the old
    file at `path` (if any) is left as it was and no temporary file is left behind.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give a file name, e.g. {str(path / 'file.npz')!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder (a rename cannot cross mounts); same suffix (the browser's storage gives a new
    # file its media type from its name, and a rename keeps it); hidden; unique.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        with open(tmp, "xb") as f:  # "x": never open another writer's file
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            try:
                os.fsync(f.fileno())
            except OSError:  # some file systems (the browser's) cannot fsync; the rename still protects
                pass
        _replace(tmp, path)
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:  # the normal case: it was renamed
            pass
    return path


def _replace(tmp: Path, dest: Path) -> None:
    """Move the finished `tmp` onto `dest`: os.replace, or remove-then-rename where refused."""
    try:
        os.replace(tmp, dest)
    except OSError:
        if not (tmp.exists() and dest.exists()):
            raise  # not the "cannot rename onto a file" case: never remove dest for it
        os.unlink(dest)
        os.rename(tmp, dest)
