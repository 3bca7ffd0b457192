"""tinytorch.files.atomic_write: the one safe way the package writes files. A write is whole
or absent, never half; two writers of one path never share a temporary file; a file system
that refuses to rename onto an existing file (as some browser file systems may) still works."""

import os
import threading

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import files
from tinytorch.files import atomic_write


def test_bytes_text_and_writer_functions(tmp_path):
    assert atomic_write(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    atomic_write(tmp_path / "sub" / "b.txt", "héllo")  # folders are made, str is UTF-8
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "héllo"
    atomic_write(tmp_path / "a.bin", lambda f: f.write(b"new"))
    assert (tmp_path / "a.bin").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "sub"]  # no temporary files left
    with pytest.raises(IsADirectoryError, match="is a folder"):
        atomic_write(tmp_path / "sub", b"x")


def test_an_interrupted_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write(path, "old")

    def crash(f):
        f.write(b"half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["notes.txt"]


def test_two_writers_of_one_path_never_collide(tmp_path):
    """Threads saving the same checkpoint name at once (a fifth of such saves used to fail when
    the temporary name was only the process id): every save succeeds, the file is one whole save."""
    path = tmp_path / "model.npz"
    errors = []

    def save(k):
        try:
            for _ in range(5):
                tt.save({"w": np.full(2000, float(k))}, path)
        except Exception as error:  # collected: an exception in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    w = tt.load(path)["w"]
    assert w.shape == (2000,) and len(set(w.tolist())) == 1  # one writer's whole array
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_file_system_that_refuses_rename_over_a_file(tmp_path, monkeypatch):
    path = tmp_path / "tok.json"
    atomic_write(path, "old")

    def refuse(src, dst):
        if os.path.exists(dst):
            raise PermissionError(f"cannot replace {dst}")
        os.rename(src, dst)

    monkeypatch.setattr(files.os, "replace", refuse)
    atomic_write(path, "new")
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["tok.json"]


def test_a_failed_rename_never_deletes_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.txt"
    atomic_write(path, "precious")

    def vanish(src, dst):  # the temporary file is gone: not the "refused rename" case
        os.unlink(src)
        raise FileNotFoundError(src)

    monkeypatch.setattr(files.os, "replace", vanish)
    with pytest.raises(FileNotFoundError):
        atomic_write(path, "new")
    assert path.read_text() == "precious"
