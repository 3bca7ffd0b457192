"""CharTokenizer: deterministic vocabulary, exact round trips, clear errors, JSON save/load."""

import json

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.text import CharTokenizer

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def test_vocabulary_is_sorted_distinct_characters_and_deterministic():
    tok = CharTokenizer().fit(TEXT)
    assert tok.chars == sorted(set(TEXT))
    assert tok.vocab_size == len(set(TEXT)) == len(tok)
    # The same characters in another order give the same ids.
    shuffled = "".join(reversed(TEXT))
    assert CharTokenizer().fit(shuffled).stoi == tok.stoi
    assert all(tok.itos[i] == c for c, i in tok.stoi.items())
    assert tok.stoi["\n"] == 0  # newline sorts first: ids follow code points


def test_encode_decode_round_trip_and_dtype():
    tok = CharTokenizer().fit(TEXT)
    ids = tok.encode(TEXT)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.shape == (len(TEXT),)
    assert tok.decode(ids) == TEXT
    assert [tok.itos[i] for i in ids[:5]] == list("First")
    assert tok.encode("").shape == (0,) and tok.decode([]) == ""


def test_non_ascii_and_characters_beyond_the_vocabulary():
    text = "héllo — wörld 😀\n"
    tok = CharTokenizer().fit(text)
    ids = tok.encode(text)
    assert ids.tolist() == [tok.stoi[c] for c in text]
    assert tok.decode(ids) == text
    with pytest.raises(ValueError, match="'🙂' at position 2"):
        tok.encode("hé🙂")  # a code point above every vocabulary entry
    assert CharTokenizer(unk="?").fit("abc").decode(CharTokenizer(unk="?").fit("abc").encode("a🙂\tc")) == "a??c"


def test_decode_accepts_lists_arrays_tensors_and_2d():
    tok = CharTokenizer().fit("abc")
    assert tok.decode([0, 1, 2]) == "abc"
    assert tok.decode(np.array([2, 1], dtype=np.int32)) == "cb"
    assert tok.decode(tt.Tensor(np.array([[0, 0], [2, 2]]))) == "aacc"
    assert tok.decode(np.int64(1)) == "b"


def test_decode_rejects_out_of_range_and_float_ids():
    tok = CharTokenizer().fit("abc")
    with pytest.raises(ValueError, match=r"id 7 is outside the vocabulary of 3 tokens \(at position 1; valid: 0\.\.2"):
        tok.decode([0, 7])
    with pytest.raises(TypeError, match="integer ids"):
        tok.decode(np.array([0.5]))


def test_unknown_character_error_names_character_position_and_fix():
    tok = CharTokenizer().fit("hello world")
    with pytest.raises(ValueError) as info:
        tok.encode("hello\nworld")
    message = str(info.value)
    assert "'\\n'" in message  # repr: the newline is visible
    assert "position 5" in message
    assert "unk=" in message  # says how to fix it


def test_unknown_token_replaces_unseen_characters():
    tok = CharTokenizer(unk="?").fit("hello")
    assert "?" in tok.chars and tok.vocab_size == len(set("hello?"))
    assert tok.decode(tok.encode("hello, Zed")) == "hello???e?"
    with pytest.raises(ValueError, match="single character"):
        CharTokenizer(unk="<unk>")


def test_unfitted_and_bad_input_errors():
    with pytest.raises(RuntimeError, match="fit"):
        CharTokenizer().encode("a")
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer().fit("")
    with pytest.raises(TypeError, match="str"):
        CharTokenizer().fit("ab").encode([1, 2])


def test_save_load_round_trip(tmp_path):
    tok = CharTokenizer(unk="~").fit(TEXT + "é—ü")
    path = tmp_path / "tok.json"
    tok.save(path)
    again = CharTokenizer.load(path)
    assert again == tok and again.unk == "~" and again.stoi == tok.stoi
    sample = "Speak, é!"
    assert np.array_equal(again.encode(sample), tok.encode(sample))
    # Human-readable JSON (non-ASCII kept as is), nothing left beside it.
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["chars"] == tok.chars
    assert [p.name for p in tmp_path.iterdir()] == ["tok.json"]


def test_load_corrupt_missing_or_foreign_file_is_a_clear_error(tmp_path):
    truncated = tmp_path / "truncated.json"
    CharTokenizer().fit("abc").save(truncated)
    truncated.write_text(truncated.read_text()[:15])
    with pytest.raises(ValueError, match="not a valid tokenizer JSON"):
        CharTokenizer.load(truncated)

    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"vocab": ["a"]}))
    with pytest.raises(ValueError, match="not a saved CharTokenizer"):
        CharTokenizer.load(foreign)

    with pytest.raises(FileNotFoundError, match="no tokenizer file"):
        CharTokenizer.load(tmp_path / "missing.json")
