"""tinytorch.settings: every environment variable tinytorch reads, one prefix, old names still working."""

import warnings

import pytest

from tinytorch import settings


@pytest.fixture
def clean(monkeypatch):
    for name in ("CORPUS", "CACHE", "MATMUL"):
        monkeypatch.delenv(settings.PREFIX + name, raising=False)
        monkeypatch.delenv(settings.OLD_PREFIX + name, raising=False)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean, tmp_path):
    clean.setenv("HOME", str(tmp_path))
    assert settings.corpus_path() is None
    assert settings.cache_root() == tmp_path / ".cache" / "tinytorch"
    assert settings.matmul_backend() == "auto"


def test_the_prefix_is_tinygpt_and_empty_means_unset(clean, tmp_path):
    clean.setenv("TINYGPT_CORPUS", str(tmp_path / "shakespeare.txt"))
    clean.setenv("TINYGPT_CACHE", "~/somewhere")
    clean.setenv("TINYGPT_MATMUL", " Einsum ")
    assert settings.corpus_path() == tmp_path / "shakespeare.txt"
    assert settings.cache_root().name == "somewhere" and "~" not in str(settings.cache_root())
    assert settings.matmul_backend() == "einsum"
    clean.setenv("TINYGPT_CORPUS", "")
    assert settings.corpus_path() is None


def test_old_names_work_and_say_the_new_one(clean, tmp_path):
    clean.setenv("TINYTORCH_CACHE", str(tmp_path / "old"))
    with pytest.warns(FutureWarning, match="TINYTORCH_CACHE is now called TINYGPT_CACHE"):
        assert settings.cache_root() == tmp_path / "old"
    clean.setenv("TINYGPT_CACHE", str(tmp_path / "new"))  # the new name wins, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert settings.cache_root() == tmp_path / "new"


def test_the_corpus_loader_reads_the_cache_from_settings(clean, tmp_path):
    """load_shakespeare finds a cached copy under $TINYGPT_CACHE (no download, no other place)."""
    from tinytorch.text import corpus

    text = "ROMEO:\nBut, soft!\n"
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / corpus.SHAKESPEARE_FILENAME).write_text(text)
    clean.setenv("TINYGPT_CACHE", str(tmp_path / "cache"))
    clean.setattr(corpus, "SHIPPED_LOCATIONS", ())
    assert corpus.load_shakespeare(sha256=None) == text
