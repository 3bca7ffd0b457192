"""Bad input is an error that names the offending value, never a silently wrong result.

Each rule has one home (tinytorch/validation.py, Module.state_dict_problems, nn.eval_mode,
generation.next_token_probabilities); these tests call it through every public door, so a
caller that bypasses the shared check shows up here.
"""

import dataclasses

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.models import BigramLanguageModel, TinyGPT, TinyGPTConfig
from tinytorch.models.generation import next_token_probabilities, sample_next
from tinytorch.nn import functional as F
from tinytorch.optim import SGD, Adam, AdamW, clip_grad_norm_
from tinytorch.text import CharTokenizer
from tinytorch.text.batches import get_batch, train_val_split
from tinytorch.training import LanguageModelTrainer
from tinytorch.validation import TokenIdError

CONFIG = TinyGPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)


def gpt(config=CONFIG):
    tt.manual_seed(0)
    return TinyGPT(config)


def message(call) -> str:
    with pytest.raises(Exception) as error:
        call()
    return str(error.value)


# --- axes: never wrap around -------------------------------------------------------------

x23 = Tensor(np.ones((2, 3)))
AXIS_CALLS = {
    "sum": lambda: x23.sum(axis=2),
    "mean": lambda: x23.mean(axis=(0, 2)),
    "max": lambda: x23.max(axis=2),
    "min": lambda: x23.min(axis=-3),
    "softmax": lambda: x23.softmax(axis=2),
    "log_softmax": lambda: x23.log_softmax(axis=2),
    "transpose": lambda: x23.transpose(0, 3),
    "permute": lambda: x23.permute(0, 2),
    "split": lambda: x23.split(1, axis=2),
    "cat": lambda: tt.cat([x23, x23], axis=2),
}


@pytest.mark.parametrize("op", sorted(AXIS_CALLS))
def test_out_of_range_axis_is_an_error_naming_axis_and_ndim(op):
    with pytest.raises(np.exceptions.AxisError) as error:  # a ValueError and an IndexError, as in numpy
        AXIS_CALLS[op]()
    text = str(error.value)
    assert text.startswith(f"{op}: axis ") and "out of range for a tensor with 2 dims (valid axes: -2..1)" in text
    assert ("axis -3" if op == "min" else "axis 3" if op == "transpose" else "axis 2") in text


def test_stack_axis_counts_the_new_dim():
    assert tt.stack([x23, x23], axis=2).shape == (2, 3, 2)
    assert "stack (the result has one more dim): axis 3 is out of range for a tensor with 3 dims" in message(
        lambda: tt.stack([x23, x23], axis=3)
    )


def test_same_axis_twice_is_an_error():
    assert message(lambda: x23.sum(axis=(1, -1))) == "sum: axis (1, -1) names the same axis twice"


# --- tensor data: None, objects and text never become NaN ---------------------------------


def test_none_is_an_error_that_suspects_a_missing_return():
    assert message(lambda: Tensor(None)) == (
        "Tensor(None): there is no data. Did a function forget to `return` its result?"
    )
    assert message(lambda: Tensor([1.0, None])) == (
        "Tensor data contains None at position 1: did a function forget to `return` its result?"
    )
    assert "None at position (1, 0)" in message(lambda: Tensor([[1.0, 2.0], [None, 3.0]]))
    assert "None at position 0" in message(lambda: x23 + np.array([None], dtype=object))
    assert "Tensor data contains None at position 2" in message(lambda: nn.Parameter([1.0, 2.0, None]))


def test_text_and_objects_are_errors():
    assert "got text ['ab']" in message(lambda: Tensor("ab"))
    assert "got a mix of dict, float" in message(lambda: Tensor(np.array([1.0, {}], dtype=object)))
    assert "rows of different lengths" in message(lambda: Tensor([[1.0, 2.0], [3.0]]))
    assert Tensor(np.array([1, 2.5], dtype=object)).dtype == np.float32  # numbers in an object array are fine


def test_masked_fill_takes_booleans_or_zero_one_only():
    x = Tensor(np.zeros((2, 2)))
    np.testing.assert_array_equal(x.masked_fill(np.array([[0.0, 1.0], [1, 0]]), 5.0).data, [[0, 5], [5, 0]])
    assert message(lambda: x.masked_fill(np.array([[0.0, 0.3], [1, 0]]), 5.0)) == (
        "masked_fill: the mask must be booleans (True where to fill) or 0/1, got the value 0.3 (dtype float64)"
    )


# --- batched matmul --------------------------------------------------------------------------


def test_batched_matmul_names_the_batch_dims():
    a, b = Tensor(np.ones((2, 3, 4))), Tensor(np.ones((3, 4, 5)))
    assert message(lambda: a @ b) == (
        "matmul batch dims do not match: (2, 3, 4) @ (3, 4, 5) — the leading (batch) dims (2,) and (3,) "
        "must be equal or 1 (broadcastable)"
    )


# --- positive ints: one rule, every size parameter --------------------------------------------

SIZE_CALLS = {
    "Linear: in_features": lambda: nn.Linear(0, 3),
    "Embedding: num_embeddings": lambda: nn.Embedding(2.5, 3),
    "LayerNorm: dim": lambda: nn.LayerNorm(-1),
    "SelfAttention: d_model": lambda: nn.SelfAttention(True),
    "MultiHeadAttention: num_heads": lambda: nn.MultiHeadAttention(8, "2"),
    "PositionalEncoding: max_len": lambda: nn.PositionalEncoding(8, max_len=0),
    "KVCache: capacity": lambda: nn.KVCache(0),
    "TinyGPTConfig.n_layer": lambda: TinyGPTConfig(n_layer=2.0),
    "BigramLanguageModel: vocab_size": lambda: BigramLanguageModel(0),
    "get_batch: batch_size": lambda: get_batch(np.arange(20), 0, 4),
    "top_k (or None for all tokens)": lambda: gpt().generate(np.array([1]), 2, top_k=0),
}


@pytest.mark.parametrize("name", sorted(SIZE_CALLS))
def test_sizes_must_be_positive_ints_and_the_message_names_the_value(name):
    with pytest.raises(ValueError) as error:
        SIZE_CALLS[name]()
    text = str(error.value)
    assert text.startswith(f"{name} must be a positive int (at least 1), got "), text


def test_a_whole_float_size_gets_the_int_to_write():
    assert message(lambda: TinyGPTConfig(n_layer=2.0)) == (
        "TinyGPTConfig.n_layer must be a positive int (at least 1), got 2.0 (float): write 2"
    )


# --- numbers: lr, temperature, dropout, ... ------------------------------------------------------


def test_learning_rate_none_or_text_is_named():
    params = nn.Linear(2, 2).parameters()
    assert message(lambda: Adam(params, lr=None)) == (
        "Adam: the learning rate lr must be a number, got None (NoneType) (e.g. lr=1e-3)"
    )
    assert message(lambda: SGD(params, lr="0.1")).startswith(
        "SGD: the learning rate lr must be a number, got '0.1' (str)"
    )
    assert message(lambda: AdamW(params, lr=float("nan"))) == (
        "AdamW: the learning rate lr must be a finite number >= 0, got nan (e.g. lr=1e-3)"
    )
    opt = SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="SGD: the learning rate lr must be a number, got None"):
        opt.lr = None


def test_other_hyperparameters_are_named():
    params = nn.Linear(2, 2).parameters()
    assert "SGD: momentum must be a finite number >= 0 and < 1, got 1.0" in message(
        lambda: SGD(params, 0.1, momentum=1.0)
    )
    assert "Adam: betas must be a finite number >= 0 and < 1, got 1.5 in betas=(0.9, 1.5)" in message(
        lambda: Adam(params, betas=(0.9, 1.5))
    )
    assert "betas must be a pair" in message(lambda: Adam(params, betas=0.9))
    assert "clip_grad_norm_: max_norm must be a finite number > 0, got 0" in message(lambda: clip_grad_norm_(params, 0))
    assert (
        "Dropout: p (the probability of dropping a value) must be a finite number between 0 and 1, got 1.5"
        in message(lambda: nn.Dropout(1.5))
    )
    assert "TinyGPTConfig.dropout must be a number, got 'high'" in message(lambda: TinyGPTConfig(dropout="high"))


def test_schedule_mask_split_and_eps_are_checked_too():
    from tinytorch.optim import cosine_with_warmup

    assert "cosine_with_warmup: warmup_steps must be a non-negative int (at least 0), got 10.5" in message(
        lambda: cosine_with_warmup(0, lr=1e-3, warmup_steps=10.5, max_steps=100)
    )
    assert "cosine_with_warmup: lr must be a number, got None" in message(
        lambda: cosine_with_warmup(0, lr=None, warmup_steps=1, max_steps=100)
    )
    assert "causal_mask: T must be a non-negative int (at least 0), got 2.5" in message(lambda: nn.causal_mask(2.5))
    assert "train_val_split: train_fraction must be a finite number > 0 and < 1, got 1.0" in message(
        lambda: train_val_split(np.arange(10), 1.0)
    )
    assert "LayerNorm: eps must be a finite number > 0, got 0" in message(lambda: nn.LayerNorm(4, eps=0))


def test_temperature_hot_is_named():
    assert message(lambda: gpt().generate(np.array([1]), 3, temperature="hot")) == (
        "temperature must be a number, got 'hot' (str) (0 means always take the most likely token)"
    )
    assert "temperature must be a finite number >= 0, got -1" in message(
        lambda: gpt().generate(np.array([1]), 3, temperature=-1)
    )


# --- token ids: one check behind every door -----------------------------------------------------


def test_too_large_id_names_it_its_position_and_the_largest_valid_id():
    text = message(lambda: gpt()(np.array([[1, 2, 11]])))
    assert text == (
        "TinyGPT: token id 11 is outside the vocabulary of 11 tokens (at position (0, 2); valid: 0..10, the "
        "largest valid id is 10): was the text encoded with a different tokenizer? Otherwise build with a "
        "bigger vocab_size (at least 12)"
    )


ID_DOORS = {
    "TinyGPT": lambda ids: gpt()(ids[None]),
    "TinyGPT targets": lambda ids: gpt()(np.zeros((1, 3), np.int64), ids[None]),
    "TinyGPT.generate": lambda ids: gpt().generate(ids, 1),
    "BigramLanguageModel": lambda ids: BigramLanguageModel(11)(ids[None]),
    "embedding": lambda ids: F.embedding(ids, nn.Embedding(11, 4).weight),
    "decode": lambda ids: CharTokenizer().fit("abcdefghijk").decode(ids),
    "train_data": lambda ids: LanguageModelTrainer(
        gpt(), SGD(gpt().parameters(), 0.1), np.tile(ids, 5), np.arange(10), block_size=4, batch_size=2, progress=None
    ),
}


@pytest.mark.parametrize("door", sorted(ID_DOORS))
def test_a_minus_one_gets_the_same_message_at_every_door(door):
    with pytest.raises(TokenIdError) as error:  # an IndexError and a ValueError
        ID_DOORS[door](np.array([3, -1, 4]))
    text = str(error.value)
    assert text.startswith(f"{door}: ") and " -1 is outside the vocabulary of 11 " in text, text
    assert "the largest valid id is 10" in text and "-1 often marks a character the tokenizer did not know" in text
    assert "bigger vocab_size" in text


def test_cross_entropy_targets_use_the_same_check_and_mention_ignore_index():
    logits = Tensor(np.zeros((3, 5)))
    assert message(lambda: F.cross_entropy(logits, np.array([0, 5, 1]))).startswith(
        "cross_entropy: target 5 is outside the vocabulary of 5 classes (at position 1; valid: 0..4"
    )
    assert message(lambda: F.cross_entropy(logits, np.array([0, 7, -100]), ignore_index=-100)).endswith(
        "(or ignore_index=-100)"
    )
    assert F.cross_entropy(logits, np.array([0, -100, 1]), ignore_index=-100).item() == pytest.approx(np.log(5))


def test_fractional_ids_are_named_never_truncated():
    assert message(lambda: gpt()(np.array([[1.0, 1.5]]))) == (
        "TinyGPT takes integer token ids, got dtype float64 "
        "(1.5 at position 1 is not a whole number: no token has that id)"
    )
    assert "they look like integers: convert with .astype(np.int64)" in message(lambda: gpt()(np.array([[1.0, 2.0]])))
    assert "takes token ids, not text" in message(lambda: gpt()("hello"))


def test_views_reject_float_ids_and_non_finite_or_empty_attention():
    from tinytorch.viz._inputs import attention_source

    model = gpt()
    assert "tokens takes integer token ids, got dtype float64 (1.5 at position 0" in message(
        lambda: attention_source(model, tokens=np.array([1.5, 2.0]))
    )
    weights = np.full((2, 3, 3), 1 / 3)
    weights[1, 2, 0] = np.nan
    assert message(lambda: attention_source(weights)).startswith(
        "the attention weights contain NaN or inf (1 entries, the first at layer 0, head 1, query 2, key 0)"
    )
    assert "the attention weights are empty" in message(lambda: attention_source(np.zeros((0, 0))))


# --- empty sequences --------------------------------------------------------------------------


def test_empty_sequences_are_named():
    assert message(lambda: gpt()(np.zeros((1, 0), np.int64))).startswith(
        "TinyGPT: the sequence is empty (ids of shape (1, 0))"
    )
    assert message(lambda: gpt().attention_maps(np.zeros(0, np.int64))).startswith("TinyGPT: the sequence is empty")
    assert message(lambda: nn.MultiHeadAttention(4, 2)(np.zeros((1, 0, 4)))).startswith(
        "MultiHeadAttention: the sequence is empty (T=0, input shape (1, 0, 4))"
    )
    assert message(lambda: nn.SelfAttention(4)(np.zeros((2, 0, 4)))).startswith("SelfAttention: the sequence is empty")
    assert message(lambda: Tensor(np.zeros((2, 0))).softmax()).startswith(
        "softmax: axis 1 of shape (2, 0) is empty (length 0)"
    )
    assert "generate needs at least one token" in message(lambda: gpt().generate(np.zeros(0, np.int64), 3))
    # where an empty result means something, it is returned
    assert Tensor(np.zeros((0, 4))).softmax(axis=-1).shape == (0, 4)
    assert gpt()(np.zeros((0, 3), np.int64)).shape == (0, 3, 11)


# --- generation with a broken model ---------------------------------------------------------------


def test_generate_with_non_finite_weights_stops_and_names_them():
    model = gpt()
    model.lm_head.weight.data[0, 0] = np.nan
    with pytest.raises(FloatingPointError) as error:
        model.generate(np.array([1, 2]), 5)
    assert str(error.value) == (
        "TinyGPT.generate: the model's weights contain NaN or inf (lm_head.weight), so its predictions are "
        "meaningless: training diverged. Load the last good checkpoint, or retrain with a smaller learning rate."
    )
    bigram = BigramLanguageModel(4)
    bigram.token_logits.weight.data[:] = np.inf
    assert "token_logits.weight" in message(lambda: bigram.generate(np.array([1]), 2))


def test_sample_next_refuses_nan_logits():
    logits = np.zeros((2, 5))
    logits[1, 3] = np.nan
    assert message(lambda: sample_next(logits)).startswith("sample_next: the logits of row 1 are not usable")


# --- one numpy softmax for sampling and the views ---------------------------------------------------


def test_next_token_probabilities_is_the_shared_softmax():
    from tinytorch.viz.probabilities import softmax_with_temperature

    z = np.array([1.0, 3.0, 2.0, -1.0])
    for t in (0.5, 1.0, 2.0):
        e = np.exp(z / t - (z / t).max())
        np.testing.assert_allclose(next_token_probabilities(z, t), e / e.sum())
        np.testing.assert_array_equal(softmax_with_temperature(z, t), next_token_probabilities(z, t))
    np.testing.assert_array_equal(next_token_probabilities(z, 0), [0, 1, 0, 0])
    top2 = next_token_probabilities(z, 1.0, top_k=2)
    assert top2[0] == top2[3] == 0 and top2.sum() == pytest.approx(1)


# --- eval mode and back ---------------------------------------------------------------------------------


def test_eval_mode_restores_each_module_and_survives_errors():
    model = gpt()
    model.blocks[0].eval()  # a mixed state: the block frozen, the rest training
    with nn.eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and not model.blocks[0].training and not model.blocks[0].attn.training
    with pytest.raises(RuntimeError):
        with nn.eval_mode(model):
            raise RuntimeError("boom")
    assert model.training and model.drop.training
    model.train()
    model.generate(np.array([1]), 2)
    model.attention_maps(np.array([1, 2]))
    assert all(m.training for m in model.modules())


# --- checkpoints: the missing key is named ---------------------------------------------------------------


def test_state_dict_missing_lm_head_names_the_key_not_tie_weights():
    model = gpt()
    state = model.state_dict()
    del state["lm_head.weight"]
    text = message(lambda: model.load_state_dict(state))
    assert "missing keys (in the model, not in the state dict): lm_head.weight" in text
    assert (
        "the checkpoint has no lm_head.weight: it was saved from a model with tie_weights=True, "
        "or the file is incomplete"
    ) in text
    assert "tie_weights: checkpoint has" not in text
    assert model.state_dict_problems(state) == ["missing keys (in the model, not in the state dict): lm_head.weight"]
    assert model.state_dict_problems(model.state_dict()) == []


def test_a_checkpoint_of_another_shape_leads_with_the_config_fields():
    big = gpt(dataclasses.replace(CONFIG, n_layer=3, n_embd=16))
    text = message(lambda: gpt().load_state_dict(big.state_dict()))
    assert text.splitlines()[1:4] == [
        "It was saved from a TinyGPT with a different config:",
        "  n_embd: checkpoint has 16, this model 8",
        "  n_layer: checkpoint has 3, this model 1",
    ]
    assert "... and" in text  # long key lists are shortened


def test_train_val_split_still_accepts_plain_lists():
    train, val = train_val_split([1, 2, 3, 4])
    assert train.dtype == np.int64 and list(val) == [4]
