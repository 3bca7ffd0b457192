"""Notebook 1 · Tokens and data: vocabulary, encode/decode, batches, the bigram model and its loss."""

import numpy as np

from .registry import register
from .verdicts import check_equal, check_shape, check_true, compare

# Realistic text: capitals, punctuation, spaces, blank lines, an apostrophe, repeated letters.
SAMPLE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "MENENIUS:\nWhy, masters, my good friends, mine honest neighbours,\nWill you undo yourselves?\n"
    "Whither? 'Tis Rome's hour; yea -- quoth Jove!\n"
)


def _names(chars) -> str:
    return ", ".join(repr(c) for c in sorted(chars))


# --------------------------------------------------------------------------- 1.1 build_vocab

HINTS_VOCAB = [
    "A set gives the distinct characters; what makes the ids independent of the text's order?",
    "itos is a list indexed by id; stoi is the dictionary that undoes it. Every character of the text "
    "counts, whitespace and punctuation included.",
]

WRONG_VOCAB = [
    (
        "def build_vocab(text):\n    itos = list(dict.fromkeys(text))\n"
        "    return {c: i for i, c in enumerate(itos)}, itos",
        "not sorted",
    ),
    (
        "def build_vocab(text):\n    itos = sorted(set(text))\n    return {c: i + 1 for i, c in enumerate(itos)}, itos",
        "ids start at 0",
    ),
    (
        "def build_vocab(text):\n    itos = sorted(text)\n    return {c: i for i, c in enumerate(itos)}, itos",
        "exactly once",
    ),
    (
        "def build_vocab(text):\n    itos = sorted(set(''.join(text.split())))\n"
        "    return {c: i for i, c in enumerate(itos)}, itos",
        "missing",
    ),
    (
        "def build_vocab(text):\n    itos = sorted(set(text.lower()))\n"
        "    return {c: i for i, c in enumerate(itos)}, itos",
        "missing",
    ),
    (
        "def build_vocab(text):\n    itos = sorted(set(text))\n    return {i: c for i, c in enumerate(itos)}, itos",
        "stoi",
    ),
]


@register("1.1", "build_vocab", HINTS_VOCAB, WRONG_VOCAB)
def check_vocab(build_vocab):
    stoi, itos = build_vocab(SAMPLE)
    check_true(isinstance(stoi, dict), f"stoi should be a dict, got {type(stoi).__name__}")
    want = sorted(set(SAMPLE))
    itos = list(itos)
    missing, extra = set(want) - set(itos), set(itos) - set(want)
    if missing:
        raise AssertionError(
            f"itos is missing characters of the text: {_names(missing)}. Every character counts: "
            "spaces, newlines, capitals and punctuation are tokens too"
        )
    if extra:
        raise AssertionError(f"itos holds characters that are not in the text: {_names(extra)}")
    if len(itos) != len(want):
        raise AssertionError(
            f"itos has {len(itos)} entries for {len(want)} distinct characters: each character exactly once"
        )
    if itos != want:
        raise AssertionError(
            f"itos holds the right characters, but not sorted (it starts {itos[:6]!r}): sorted ids "
            "do not depend on where a character first appears"
        )
    if all(stoi.get(ch) == i + 1 for i, ch in enumerate(itos)):
        raise AssertionError("stoi numbers the characters from 1: ids start at 0, so that itos[stoi[ch]] == ch")
    bad = [
        (ch, i)
        for ch, i in stoi.items()
        if not (isinstance(i, (int, np.integer)) and 0 <= i < len(itos) and itos[i] == ch)
    ]
    if bad:
        ch, i = bad[0]
        shown = itos[i] if isinstance(i, (int, np.integer)) and 0 <= i < len(itos) else "out of range"
        raise AssertionError(
            f"stoi[{ch!r}] = {i!r}, but itos[{i!r}] is {shown!r}: stoi must invert itos "
            "(itos[stoi[ch]] == ch, ids from 0)"
        )
    check_equal(len(stoi), len(itos), "len(stoi) (one entry per character of itos)")


# --------------------------------------------------------------------------- 1.2 encode / decode

HINTS_ENCODE = [
    "What should happen to a character the vocabulary has never seen, and what should the message say?",
    "encode and decode are lookups in opposite directions; a failed lookup deserves a message written for "
    "a person, naming the character.",
]

WRONG_ENCODE = [
    ("_enc = encode\ndef encode(s, stoi):\n    return _enc(s, stoi).astype(np.int32)", "int64"),
    ("def encode(s, stoi):\n    return np.array([stoi[c] for c in s], dtype=np.int64)", "KeyError"),
    ("def decode(ids, itos):\n    return [itos[i] for i in ids]", "must return a str"),
    ("def decode(ids, itos):\n    return ' '.join(itos[int(i)] for i in ids)", "between"),
    ("def encode(s, stoi):\n    return np.array([stoi[c] for c in s if c in stoi], dtype=np.int64)", "dropped"),
    (
        "def encode(s, stoi):\n    if set(s) - set(stoi): raise ValueError('unknown character')\n"
        "    return np.array([stoi[c] for c in s], dtype=np.int64)",
        "name the unknown",
    ),
]


@register("1.2", "encode / decode", HINTS_ENCODE, WRONG_ENCODE)
def check_encode_decode(encode, decode):
    itos = sorted(set(SAMPLE))
    stoi = {ch: i for i, ch in enumerate(itos)}
    line = "Speak, speak.\nWhither? 'Tis Rome's hour"
    ids = encode(line, stoi)
    check_true(isinstance(ids, np.ndarray), f"encode must return a numpy array, got {type(ids).__name__}")
    check_equal(
        str(ids.dtype),
        "int64",
        "the dtype of encode's result (ask numpy for int64 explicitly: the browser's default integer is 32-bit)",
    )
    check_equal(ids, [stoi[c] for c in line], f"encode({line!r})")
    text = decode(ids, itos)
    check_true(isinstance(text, str), f"decode must return a str, got {type(text).__name__}")
    if text.replace(" ", "") == line.replace(" ", "") and len(text) > len(line):
        raise AssertionError("decode puts characters between the characters (a space?): join them with nothing")
    check_equal(text, line, "decode(encode(line))")
    check_equal(decode(list(ids[:5]), itos), line[:5], "decode of a plain list of ids")
    unknown = "hear {me}"
    try:
        result = encode(unknown, stoi)
    except ValueError as error:
        check_true(
            "{" in str(error) or "}" in str(error),
            f"the ValueError should name the unknown character, "
            f"e.g. '{{', so the person can fix the text; it says: {error}",
        )
    except KeyError:
        raise AssertionError(
            "encode raised a KeyError for an unknown character: catch it and raise a ValueError that "
            "names the character (a message for a person, not a dict lookup)"
        ) from None
    else:
        n = len(np.asarray(result))
        raise AssertionError(
            f"encode({unknown!r}) returned {n} ids without complaint: "
            + ("it dropped the unknown characters silently; " if n < len(unknown) else "")
            + "'{' is not in the vocabulary, so raise a ValueError naming it"
        )


# --------------------------------------------------------------------------- 1.3 make_batch

HINTS_BATCH = [
    "Draw the window for one start s on paper: which T ids are the inputs, which T ids the targets?",
    "The targets are the inputs' window moved one token later in the text. One index array of shape (B, T) "
    "can fetch a whole batch at once.",
]

WRONG_BATCH = [
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts])\n    return x, x.copy()",
        "y equals x",
    ),
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts])\n"
        "    y = np.stack([data[s + 2:s + T + 2] for s in starts])\n    return x, y",
        "shifted by two",
    ),
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T + 1] for s in starts])\n"
        "    y = np.stack([data[s + 1:s + T + 1] for s in starts])\n    return x, y",
        "x.shape",
    ),
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts]).astype(np.int64)\n"
        "    return x, x + 1",
        "id plus one",
    ),
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[i * T:i * T + T] for i in range(len(starts))])\n"
        "    y = np.stack([data[i * T + 1:i * T + T + 1] for i in range(len(starts))])\n    return x, y",
        "starts[b]",
    ),
    (
        "def make_batch(data, starts, T):\n    x = np.stack([data[s:s + T] for s in starts])\n"
        "    y = np.stack([data[s + 1:s + T + 1] for s in starts])\n    return x.T, y.T",
        "x.shape",
    ),
]


def _windows(data, starts, offset, T):
    """The windows data[s + offset : s + offset + T] for every start, or None when one leaves the data."""
    if any(s + offset < 0 or s + offset + T > len(data) for s in starts):
        return None
    return np.stack([data[s + offset : s + offset + T] for s in starts])


@register("1.3", "make_batch", HINTS_BATCH, WRONG_BATCH)
def check_batch(make_batch):
    data = np.random.default_rng(13).integers(0, 65, size=60).astype(np.int64)  # irregular ids, not a range
    T = 6
    starts = np.array([0, 17, 9, 31], dtype=np.int64)
    x, y = make_batch(data, starts, T)
    x_want = np.stack([data[s : s + T] for s in starts])
    y_want = np.stack([data[s + 1 : s + T + 1] for s in starts])
    check_true(isinstance(x, np.ndarray) and isinstance(y, np.ndarray), "make_batch must return two numpy arrays")
    check_equal(tuple(x.shape), (4, T), "x.shape (B, T)")
    check_equal(tuple(y.shape), (4, T), "y.shape (B, T)")
    check_equal(str(x.dtype), "int64", "x.dtype")
    check_equal(str(y.dtype), "int64", "y.dtype")
    if not np.array_equal(x, x_want):
        for b, s in enumerate(starts):
            if not np.array_equal(x[b], x_want[b]):
                raise AssertionError(
                    f"row {b} of x is not the window data[{s}:{s + T}]: row b of x must start at starts[b]"
                )
    if np.array_equal(y, x_want):
        raise AssertionError("y equals x: the targets must be the NEXT tokens, shifted by one")
    if np.array_equal(y, x_want + 1):
        raise AssertionError(
            "y is x + 1, the id plus one: the target is the next TOKEN of the text, data[s + t + 1], "
            "not the next id number"
        )
    if np.array_equal(y[:, :-1], y_want[:, :-1]) and not np.array_equal(y, y_want):
        raise AssertionError(
            "y is right except its last column: the target of the window's last input is the token "
            "after the window, data[s + T] (so y is not a rotation of x)"
        )
    if np.array_equal(y, _windows(data, starts, 2, T)):
        raise AssertionError("y is shifted by two: the target of x[b, t] is the token right after it")
    if np.array_equal(y[1:], _windows(data, starts[1:], -1, T)):
        raise AssertionError("y is shifted the wrong way (one token back): targets come after the inputs")
    check_equal(y, y_want, "y")
    last = len(data) - T - 1  # the last start whose window and targets both fit
    try:
        x, y = make_batch(data, np.array([last]), T)
    except (ValueError, IndexError) as error:
        raise AssertionError(
            f"make_batch crashed for start {last} of {len(data)} ids, the last start whose targets "
            f"still fit ({error}): the windows reach further than s + T + 1"
        ) from None
    check_equal(y, [data[last + 1 :]], f"y for the last possible start {last}")


# --------------------------------------------------------------------------- 1.4 bigram table and its loss

HINTS_BIGRAM = [
    "Which axis is the current character, which the next one? Which of them must sum to 1?",
    "A table of pair counts, made into one probability distribution per current character; the loss "
    "averages how surprised the table is by each true next character.",
]

WRONG_BIGRAM = [
    (
        "def bigram_probabilities(ids, V, smoothing=1.0):\n"
        "    c = np.zeros((V, V)); np.add.at(c, (ids[:-1], ids[1:]), 1.0); c += smoothing\n"
        "    return c / c.sum(axis=0, keepdims=True)",
        "COLUMN",
    ),
    ("def average_nll(probs, x, y):\n    return float(np.log(probs[x, y]).mean())", "sign"),
    (
        "def bigram_probabilities(ids, V, smoothing=1.0):\n"
        "    c = np.zeros((V, V)); np.add.at(c, (ids[:-1], ids[1:]), 1.0)\n"
        "    return c / c.sum(axis=1, keepdims=True)",
        "smoothing is ignored",
    ),
    ("def average_nll(probs, x, y):\n    return float(-np.log(probs[y, x]).mean())", "the row is the current"),
    (
        "def bigram_probabilities(ids, V, smoothing=1.0):\n"
        "    c = np.zeros((V, V)); c[ids[:-1], ids[1:]] += 1.0; c += smoothing\n"
        "    return c / c.sum(axis=1, keepdims=True)",
        "counted once",
    ),
    ("def average_nll(probs, x, y):\n    return float(-np.log10(probs[x, y]).mean())", "natural"),
    ("def average_nll(probs, x, y):\n    return float(-np.log(probs[x, y]).sum())", "sum over"),
    (
        "def bigram_probabilities(ids, V, smoothing=1.0):\n"
        "    c = np.zeros((V, V)); np.add.at(c, (ids[:-1], ids[1:]), 1.0)\n"
        "    p = c / np.maximum(c.sum(axis=1, keepdims=True), 1); p = p + smoothing\n"
        "    return p / p.sum(axis=1, keepdims=True)",
        "after normalising",
    ),
]


def _bigram_probabilities(ids, vocab_size, smoothing=1.0):
    counts = np.bincount(ids[:-1] * vocab_size + ids[1:], minlength=vocab_size * vocab_size)
    counts = counts.reshape(vocab_size, vocab_size).astype(np.float64) + smoothing
    return counts / counts.sum(axis=1, keepdims=True)


def _average_nll(probs, x, y):
    return float(-np.log(probs[x, y]).mean())


@register(
    "1.4",
    "bigram_probabilities / average_nll",
    HINTS_BIGRAM,
    WRONG_BIGRAM,
    library=lambda: (_bigram_probabilities, _average_nll),
)
def check_bigram(bigram_probabilities, average_nll):
    V = 7
    ids = np.random.default_rng(14).integers(0, V, size=60).astype(np.int64)
    ids[10:16] = [3, 5, 3, 5, 3, 5]  # a pair that repeats (3 -> 5), as real text repeats them
    smoothing = 0.5
    got = np.asarray(bigram_probabilities(ids, V, smoothing=smoothing), dtype=np.float64)
    check_shape(got, (V, V), f"bigram_probabilities(ids, vocab_size={V}) (V, V)")
    counts = np.zeros((V, V))
    np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
    once = np.zeros((V, V))
    once[ids[:-1], ids[1:]] = 1.0
    raw_rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    late = raw_rows + smoothing
    want = _bigram_probabilities(ids, V, smoothing)
    compare(
        got,
        want,
        "bigram_probabilities (smoothing=0.5)",
        [
            (
                (counts + smoothing) / (counts + smoothing).sum(axis=0, keepdims=True),
                "each COLUMN sums to 1: normalise each row (the row is the current character)",
            ),
            (
                counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300),
                "smoothing is ignored: add it to every count before normalising",
            ),
            (
                (once + smoothing) / (once + smoothing).sum(axis=1, keepdims=True),
                "a pair that occurs several times is counted once: "
                "`counts[a, b] += 1` with index arrays does not add up repeats (np.add.at does, or a loop)",
            ),
            (
                late / late.sum(axis=1, keepdims=True),
                "the smoothing is added after normalising: add it to the counts, then normalise",
            ),
            (
                (counts.T + smoothing) / (counts.T + smoothing).sum(axis=1, keepdims=True),
                "the counts are transposed: count the pair (current, next) at row current, column next",
            ),
        ],
    )
    x, y = ids[:36].reshape(3, 12), ids[1:37].reshape(3, 12)  # (3, 12): any shape works
    loss = average_nll(want, x, y)
    check_true(np.ndim(loss) == 0, f"average_nll must return one number, got shape {np.shape(loss)}")
    nll = -np.log(want[x, y])
    compare(
        float(loss),
        nll.mean(),
        "average_nll on a (3, 12) batch",
        [
            (-nll.mean(), "the sign is wrong: the loss is MINUS the mean log-probability"),
            (nll.sum(), "that is the sum over positions: take the mean"),
            (nll.mean() / np.log(10), "that is the log in base 10: the loss uses the natural log"),
            (
                float(-np.log(want[y, x]).mean()),
                "probs[y, x] looks up the wrong cell: the row is the current token x, the column the next token y",
            ),
            (float(np.exp(-nll).mean()), "that is a mean probability: take minus the log of each"),
        ],
    )
    uniform = np.full((V, V), 1 / V)
    compare(float(average_nll(uniform, x, y)), np.log(V), f"the loss of a uniform table (ln {V})")
