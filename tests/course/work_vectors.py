"""The student-work zip format's test vectors, shared by both sides of it.

Each vector is a zip (built here, byte for byte the same on every run) and what a restore must
do with it: accept it with exactly these files ({path: sha256}), or refuse it with a message
holding a key word. tests/course/test_work_vectors.py runs every vector through
tinytorch.course.work.import_work (Python) and through the page's
coursetools/page_scripts/student-work-format.js in Node (work_vectors.test.mjs): one
behaviour spec, proven the same way on both sides.

    python tests/course/work_vectors.py FOLDER   # writes FOLDER/*.zip and FOLDER/cases.json
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import warnings
import zipfile
from pathlib import Path

FORMAT = json.loads(
    (Path(__file__).resolve().parents[2] / "tinytorch" / "course" / "work_format.json").read_text(encoding="utf-8")
)
LIMITS = FORMAT["limits"]
MANIFEST = FORMAT["manifest"]
WHEN = (2026, 12, 6, 9, 5, 2)  # every entry's date: the same zip on every run

NOTEBOOK = (
    json.dumps(
        {
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": "My answer ✓"}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )
    + "\n"
).encode()
WORK = {  # a student's work: a notebook, nested text, a binary file, a non-ASCII name
    "02_attention.ipynb": NOTEBOOK,
    "notes/ideas.txt": b"try a smaller learning rate\n",
    "runs/step_000400.npz": bytes(range(256)) * 8,
    "données/été.txt": "déjà vu\n".encode(),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(files: dict) -> dict:
    """The manifest's 'files' as an export writes it: type, size, sha256 per path."""
    return {
        path: {"type": "notebook" if path.endswith(".ipynb") else "file", "size": len(data), "sha256": sha256(data)}
        for path, data in files.items()
    }


def manifest(files: dict | None = None, **change) -> bytes:
    body = {
        "tinygpt_work": FORMAT["version"],
        "exported": "2026-12-06T09:05:02Z",
        "by": "work_vectors",
        "files": listing(WORK if files is None else files),
    }
    body.update(change)
    return json.dumps(body, indent=1, ensure_ascii=False).encode()


def zip_of(members: list, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of [(name, bytes)] in this order (a name ending in '/' is a folder)."""
    from io import BytesIO

    out = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": some vectors hold one on purpose
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, WHEN)
                info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else method
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
    return out.getvalue()


def export_of(files: dict | None = None, extra: list = (), **change) -> bytes:
    files = WORK if files is None else files
    return zip_of(list(files.items()) + list(extra) + [(MANIFEST, manifest(files, **change))])


def _entries(data: bytes):
    """(central directory offset, local header offset, name) of each entry."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        infos = zf.infolist()
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    for info in infos:
        yield offset, info.header_offset, info.filename
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + name_len + extra_len + comment_len


def patched(
    data: bytes, name: str, size: int | None = None, flags: int | None = None, flip_data: bool = False
) -> bytes:
    """data with one entry's declared unpacked size, flag bits or a byte of its packed data changed."""
    out = bytearray(data)
    for central, local, entry in _entries(data):
        if entry != name:
            continue
        if size is not None:
            struct.pack_into("<I", out, central + 24, size)
            struct.pack_into("<I", out, local + 22, size)
        if flags is not None:
            struct.pack_into("<H", out, central + 8, flags)
            struct.pack_into("<H", out, local + 6, flags)
        if flip_data:
            name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
            out[local + 30 + name_len + extra_len + 5] ^= 0x5A
    return bytes(out)


def accept(files: dict) -> dict:
    return {"files": {path: sha256(data) for path, data in files.items()}}


def refuse(word: str) -> dict:
    return {"refused": word}


ONE = {"a.txt": b"a"}
deep = "/".join(["d"] * LIMITS["depth"]) + "/x.txt"  # one folder more than the limit
long_path = "/".join([f"{i:02d}" + "p" * 36 for i in range(LIMITS["path_chars"] // 38 + 1)])[:-3] + "txt"
assert len(long_path) > LIMITS["path_chars"] and long_path.count("/") < LIMITS["depth"]
big = len(WORK["runs/step_000400.npz"])

# name -> (the zip's bytes, made lazily, and what a restore does with it)
VECTORS = {
    # what both sides accept
    "export": (lambda: export_of(), accept(WORK)),
    "export with a folder entry": (lambda: export_of(extra=[("empty/", b"")]), accept(WORK)),
    "stored, no manifest": (lambda: zip_of(list(WORK.items()), zipfile.ZIP_STORED), accept(WORK)),
    "tool metadata skipped": (
        lambda: zip_of(
            [
                ("a.txt", b"a"),
                ("__MACOSX/._a.txt", b"x"),
                (".DS_Store", b"x"),
                ("nb/.ipynb_checkpoints/x-checkpoint.ipynb", b"{}"),
                ("./b/./c.txt", b"c"),
            ]
        ),
        accept({"a.txt": b"a", "b/c.txt": b"c"}),
    ),
    # one path twice: which copy is the student's cannot be told
    "same name twice": (lambda: zip_of([("a.txt", b"a"), ("a.txt", b"b")]), refuse("twice")),
    "names differing in case": (lambda: zip_of([("Notes.txt", b"a"), ("notes.txt", b"b")]), refuse("twice")),
    "names differing in case folding": (lambda: zip_of([("STRASSE.txt", b"a"), ("straße.txt", b"b")]), refuse("twice")),
    "name with ./": (lambda: zip_of([("a.txt", b"a"), ("./a.txt", b"b")]), refuse("twice")),
    "name with a backslash": (lambda: zip_of([("n/a.txt", b"a"), ("n\\a.txt", b"b")]), refuse("twice")),
    "manifest twice": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, manifest(ONE)), (MANIFEST, manifest(ONE))]),
        refuse("twice"),
    ),
    "a file and a folder of the same name": (
        lambda: zip_of([("a", b"a"), ("a/b.txt", b"b")]),
        refuse("both as a file and as a folder"),
    ),
    # the manifest: what an export wrote, and nothing else
    "unlisted file": (lambda: export_of(extra=[("added_later.txt", b"x")]), refuse("does not list")),
    "listed file missing": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, manifest({**ONE, "b.txt": b"b"}))]),
        refuse("incomplete"),
    ),
    "size differs from the manifest": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, manifest(ONE).replace(b'"size": 1', b'"size": 2'))]),
        refuse("does not match the checksum"),
    ),
    "sha256 differs from the manifest": (
        lambda: zip_of([("a.txt", b"b"), (MANIFEST, manifest(ONE))]),
        refuse("does not match the checksum"),
    ),
    "manifest not JSON": (lambda: zip_of([("a.txt", b"a"), (MANIFEST, b"{not json")]), refuse("cannot be read")),
    "manifest a list": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'["a.txt"]')]),
        refuse("not what an export writes"),
    ),
    "manifest files missing": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"tinygpt_work": 2}')]),
        refuse("not what an export writes"),
    ),
    "manifest files a list": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": ["a.txt"]}')]),
        refuse("not what an export writes"),
    ),
    "manifest entry a string": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": {"a.txt": "file"}}')]),
        refuse("not what an export writes"),
    ),
    "manifest size a string": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": {"a.txt": {"size": "1"}}}')]),
        refuse("not what an export writes"),
    ),
    "manifest size a boolean": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": {"a.txt": {"size": true}}}')]),
        refuse("not what an export writes"),
    ),
    "manifest sha256 short": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": {"a.txt": {"sha256": "ab"}}}')]),
        refuse("not what an export writes"),
    ),
    "manifest type a number": (
        lambda: zip_of([("a.txt", b"a"), (MANIFEST, b'{"files": {"a.txt": {"type": 3}}}')]),
        refuse("not what an export writes"),
    ),
    # names that would leave the folder
    "parent folder": (lambda: zip_of([("../evil.txt", b"x")]), refuse("unsafe")),
    "parent folder inside": (lambda: zip_of([("a/../../evil.txt", b"x")]), refuse("unsafe")),
    "parent folder with backslashes": (lambda: zip_of([("..\\evil.txt", b"x")]), refuse("unsafe")),
    "absolute": (lambda: zip_of([("/etc/evil.txt", b"x")]), refuse("unsafe")),
    "drive letter": (lambda: zip_of([("C:/evil.txt", b"x")]), refuse("unsafe")),
    "drive-relative": (lambda: zip_of([("C:evil.txt", b"x")]), refuse("unsafe")),
    "colon in the first name": (lambda: zip_of([("notes:1.txt", b"x")]), refuse("unsafe")),  # JupyterLab: a drive
    # the limits, from the directory, before anything is unpacked
    "too many entries": (
        lambda: zip_of([(f"f{i}", b"") for i in range(LIMITS["entries"] + 1)], zipfile.ZIP_STORED),
        refuse("entries"),
    ),
    "too deep": (lambda: zip_of([(deep, b"x")]), refuse("folders deep")),
    "name too long": (lambda: zip_of([("n" * (LIMITS["name_bytes"] + 1), b"x")]), refuse("longer than the limit")),
    "name too long in bytes": (
        lambda: zip_of([("é" * (LIMITS["name_bytes"] // 2 + 1), b"x")]),
        refuse("longer than the limit"),
    ),
    "path too long": (lambda: zip_of([(long_path, b"x")]), refuse("characters")),
    "declared too big": (
        lambda: patched(export_of(), "runs/step_000400.npz", size=LIMITS["total_bytes"] + 1),
        refuse("would unpack to"),
    ),
    # zips damaged or packed in a way no export is
    "declared smaller than it unpacks": (
        lambda: patched(zip_of(list(WORK.items())), "runs/step_000400.npz", size=big - 100),
        refuse("damaged"),
    ),
    "declared larger than it unpacks": (
        lambda: patched(zip_of(list(WORK.items())), "runs/step_000400.npz", size=big + 100),
        refuse("damaged"),
    ),
    "bytes changed, no manifest": (
        lambda: patched(zip_of(list(WORK.items()), zipfile.ZIP_STORED), "runs/step_000400.npz", flip_data=True),
        refuse("damaged"),
    ),
    "bytes changed, with a manifest": (
        lambda: patched(export_of(), "runs/step_000400.npz", flip_data=True),
        refuse("damaged"),
    ),
    "encrypted entry": (
        lambda: patched(zip_of([("a.txt", b"a")], zipfile.ZIP_STORED), "a.txt", flags=1),
        refuse("encrypted"),
    ),
    "LZMA entry": (lambda: zip_of([("a.txt", b"a" * 100)], zipfile.ZIP_LZMA), refuse("compression method")),
    "cut short": (lambda: export_of()[: len(export_of()) // 2], refuse("not a zip file")),
    "not a zip": (lambda: b"this is a text file, not a zip\n" * 4, refuse("not a zip file")),
}


def write(folder: Path) -> dict:
    """Every vector into folder as <n>.zip, and folder/cases.json: {"cases": {name: {zip, expect}}, "export"}."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = {}
    for n, (name, (make, expect)) in enumerate(VECTORS.items()):
        path = folder / f"{n:02d}.zip"
        path.write_bytes(make())
        cases[name] = {"zip": path.name, "expect": expect}
    # An export of WORK must list exactly this (each side's exporter adds dates and formats of its own).
    export = {"files": {path: base64.b64encode(data).decode() for path, data in WORK.items()}, "listing": listing(WORK)}
    (folder / "cases.json").write_text(
        json.dumps({"export": export, "cases": cases}, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return cases


if __name__ == "__main__":
    write(Path(sys.argv[1]))
