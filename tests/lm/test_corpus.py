"""load_shakespeare / download_shakespeare: lookup order, cache, SHA-256, offline errors.

Downloads go to a local http.server on 127.0.0.1 serving a small made-up file: never the
real internet.
"""

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from tinytorch.text import corpus
from tinytorch.text.corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, load_shakespeare

SMALL_TEXT = "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
SMALL_SHA = hashlib.sha256(SMALL_TEXT.encode()).hexdigest()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env variables, no shipped copy, an empty cache: only what a test sets up."""
    monkeypatch.delenv("TINYGPT_CORPUS", raising=False)
    monkeypatch.delenv("TINYTORCH_CACHE", raising=False)
    monkeypatch.setenv("TINYGPT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(corpus, "SHIPPED_LOCATIONS", (tmp_path / "drive" / "data" / "tinyshakespeare.txt",))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def server(tmp_path):
    """A local HTTP server for tmp_path/www; yields (base_url, request_log)."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "input.txt").write_text(SMALL_TEXT)
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, fmt, *args):
            log.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_canonical_source_is_pinned():
    assert (
        SHAKESPEARE_URL == "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
    )
    assert SHAKESPEARE_SHA256 == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_explicit_path_wins(isolated):
    path = isolated / "mine.txt"
    path.write_text("a tiny play\n")
    assert load_shakespeare(path) == "a tiny play\n"
    with pytest.raises(FileNotFoundError, match="no corpus file at"):
        load_shakespeare(isolated / "missing.txt")


def test_environment_variable_then_shipped_copy(isolated, monkeypatch):
    shipped = isolated / "drive" / "data" / "tinyshakespeare.txt"
    shipped.parent.mkdir(parents=True)
    shipped.write_text(SMALL_TEXT)
    assert load_shakespeare(sha256=SMALL_SHA) == SMALL_TEXT
    env_file = isolated / "env.txt"
    env_file.write_text("from the environment")
    monkeypatch.setenv("TINYGPT_CORPUS", str(env_file))
    assert load_shakespeare() == "from the environment"
    monkeypatch.setenv("TINYGPT_CORPUS", str(isolated / "nope.txt"))
    with pytest.raises(FileNotFoundError, match="TINYGPT_CORPUS"):
        load_shakespeare()


def test_a_shipped_copy_is_used_only_if_its_hash_matches(isolated):
    # Found by looking around, not named by the user: a truncated or different file must not
    # silently become the training text.
    shipped = isolated / "drive" / "data" / "tinyshakespeare.txt"
    shipped.parent.mkdir(parents=True)
    shipped.write_text(SMALL_TEXT[:10])
    wrong = hashlib.sha256(SMALL_TEXT[:10].encode()).hexdigest()
    with pytest.raises(ValueError) as error:
        load_shakespeare(sha256=SMALL_SHA)
    message = str(error.value)
    assert str(shipped) in message and wrong in message and SMALL_SHA in message
    assert "load_shakespeare(path)" in message
    assert load_shakespeare(shipped) == SMALL_TEXT[:10]  # named explicitly: the user's choice


def test_download_checks_hash_caches_and_is_not_repeated(isolated, server):
    base, log = server
    url = base + "/input.txt"
    assert load_shakespeare(url=url, sha256=SMALL_SHA) == SMALL_TEXT
    cached = isolated / "cache" / "tinyshakespeare.txt"
    assert cached.read_text() == SMALL_TEXT
    assert sorted(p.name for p in cached.parent.iterdir()) == ["tinyshakespeare.txt"]  # no temp files
    assert load_shakespeare(url=url, sha256=SMALL_SHA) == SMALL_TEXT
    assert log == ["/input.txt"]  # the second call read the cache


def test_damaged_cache_is_downloaded_again(isolated, server):
    base, log = server
    cached = isolated / "cache" / "tinyshakespeare.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("half a file")
    assert load_shakespeare(url=base + "/input.txt", sha256=SMALL_SHA) == SMALL_TEXT
    assert cached.read_text() == SMALL_TEXT and len(log) == 1


def test_hash_mismatch_is_an_error_and_writes_nothing(isolated, server):
    base, _ = server
    wrong = "0" * 64
    with pytest.raises(ValueError) as info:
        load_shakespeare(url=base + "/input.txt", sha256=wrong)
    assert wrong in str(info.value) and SMALL_SHA in str(info.value)
    assert not (isolated / "cache").exists() or not any((isolated / "cache").iterdir())


def test_offline_without_cache_says_how_to_pass_a_path(isolated, server):
    base, _ = server
    with pytest.raises(FileNotFoundError) as info:
        load_shakespeare(url=base + "/not-there.txt", sha256=SMALL_SHA)  # HTTP 404
    assert "load_shakespeare('path/to/tinyshakespeare.txt')" in str(info.value)
    # A closed port behaves like no network at all.
    with pytest.raises(FileNotFoundError, match="TINYGPT_CORPUS"):
        load_shakespeare(url="http://127.0.0.1:9/input.txt", sha256=SMALL_SHA)


def test_download_shakespeare_for_the_site_build(tmp_path, server):
    base, _ = server
    dest = download_shakespeare(
        tmp_path / "site" / "data" / "tinyshakespeare.txt", url=base + "/input.txt", sha256=SMALL_SHA
    )
    assert Path(dest).read_text() == SMALL_TEXT


def test_real_corpus_if_present():
    """The real corpus named by $TINYGPT_CORPUS (not in the repo) has the pinned hash and the expected size."""
    shared = Path(os.environ.get("TINYGPT_CORPUS", "")).expanduser()
    if not os.environ.get("TINYGPT_CORPUS") or not shared.is_file():
        pytest.skip("set TINYGPT_CORPUS to the full tinyshakespeare.txt to check it")
    text = load_shakespeare(shared)
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    assert hashlib.sha256(text.encode()).hexdigest() == SHAKESPEARE_SHA256
