"""Hand in your notebooks from a notebook cell: one zip your course's grader (nbgrader) can read.

    from tinytorch.course import hand_in
    hand_in("s12345", name="Ada Lovelace")                          # the whole course
    hand_in("s12345", name="Ada Lovelace", notebook="01_tokens_and_data")   # one notebook

The zip holds your notebooks exactly as they are saved (nbgrader checks their cells against
the course's), plus a small manifest (`tinygpt-handin.json`: your id and name as you typed
them, when, each notebook's course version, size and sha256). Its name,
``tinygpt-handin_<id>_<UTC time>_<what>.zip``, tells the grader whose work it is and which
hand-in is newest. Upload that file to your course's hand-in page. Your notebooks are only
read, never changed. The page's "Your work" button makes the same zip without running code.
Pure Python: no numpy needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import zipfile
from pathlib import Path

from ..files import atomic_write
from .work import FORMAT as WORK_FORMAT

__all__ = ["hand_in", "hand_in_name", "course_notebooks"]

# One home for the format, shared with the page's "Your work" button: work_format.json["handin"].
FORMAT = WORK_FORMAT["handin"]


def _clean_id(student_id) -> str:
    """The id as typed, without surrounding spaces; an id the grader could not file is an error."""
    text = str(student_id).strip()
    if not re.fullmatch(FORMAT["student_id"], text):
        raise ValueError(
            f"hand_in: {text!r} cannot be used as a student id: use {FORMAT['student_id_help']}. "
            "Your name can be anything: pass it as name='...'."
        )
    return text


def hand_in_name(student_id, what: str, when: float | None = None) -> str:
    """The zip's file name, e.g. tinygpt-handin_s12345_20261206T090503Z_course.zip (time in UTC)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if when is None else when))
    return FORMAT["file_name"].format(prefix=FORMAT["prefix"], student_id=_clean_id(student_id), stamp=stamp, what=what)


def _course_version(data: bytes, name: str) -> dict:
    """The notebook's metadata.tinygpt (course_version, notebook, release); a clear error if it is not a notebook."""
    try:
        notebook = json.loads(data)
    except ValueError as exc:
        raise ValueError(
            f"hand_in: {name} is not a readable notebook ({exc}); restore it from a backup first."
        ) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"hand_in: {name} is not a notebook (no cells); restore it from a backup first.")
    meta = notebook.get("metadata", {}).get("tinygpt", {})
    return meta if isinstance(meta, dict) else {}


def course_notebooks(root: str | os.PathLike = ".") -> list[Path]:
    """The course's notebooks in `root` (top level, marked with a course version), sorted."""
    found = []
    for path in sorted(Path(root).glob("*.ipynb")):
        try:
            meta = _course_version(path.read_bytes(), path.name)
        except ValueError:
            continue
        if meta.get("course_version"):
            found.append(path)
    return found


def hand_in(
    student_id,
    name: str = "",
    notebook: str | None = None,
    root: str | os.PathLike = ".",
    dest: str | os.PathLike | None = None,
) -> Path:
    """Write your hand-in zip and return its path.

    student_id: your id as your course's student list has it (e.g. "s12345"); name: your name.
    notebook:   one notebook ("01_tokens_and_data", ".ipynb" optional), or None for every course
                notebook in `root`.
    dest:       where to write the zip (default: its standard name inside `root`). Keep that name
                when you upload it: the grader reads your id and the time from it.
    """
    student_id = _clean_id(student_id)
    root = Path(root)
    if notebook is None:
        paths, what = course_notebooks(root), FORMAT["whole_course"]
        if not paths:
            raise FileNotFoundError(
                f"hand_in: no course notebooks in {root.resolve()}; run this in the course's folder."
            )
    else:
        stem = notebook[:-6] if notebook.endswith(".ipynb") else notebook
        path = root / f"{stem}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(
                f"hand_in: {path.name} not found in {root.resolve()}; check the name in the file list."
            )
        paths, what = [path], stem
    now = time.time()
    filename = hand_in_name(student_id, what, now)
    dest = root / filename if dest is None else Path(dest)
    manifest = {
        "tinygpt_handin": FORMAT["version"],
        "student_id": student_id,
        "student_name": str(name).strip(),
        "handed_in": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "what": what,
        "by": "hand_in",
        "notebooks": {},
    }
    contents = []
    for path in paths:
        data = path.read_bytes()  # read once: the zip and its manifest describe the same bytes
        meta = _course_version(data, path.name)
        manifest["notebooks"][path.name] = {
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "course_version": meta.get("course_version"),
            "release": meta.get("release"),
        }
        contents.append((path.name, data))

    def write_zip(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            stamp = time.gmtime(now)[:6]
            for member, data in contents:
                zf.writestr(zipfile.ZipInfo(member, stamp), data, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(
                zipfile.ZipInfo(FORMAT["manifest"], stamp),
                json.dumps(manifest, indent=1, ensure_ascii=False),
                compress_type=zipfile.ZIP_DEFLATED,
            )

    atomic_write(dest, write_zip)
    print(
        f"Handed in {len(contents)} notebook(s) as {dest.name}. Download it (right-click → Download in the file "
        "list) and upload it, with this name, to your course's hand-in page."
    )
    return dest
