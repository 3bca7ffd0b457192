"""import_work on untrusted zips: bounded, and all or nothing.

Generated cases per class: limits read from the central directory (entries, unpacked size,
name length, depth), sizes that lie, duplicates, a member needing another as a folder, clashes
with the target folder, manifests that disagree or have the wrong type, the file system refusing
a name, and a failure in the middle of moving files into place. Every case asserts that the
target folder is exactly as before (every file's bytes, every folder) and that the message names
the zip and the member or limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path

import pytest

from tinytorch.course import work
from tinytorch.course.work import LIMITS, MANIFEST, import_work


def _tree(root: Path) -> dict:
    """Every file's bytes and every folder under root (hidden ones included)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else "folder") for p in sorted(root.rglob("*"))
    }


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    root = tmp_path / "target"
    (root / "runs").mkdir(parents=True)
    (root / "02_attention.ipynb").write_text('{"cells": []}')
    (root / "notes.txt").write_text("my notes\n")
    (root / "runs" / "w.bin").write_bytes(bytes(range(256)))
    return root


def _zip(path: Path, members: list, manifest=None, compression=zipfile.ZIP_DEFLATED) -> Path:
    """members: [(name, bytes)]; manifest: True for the export's own, a value for that JSON, None for none."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
        if manifest is True:
            manifest = {
                "tinygpt_work": 2,
                "files": {
                    name: {"type": "file", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    for name, data in members
                    if not name.endswith("/")
                },
            }
        if manifest is not None:
            zf.writestr(MANIFEST, manifest if isinstance(manifest, (str, bytes)) else json.dumps(manifest))
    return path


def _refused(target: Path, zip_path: Path, *needles: str) -> str:
    before = _tree(target)
    with pytest.raises(ValueError) as error:
        import_work(zip_path, root=target)
    message = str(error.value)
    assert message.startswith(f"import_work: {zip_path.name} ") and "nothing was changed" in message, message
    for needle in needles:
        assert needle in message, message
    assert _tree(target) == before, "a refused import changed the folder"
    return message


# ----------------------------------------------------------------------------- limits from the directory


@pytest.mark.parametrize(
    "limit, members, needle",
    [
        ("entries", lambda n: [(f"f{i}.txt", b"x") for i in range(n + 1)], "entries"),
        ("total_bytes", lambda n: [("big.bin", b"\0" * (n + 1))], "would unpack to"),
        ("total_bytes", lambda n: [(f"part{i}.bin", b"\0" * (n // 3 + 1)) for i in range(3)], "would unpack to"),
        ("name_bytes", lambda n: [("a" * (n + 1) + ".txt", b"x")], "longer than the limit"),
        ("name_bytes", lambda n: [("é" * (n // 2 + 1), b"x")], "longer than the limit"),  # bytes, not characters
        ("name_bytes", lambda n: [("runs/" + "b" * (n + 1) + "/x.txt", b"x")], "longer than the limit"),
        ("path_chars", lambda n: [("/".join(["d" * 9] * (n // 10 + 1)) + "/x.txt", b"x")], "characters"),
        ("depth", lambda n: [("/".join("d" * (n + 1)) + "/x.txt", b"x")], "folders deep"),
    ],
)
@pytest.mark.parametrize("scale", [1, 7])
def test_limits_are_read_from_the_directory_before_any_member(
    tmp_path, target, monkeypatch, limit, members, needle, scale
):
    small = {"entries": 20, "total_bytes": 4096, "name_bytes": 40, "path_chars": 120, "depth": 6}
    monkeypatch.setitem(LIMITS, limit, small[limit] * scale)
    monkeypatch.setattr(work, "_stream", lambda *a: pytest.fail("a member was read before the limits were checked"))
    zip_path = _zip(tmp_path / f"{limit}.zip", members(small[limit] * scale))
    _refused(target, zip_path, needle, f"{LIMITS[limit]:,}")


def test_a_real_zip_bomb_is_refused_with_the_default_limits(tmp_path, target):
    """300 MiB of zeros in well under 1 MiB of zip: refused from its directory."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                member.write(chunk)
    assert bomb.stat().st_size < 1 << 20
    _refused(target, bomb, "would unpack to 314,572,800 bytes", f"{LIMITS['total_bytes']:,}")


def _lie_about_size(path: Path, name: str, declared: int) -> None:
    """Rewrite the central directory's uncompressed size of `name` (the local header keeps the truth)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, at + 24, declared)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("declared", [0, 1, 100, 4095])
@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_member_that_unpacks_past_its_declared_size_is_refused(tmp_path, target, declared, compression):
    zip_path = _zip(tmp_path / "liar.zip", [("ok.txt", b"fine"), ("liar.bin", b"\1" * 4096)], compression=compression)
    _lie_about_size(zip_path, "liar.bin", declared)
    _refused(target, zip_path, "liar.bin", "damaged")


# ----------------------------------------------------------------------------- structure


DUPLICATES = {
    "same name": [("notes.txt", b"one"), ("notes.txt", b"two")],
    "dot folder": [("a/notes.txt", b"one"), ("a/./notes.txt", b"two")],
    "backslash": [("a/b.txt", b"one"), ("a\\b.txt", b"two")],
    "double slash": [("a/b.txt", b"one"), ("a//b.txt", b"two")],
    "case": [("Notes.txt", b"one"), ("notes.TXT", b"two")],
    "leading dot slash": [("x.txt", b"one"), ("./x.txt", b"two")],
}


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile warns, as it should, when writing them
@pytest.mark.parametrize("shape", DUPLICATES)
@pytest.mark.parametrize("manifest", [None, True])
def test_duplicates_are_refused_and_neither_copy_written(tmp_path, target, shape, manifest):
    members = DUPLICATES[shape]
    if manifest:
        manifest = {
            "files": {members[0][0]: {"size": len(members[0][1]), "sha256": hashlib.sha256(members[0][1]).hexdigest()}}
        }
    _refused(target, _zip(tmp_path / "dup.zip", members, manifest), "twice")


FOLDER_CLASHES = {
    "file then folder": [("a", b"x"), ("a/b.txt", b"y")],
    "folder then file": [("a/b.txt", b"y"), ("a", b"x")],
    "deep": [("a/b/c", b"x"), ("a/b/c/d/e.txt", b"y")],
    "folder entry and file": [("a/", b""), ("a", b"x")],
}


@pytest.mark.parametrize("shape", FOLDER_CLASHES)
def test_a_member_needing_another_as_a_folder_is_refused(tmp_path, target, shape):
    _refused(target, _zip(tmp_path / "clash.zip", FOLDER_CLASHES[shape]), "both as a file and as a folder")


@pytest.mark.parametrize(
    "members, needle",
    [
        ([("new.txt", b"n"), ("notes.txt/inside.txt", b"x")], "needs 'notes.txt' as a folder"),
        ([("new.txt", b"n"), ("runs", b"x")], "has a folder of that name"),
        ([("new.txt", b"n"), ("runs/w.bin/deeper/x", b"x")], "needs 'runs/w.bin' as a folder"),
    ],
)
def test_a_member_that_clashes_with_the_folder_is_refused(tmp_path, target, members, needle):
    _refused(target, _zip(tmp_path / "clash.zip", members, True), needle)


# ----------------------------------------------------------------------------- manifests


GOOD = [("notes.txt", b"restored notes\n"), ("runs/new.bin", b"\0\1\2")]


def _listed(changes=None) -> dict:
    """The export's manifest of GOOD, with {path: meta changes, or None to leave the path out}."""
    files = {
        name: {"type": "file", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in GOOD
    }
    for name, meta in (changes or {}).items():
        if meta is None:
            files.pop(name)
        else:
            files[name] = {**files.get(name, {}), **meta}
    return {"tinygpt_work": 2, "files": files}


MANIFESTS = {
    "lists a missing file": (_listed({"gone/txt": {"size": 1}}), "gone/txt is listed in it but missing"),
    "does not list a file": (_listed({"notes.txt": None}), "'notes.txt', which its .tinygpt-work.json does not list"),
    "wrong size": (_listed({"notes.txt": {"size": 3}}), "notes.txt does not match"),
    "wrong sha256": (_listed({"notes.txt": {"sha256": "0" * 64}}), "notes.txt does not match"),
    "not JSON": ("{not json", "cannot be read"),
    "a list": ("[1, 2]", "(it is a list, not a mapping)"),
    "no files": ({"tinygpt_work": 2}, "'files' is missing"),
    "files a list": ({"files": ["notes.txt"]}, "'files' is a list"),
    "files a string": ({"files": "notes.txt"}, "'files' is a string"),
    "entry a string": ({"files": {"notes.txt": "file"}}, "the entry for 'notes.txt' is a string"),
    "size a string": (_listed({"notes.txt": {"size": "big"}}), "the size of 'notes.txt' is 'big'"),
    "size negative": (_listed({"notes.txt": {"size": -1}}), "the size of 'notes.txt' is -1"),
    "size a bool": (_listed({"notes.txt": {"size": True}}), "the size of 'notes.txt' is True"),
    "sha256 a number": (_listed({"notes.txt": {"sha256": 123}}), "the sha256 of 'notes.txt' is 123"),
    "type a number": (_listed({"notes.txt": {"type": 5}}), "the type of 'notes.txt' is 5"),
    "not UTF-8": (b"\xff\xfe{", "cannot be read"),
}


@pytest.mark.parametrize("case", MANIFESTS)
def test_a_manifest_that_disagrees_or_has_the_wrong_type_is_refused(tmp_path, target, case):
    manifest, needle = MANIFESTS[case]
    _refused(target, _zip(tmp_path / "m.zip", GOOD, manifest), needle)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_two_manifests_are_refused(tmp_path, target):
    path = _zip(tmp_path / "two.zip", GOOD, True)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(MANIFEST, json.dumps(_listed()))
    _refused(target, path, "holds its .tinygpt-work.json twice")


def test_the_good_zip_restores_and_keeps_backups(tmp_path, target):
    result = import_work(_zip(tmp_path / "good.zip", GOOD, True), root=target)
    assert result["added"] == ["runs/new.bin"] and list(result["replaced"]) == ["notes.txt"]
    assert (target / "notes.txt").read_bytes() == b"restored notes\n"
    assert (target / result["replaced"]["notes.txt"]).read_text() == "my notes\n"
    assert not [p for p in target.iterdir() if p.name.startswith(".import-work-")], "the staging folder was left"


# ----------------------------------------------------------------------------- failures while writing


@pytest.mark.parametrize("length", [256, 300, 1000])
def test_a_name_the_file_system_refuses_changes_nothing(tmp_path, target, monkeypatch, length):
    """Past the name limit on purpose: the file system itself refuses (ENAMETOOLONG) while staging."""
    monkeypatch.setitem(LIMITS, "name_bytes", 10_000)
    monkeypatch.setitem(LIMITS, "path_chars", 10_000)
    long_name = "n" * length + ".txt"
    _refused(
        target,
        _zip(tmp_path / "long.zip", [("notes.txt", b"new"), (long_name, b"x")], True),
        "cannot be written here",
        long_name[:20],
    )


def test_a_failure_at_any_step_of_moving_files_into_place_is_undone(tmp_path, target, monkeypatch):
    members = GOOD + [("runs/w.bin", b"newer weights"), ("new/deep/file.txt", b"deep"), ("02_attention.ipynb", b"{}")]
    zip_path = _zip(tmp_path / "many.zip", members, True)
    real_replace = os.replace
    for fail_at in range(2 * len(members) + 1):  # each file: at most a backup and a move
        calls = []

        def flaky(a, b, calls=calls, fail_at=fail_at):
            calls.append(1)
            if len(calls) == fail_at + 1:
                raise OSError(28, "No space left on device (simulated)")
            return real_replace(a, b)

        monkeypatch.setattr(work.os, "replace", flaky)
        before = _tree(target)
        try:
            import_work(zip_path, root=target)
        except OSError:
            assert _tree(target) == before, f"a failure at move {fail_at} left the folder changed"
        else:
            break  # no move failed: every failing position was tried
    else:
        pytest.fail("the import never completed")
    assert fail_at >= len(members), "fewer moves than files: the failures were not injected where files move"
