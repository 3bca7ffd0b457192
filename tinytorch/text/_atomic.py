"""Write-then-rename, so a crash never leaves half a file where a whole one is expected."""

import os
from pathlib import Path


def replace_file(tmp, dest) -> None:
    """Move the finished file `tmp` onto `dest` (replacing it).

    os.replace is atomic on POSIX. In JupyterLite the files live in the browser (DriveFS),
    where renaming onto an existing file may be refused: then remove `dest` first. The new
    content is complete either way; only the moment between unlink and rename is exposed.
    """
    try:
        os.replace(tmp, dest)
    except OSError:
        if Path(dest).exists():
            os.unlink(dest)
        os.rename(tmp, dest)
