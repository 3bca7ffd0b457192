"""Sizes that cannot be allocated are refused up front, naming the argument, the bytes and the fix.

Every public constructor or function that allocates from a size it is given goes through one
home, `tinytorch.validation.check_allocation` / `allocating` (MAX_ARRAY_BYTES). Generated cases:
every size-taking entry point x several huge values, including sizes whose product overflows
int32 (numpy's index type in the browser's 32-bit wasm) and int64. Each refusal must name the
argument, allocate nothing (tracemalloc sees numpy's allocations) and leave no state changed.
An out-of-memory below the limit is provoked for real (an address-space limit in a child
process) and must name the same arguments.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, validation
from tinytorch.models import BigramLanguageModel, TinyGPT, TinyGPTConfig
from tinytorch.nn.attention import KVCache, causal_mask
from tinytorch.nn.positional import PositionalEncoding
from tinytorch.text.batches import get_batch
from tinytorch.training import LanguageModelTrainer
from tinytorch.validation import MAX_ARRAY_BYTES, AllocationError, allocating, check_allocation

REPO = Path(__file__).resolve().parents[2]

# Each alone makes any array over the limit (2**28 float64 values or bool squares are >= 2 GiB);
# 2**31 and 2**32 + 1 overflow int32, 2**63 and up do not fit int64 (no numpy integer holds them).
HUGE = [2**28, 2**31 - 1, 2**31, 2**32 + 1, 2**63 - 1, 2**63, 2**64 + 3, 10**30]
# Pairs whose product overflows int32 (2**31) or int64 (2**63) although each fits.
OVERFLOWING_PAIRS = [
    (2**16, 2**16),
    (2**16 + 1, 2**15),
    (46341, 46341),
    (2**32, 2**32),
    (3037000500, 3037000500),
    (2**62, 3),
]

SMALL = TinyGPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)


def refused(call, *names):
    """Run `call`, expect an AllocationError that names every argument in `names` with its value
    spelled `name=`, the bytes and the fix; assert it allocated (next to) nothing first."""
    tracemalloc.start()
    try:
        with pytest.raises(AllocationError) as caught:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    text = str(error)
    assert isinstance(error, MemoryError) and isinstance(error, ValueError)
    assert error.refused, text
    assert peak < 2**20, f"{peak:,} bytes were allocated before the refusal: {text}"
    for name in names:
        assert f"{name}=" in text, f"{name!r} is not named in: {text}"
    assert "bytes" in text and "MAX_ARRAY_BYTES" in text and "use a smaller" in text, text
    fix = text.rsplit("use a smaller", 1)[1]
    for name in names:
        assert name in fix, f"the fix does not name {name!r}: {text}"
    return text


# --- every entry point that takes a size ----------------------------------------------------

# (a call of size n, the arguments its refusal must name). Source text, so the same table runs
# here and in real Pyodide (test_in_real_pyodide...).
ENTRY_POINTS = [
    ("nn.Linear(n, 4)", ["in_features"]),
    ("nn.Linear(4, n)", ["out_features"]),
    ("nn.Dense(n, 3)", ["in_features"]),
    ("nn.Embedding(n, 4)", ["num_embeddings"]),
    ("nn.Embedding(4, n)", ["embedding_dim"]),
    ("nn.LayerNorm(n)", ["dim"]),
    ("PositionalEncoding(4, max_len=n)", ["max_len"]),
    ("PositionalEncoding(n, max_len=4)", ["d_model"]),
    ("sinusoidal_positions(n, 4)", ["T"]),
    ("sinusoidal_positions(4, n)", ["d_model"]),
    ("causal_mask(n)", ["T"]),
    ("causal_mask(64, n)", ["T", "T_keys"]),
    ("SelfAttention(n)", ["d_model"]),
    ("SelfAttention(4, head_size=n)", ["head_size"]),
    ("nn.MultiHeadAttention(n, 1)", ["d_model"]),
    ("MLP(n)", ["d_model"]),
    ("MLP(4, hidden=n)", ["hidden"]),
    ("TransformerBlock(n, 1)", ["d_model"]),
    ("TransformerBlock(4, 1, mlp_hidden=n)", ["mlp_hidden"]),
    ("TinyGPT(TinyGPTConfig(vocab_size=n))", ["vocab_size"]),
    ("TinyGPT(TinyGPTConfig(block_size=n))", ["block_size"]),
    ("TinyGPT(TinyGPTConfig(block_size=n, positions='sinusoidal'))", ["block_size"]),
    ("TinyGPT(TinyGPTConfig(n_embd=n, n_head=1))", ["n_embd"]),
    ("TinyGPT(TinyGPTConfig(n_layer=n))", ["n_layer"]),
    ("TinyGPT(TinyGPTConfig(mlp_ratio=n))", ["mlp_ratio"]),
    ("BigramLanguageModel(n)", ["vocab_size"]),
    ("get_batch(np.arange(20) % 5, n, 4)", ["batch_size", "block_size"]),
    ("KVCache(n).append(np.zeros((1, 2, 1, 4), np.float32), np.zeros((1, 2, 1, 4), np.float32))", ["capacity"]),
]
IMPORTS = """
import numpy as np
from tinytorch import nn
from tinytorch.models import BigramLanguageModel, TinyGPT, TinyGPTConfig
from tinytorch.nn.attention import KVCache, SelfAttention, causal_mask
from tinytorch.nn.positional import PositionalEncoding, sinusoidal_positions
from tinytorch.nn.transformer import MLP, TransformerBlock
from tinytorch.text.batches import get_batch
"""
NAMESPACE = {}
exec(IMPORTS, NAMESPACE)


@pytest.mark.parametrize("n", HUGE, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("call, names", ENTRY_POINTS, ids=[call.split(".append")[0] for call, _ in ENTRY_POINTS])
def test_a_huge_size_is_refused_by_name(call, names, n):
    text = refused(lambda: eval(call, NAMESPACE, {"n": n}), *names)
    assert f"={n}" in text  # the value as the student typed it, not a wrapped-around number


@pytest.mark.parametrize("a, b", OVERFLOWING_PAIRS)
@pytest.mark.parametrize(
    "make, names, nbytes",
    [
        (lambda a, b: nn.Linear(a, b), ["in_features", "out_features"], lambda a, b: a * b * 8),
        (lambda a, b: nn.Embedding(a, b), ["num_embeddings", "embedding_dim"], lambda a, b: a * b * 8),
        (lambda a, b: PositionalEncoding(b, max_len=a), ["max_len", "d_model"], lambda a, b: a * b * 8),
        (lambda a, b: causal_mask(b, a), ["T", "T_keys"], lambda a, b: a * b),
        # a batch_size that makes batch_size * (block_size + 1) at least a * b:
        (
            lambda a, b: get_batch(np.arange(60) % 7, a * b // 51 + 1, 50),
            ["batch_size", "block_size"],
            lambda a, b: (a * b // 51 + 1) * 51 * 8,
        ),
    ],
    ids=["Linear", "Embedding", "PositionalEncoding", "causal_mask", "get_batch"],
)
def test_sizes_whose_product_overflows_int32_or_int64_are_refused(make, names, nbytes, a, b):
    assert a * b >= 2**31  # numpy in the browser (32-bit wasm) cannot even describe such an array
    text = refused(lambda: make(a, b), *names)
    assert f" {nbytes(a, b):,} bytes" in text, text  # exact: counted with Python ints, never wrapped


def test_the_bytes_are_exact_and_the_limit_is_inclusive(monkeypatch):
    monkeypatch.setattr(validation, "MAX_ARRAY_BYTES", 8 * 30)
    tt.manual_seed(0)
    assert nn.Linear(5, 6).weight.shape == (5, 6)  # 5 * 6 float64 = 240 bytes: exactly the limit
    text = refused(lambda: nn.Linear(31, 1), "in_features", "out_features")
    assert "248 bytes" in text
    assert check_allocation("f", {"n": 3}, (3,), np.int8) == 3


def test_the_limit_is_read_at_every_check(monkeypatch):
    # MAX_ARRAY_BYTES may be raised on a big machine (or lowered): every entry point sees it.
    monkeypatch.setattr(validation, "MAX_ARRAY_BYTES", 1000)
    refused(lambda: nn.Linear(64, 64), "in_features", "out_features")
    refused(lambda: get_batch(np.arange(200) % 7, 64, 8), "batch_size", "block_size")
    monkeypatch.setattr(validation, "MAX_ARRAY_BYTES", 2**40)
    assert check_allocation("f", {"n": 2**20}, (2**20, 2**15)) == 2**38  # nothing allocated by a check


def test_the_course_sizes_pass():
    """The presets and the defaults are far below the limit (the check never gets in the way)."""
    from tinytorch.models.presets import PRESETS

    for preset in PRESETS.values():
        config = preset.config
        assert config._parameter_count() * 4 < MAX_ARRAY_BYTES / 100
        tt.manual_seed(0)
        model = TinyGPT(config)
        model._check_batch(preset.batch_size, config.block_size, {"batch_size": preset.batch_size}, "test")
    assert TinyGPTConfig()._parameter_count() == TinyGPT(TinyGPTConfig()).num_parameters()


@pytest.mark.parametrize(
    "fields",
    [
        dict(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8),
        dict(vocab_size=5, block_size=3, n_layer=2, n_head=1, n_embd=6, positions="sinusoidal", tie_weights=True),
        dict(vocab_size=7, block_size=5, n_layer=3, n_head=3, n_embd=9, layer_norm=False, mlp_ratio=3),
        dict(vocab_size=65, block_size=24, n_layer=1, n_head=4, n_embd=96, mlp_ratio=3, residual=False),
        dict(vocab_size=3, block_size=2, n_layer=2, n_head=2, n_embd=4, tie_weights=True, layer_norm=False),
    ],
)
def test_the_config_counts_parameters_without_building(fields):
    config = TinyGPTConfig(**fields)
    assert config._parameter_count() == TinyGPT(config).num_parameters()


def test_a_config_only_describes_a_model_building_it_is_refused():
    gpt3 = TinyGPTConfig(vocab_size=50257, block_size=2048, n_layer=96, n_head=96, n_embd=12288)
    assert gpt3._parameter_count() > 170e9  # arithmetic on a description allocates nothing
    refused(lambda: TinyGPT(gpt3), "vocab_size", "n_embd")


def test_a_model_too_big_in_total_is_refused_though_each_weight_fits():
    # 64 layers of 1024 channels: each weight is at most 32 MiB, together 805M parameters.
    text = refused(lambda: TinyGPT(TinyGPTConfig(n_layer=64, n_embd=1024, n_head=8)), "n_layer", "n_embd")
    assert "all parameters together" in text


# --- nothing half-built --------------------------------------------------------------------


def _state(model, optimizer):
    params = {name: p.data.copy() for name, p in model.named_parameters()}
    return params, repr(optimizer.state_dict())


@pytest.mark.parametrize("batch_size", [2**26, 2**31, 2**40, 2**63 + 1])
def test_the_trainer_refuses_a_huge_batch_when_built_and_changes_nothing(batch_size):
    tt.manual_seed(0)
    model = TinyGPT(SMALL)
    optimizer = model.configure_optimizers(lr=1e-2)
    data = np.arange(200) % SMALL.vocab_size
    before, generator_state = _state(model, optimizer), tt.rng.rng().bit_generator.state
    refused(
        lambda: LanguageModelTrainer(model, optimizer, data, data, block_size=8, batch_size=batch_size, progress=None),
        "batch_size",
        "block_size",
    )
    after = _state(model, optimizer)
    assert after[1] == before[1] and tt.rng.rng().bit_generator.state == generator_state
    assert all(np.array_equal(after[0][k], v) for k, v in before[0].items())
    assert optimizer.lr == 1e-2


def test_the_trainer_names_the_attention_a_long_block_would_need():
    # 4096 positions: each weight fits, but one batch's attention weights (B, H, T, T) do not.
    config = TinyGPTConfig(vocab_size=11, block_size=4096, n_layer=1, n_head=4, n_embd=8)
    tt.manual_seed(0)
    model = TinyGPT(config)
    data = np.arange(5000) % 11
    text = refused(
        lambda: LanguageModelTrainer(
            model, model.configure_optimizers(), data, None, block_size=4096, batch_size=8, progress=None
        ),
        "batch_size",
        "block_size",
    )
    assert "attention weights" in text and "(8, 4, 4096, 4096)" in text


def test_get_batch_refuses_before_drawing_a_random_number():
    generator = np.random.default_rng(3)
    state = generator.bit_generator.state
    refused(lambda: get_batch(np.arange(50) % 7, 2**40, 8, rng=generator), "batch_size", "block_size")
    assert generator.bit_generator.state == state


@pytest.mark.parametrize("rows", [2**22, 2**23])  # the ids are still checked one by one: not more rows
@pytest.mark.parametrize("make", [lambda: TinyGPT(SMALL), lambda: BigramLanguageModel(11)], ids=["gpt", "bigram"])
def test_a_forward_pass_too_big_for_memory_is_refused_naming_the_input(make, rows):
    tt.manual_seed(0)
    model = make()
    idx = np.broadcast_to(np.zeros(1, dtype=np.int64), (rows, 8))  # a view: no memory of its own
    refused(lambda: model(idx), "idx's rows B", "its length T")
    if isinstance(model, TinyGPT):  # (the bigram model's generate looks at one token a row: it fits)
        generator_state = tt.rng.rng().bit_generator.state
        refused(lambda: model.generate(idx, 2), "the prompt's rows B")  # before any layer runs or a token is drawn
        assert tt.rng.rng().bit_generator.state == generator_state


@pytest.mark.parametrize("rows", [16, 64, 1000])
@pytest.mark.parametrize("make", [lambda: TinyGPT(SMALL), lambda: BigramLanguageModel(11)], ids=["gpt", "bigram"])
def test_generate_refuses_rows_times_tokens_that_do_not_fit(make, rows):
    from tinytorch.models.generation import MAX_NEW_TOKENS

    tt.manual_seed(0)
    model = make()
    generator_state = tt.rng.rng().bit_generator.state
    refused(
        lambda: model.generate(np.zeros((rows, 1), dtype=np.int64), MAX_NEW_TOKENS),
        "max_new_tokens",
        "the prompt's rows B",
    )
    assert tt.rng.rng().bit_generator.state == generator_state


@pytest.mark.parametrize("capacity", HUGE)
def test_a_kv_cache_too_big_is_refused_and_keeps_what_it_had(capacity):
    k = np.zeros((1, 2, 1, 4), dtype=np.float32)
    cache = KVCache(capacity)  # nothing allocated yet: B, H and d come with the first keys
    refused(lambda: cache.append(k, k), "capacity", "B (rows)")
    assert cache.keys is None and cache.values is None and cache.length == 0

    small = KVCache(2**20)  # 16 MiB of keys for one row: allowed
    small.append(k, k)
    keys = small.keys
    refused(
        lambda: small.append(np.zeros((64, 2, 1, 4), np.float32), np.zeros((64, 2, 1, 4), np.float32)),
        "capacity",
        "B (rows)",
    )
    assert small.keys is keys and small.length == 1


# --- one home ------------------------------------------------------------------------------


def test_allocating_renames_an_out_of_memory_and_passes_refusals_through():
    with pytest.raises(AllocationError) as caught:
        with allocating("outer", {"n_layer": 3}, (3,)):
            with allocating("inner", {"in_features": 2}, (2,)):
                raise MemoryError("Unable to allocate")
    assert not caught.value.refused and "outer: n_layer=3" in str(caught.value)
    assert isinstance(caught.value.__cause__, AllocationError)
    with pytest.raises(AllocationError, match="inner: in_features=10"):
        with allocating("outer", {"n_layer": 3}, (3,)):
            allocating("inner", {"in_features": 10}, (2**40,))
    with pytest.raises(KeyError):  # anything else passes untouched
        with allocating("outer", {"n": 1}, (1,)):
            raise KeyError("x")


OUT_OF_MEMORY = textwrap.dedent("""
    import resource, sys
    import tinytorch as tt
    from tinytorch import nn
    from tinytorch.models import TinyGPT, TinyGPTConfig
    from tinytorch.validation import AllocationError

    def address_space():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    limit = address_space() + 192 * 2**20  # 192 MiB more than now: under MAX_ARRAY_BYTES, over the request
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for build in (lambda: nn.Linear(8192, 8192), lambda: TinyGPT(TinyGPTConfig(n_layer=2, n_embd=2048, n_head=8))):
        try:
            build()
            print("BUILT")
        except AllocationError as error:
            print(error.refused, str(error).replace(chr(10), " "))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_a_real_out_of_memory_below_the_limit_names_the_arguments():
    done = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    linear, gpt = done.stdout.strip().splitlines()
    assert linear.startswith("False Linear: in_features=8192 and out_features=8192") and "not enough free" in linear
    assert gpt.startswith("False TinyGPT: n_layer=2, n_embd=2048 and vocab_size=65"), gpt
    assert "use a smaller n_layer, n_embd or vocab_size, or free memory" in gpt


PYODIDE_SCRIPT = IMPORTS + textwrap.dedent("""
    import json, sys
    from tinytorch.validation import AllocationError

    results = []
    for call in json.loads(sys.argv[1]):
        for n in (2**16 + 1, 2**31, 2**32 + 1, 2**64 + 3):
            try:
                eval(call, globals(), {"n": n})
                results.append([call, n, "built", ""])
            except AllocationError as error:
                results.append([call, n, "refused" if error.refused else "out of memory", str(error)])
            except Exception as error:  # numpy's own errors would land here
                results.append([call, n, type(error).__name__, str(error)])
    # numpy's own answer to the same sizes, for contrast: an error that names no argument
    try:
        np.empty((2**16, 2**16))
    except ValueError as error:
        numpy_says = str(error)
    # A real out-of-memory below MAX_ARRAY_BYTES: 1 GiB arrays until the 4 GiB wasm heap is full.
    kept, oom = [], None
    try:
        for _ in range(8):
            kept.append(nn.LayerNorm(2**27))
    except AllocationError as error:
        oom = [error.refused, str(error)]
    del kept
    alive = nn.Linear(3, 2)(np.ones((1, 3), np.float32)).shape  # the interpreter carries on
    print("RESULT " + json.dumps({"results": results, "numpy": numpy_says, "oom": oom, "alive": list(alive)}))
""")


@pytest.mark.slow  # starts Pyodide in Node and fills its 4 GiB heap (about a minute)
def test_in_real_pyodide_every_entry_point_is_refused_by_name_and_an_out_of_memory_is_named():
    """In the browser's interpreter (32-bit wasm, numpy's index type int32), where numpy itself
    answers "array is too big" without naming anything: the same table of calls is refused by
    name, and a real out-of-memory under the limit names the argument and leaves Python running."""
    wheel = os.environ.get("TINYGPT_NUMPY_WHEEL", "")
    node = shutil.which("node")
    if not (node and wheel and Path(wheel).is_file() and (REPO / "node_modules" / "pyodide").is_dir()):
        pytest.skip("needs node, npm ci (node_modules/pyodide) and TINYGPT_NUMPY_WHEEL (Pyodide's numpy wheel)")
    calls = [call for call, _ in ENTRY_POINTS]
    done = subprocess.run(
        [node, str(REPO / "benchmarks" / "pyodide_run.mjs"), "-c", PYODIDE_SCRIPT, json.dumps(calls)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.split("RESULT ", 1)[1])
    names = dict(ENTRY_POINTS)
    for call, n, outcome, text in report["results"]:
        if outcome == "built":  # only a size under the limit may build (e.g. a 2**16 + 1 mask of 64 rows)
            assert n == 2**16 + 1, (call, n)
            continue
        assert outcome == "refused", (call, n, outcome, text)
        assert f"={n}" in text and all(f"{name}=" in text for name in names[call]), (call, n, text)
    assert "array is too big" in report["numpy"]
    refused_now, text = report["oom"]
    assert not refused_now and text.startswith("LayerNorm: dim=134217728") and "not enough free memory" in text
    assert report["alive"] == [1, 2]
