"""A character-level tokenizer: every distinct character of the training text is one token.

    tok = CharTokenizer().fit(text)
    ids = tok.encode("To be")        # np.int64 array, shape (5,)
    tok.decode(ids)                  # "To be"

The vocabulary is the sorted set of characters, so the same text always gives the same
ids (a model trained today still decodes tomorrow). An optional unknown token (`unk="?"`)
stands in for characters the tokenizer never saw; without one such a character is an error.
"""

import json
import os

import numpy as np

from ..files import atomic_write
from ..validation import token_ids


class CharTokenizer:
    """Maps characters to integer ids and back.

    Attributes (after `fit` or `load`):
        chars       the vocabulary, a sorted list of single characters
        stoi        dict char -> id
        itos        dict id -> char
        vocab_size  len(chars)
        unk         the unknown-token character, or None (unknown characters are an error)
    """

    FORMAT = "tinytorch.CharTokenizer"

    def __init__(self, chars=None, unk=None):
        if unk is not None and (not isinstance(unk, str) or len(unk) != 1):
            raise ValueError(f"unk must be a single character like '?', got {unk!r}")
        self.unk = unk
        self.chars = []
        self.stoi = {}
        self.itos = {}
        if chars is not None:
            self._set_vocabulary(chars)

    # --- building the vocabulary ---------------------------------------------------

    def fit(self, text: str) -> "CharTokenizer":
        """Build the vocabulary from `text` (sorted distinct characters). Returns self."""
        if not isinstance(text, str):
            raise TypeError(f"fit expects a str, got {type(text).__name__}")
        if not text:
            raise ValueError("fit got an empty text: a tokenizer needs at least one character")
        self._set_vocabulary(text)
        return self

    def _set_vocabulary(self, chars) -> None:
        vocabulary = set(chars)
        for c in vocabulary:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"every vocabulary entry must be one character, got {c!r}")
        if self.unk is not None:
            vocabulary.add(self.unk)  # so the unknown token always has an id
        self.chars = sorted(vocabulary)
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = {i: c for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens (the model's embedding rows and output logits)."""
        return len(self.chars)

    def __len__(self) -> int:
        return self.vocab_size

    def _require_fitted(self) -> None:
        if not self.chars:
            raise RuntimeError("this tokenizer has no vocabulary yet: call tok.fit(text) or CharTokenizer.load(path)")

    # --- text <-> ids --------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """str -> np.int64 array of ids, shape (len(text),).

        An unseen character becomes `unk`'s id if an unknown token was set; otherwise it is a
        ValueError naming the character and its position.
        """
        self._require_fitted()
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids = self._lookup(_code_points(text))  # -1 where a character is unknown
        unknown = ids < 0
        if unknown.any():
            if self.unk is None:
                self._explain_unknown(text, int(np.argmax(unknown)))
            ids[unknown] = self.stoi[self.unk]
        return ids

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """Code points -> ids (-1 if not in the vocabulary), vectorised: a whole corpus
        (1.1M characters) takes milliseconds instead of a Python loop's tenth of a second."""
        vocabulary = np.array([ord(c) for c in self.chars], dtype=np.int64)
        top = int(vocabulary.max())
        # A table indexed by code point: entry c is the id of chr(c), or -1. The extra last
        # entry (-1) catches every code point above the vocabulary's largest.
        table = np.full(top + 2, -1, dtype=np.int64)
        table[vocabulary] = np.arange(vocabulary.size, dtype=np.int64)
        return table[np.minimum(codes, top + 1)]

    def _explain_unknown(self, text: str, position: int):
        char = text[position]
        context = text[max(0, position - 10) : position + 10]
        raise ValueError(
            f"character {char!r} at position {position} (in {context!r}) is not in the "
            f"vocabulary of {self.vocab_size} characters. Remove it from the text, fit the "
            "tokenizer on a text that contains it, or create it with an unknown token: "
            "CharTokenizer(unk='?')."
        )

    def decode(self, ids) -> str:
        """ids (list, numpy array or Tensor of ints, any shape flattened) -> str."""
        self._require_fitted()
        array = token_ids(ids, self.vocab_size, "decode", noun="id").reshape(-1)
        if array.size == 0:
            return ""
        vocabulary = np.array([ord(c) for c in self.chars], dtype="<u4")
        return vocabulary[array].tobytes().decode("utf-32-le", "surrogatepass")

    # --- saving ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-friendly description of this tokenizer."""
        return {"format": self.FORMAT, "version": 1, "chars": list(self.chars), "unk": self.unk}

    @classmethod
    def from_dict(cls, data: dict, source: str = "the data") -> "CharTokenizer":
        """Rebuild a tokenizer from `to_dict()` output."""
        if not isinstance(data, dict) or data.get("format") != cls.FORMAT or not isinstance(data.get("chars"), list):
            raise ValueError(
                f"{source} is not a saved CharTokenizer (expected a JSON object with "
                f'"format": "{cls.FORMAT}" and a "chars" list); save one with tok.save(path)'
            )
        chars = data["chars"]
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError(f'{source}: "chars" must be a non-empty list of single characters')
        if len(set(chars)) != len(chars):
            raise ValueError(f'{source}: "chars" has duplicate characters')
        tok = cls(unk=data.get("unk"))
        tok._set_vocabulary(chars)
        if tok.chars != chars:
            raise ValueError(f'{source}: "chars" is not sorted, so ids would change; was the file edited?')
        return tok

    def save(self, path) -> None:
        """Write the vocabulary as JSON (UTF-8, human readable). Written atomically."""
        self._require_fitted()
        atomic_write(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        """Read a tokenizer written by `save`. A missing or corrupt file is a clear error."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"no tokenizer file at {path!r}: save one first with tok.save({path!r})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path!r} is not a valid tokenizer JSON file ({error}); it may be truncated or "
                "corrupt: fit the tokenizer again and save it"
            ) from None
        return cls.from_dict(data, source=repr(path))

    def __eq__(self, other) -> bool:
        return isinstance(other, CharTokenizer) and self.chars == other.chars and self.unk == other.unk

    def __repr__(self) -> str:
        preview = "".join(self.chars[:20])
        more = "..." if self.vocab_size > 20 else ""
        unk = f", unk={self.unk!r}" if self.unk is not None else ""
        return f"CharTokenizer(vocab_size={self.vocab_size}, chars={preview!r}{more}{unk})"


def _code_points(text: str) -> np.ndarray:
    """The Unicode code point of every character, as int64 (one C-level pass, no Python loop)."""
    raw = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype="<u4").astype(np.int64)
