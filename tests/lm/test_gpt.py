"""TinyGPT and the bigram baseline: shapes, gradients, causality, init, errors, checkpoints, presets."""

import dataclasses

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.gradcheck import gradcheck
from tinytorch.models import PRESETS, BigramLanguageModel, TinyGPT, TinyGPTConfig, preset

SMALL = TinyGPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)


def ids(B, T, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (B, T), dtype=np.int64)


def model(config=SMALL, seed=0, dtype=np.float32):
    with tt.default_dtype(dtype):
        tt.manual_seed(seed)
        return TinyGPT(config)


# --- forward ---------------------------------------------------------------------------------


def test_forward_shapes_and_loss_at_init():
    m = model()
    x = ids(3, 8)
    logits = m(x)
    assert isinstance(logits, Tensor) and logits.shape == (3, 8, 11) and logits.dtype == np.float32
    logits2, loss = m(Tensor(x), x)  # Tensor ids work too
    np.testing.assert_array_equal(logits.data, logits2.data)
    # small init: predictions start close to uniform
    assert loss.item() == pytest.approx(np.log(11), abs=0.05)
    assert m(x[:, :3]).shape == (3, 3, 11)  # shorter than block_size is fine


def test_loss_gradients_of_a_two_layer_model():
    m = model(dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in m.parameters():  # off the init, so LayerNorm/bias gradients are exercised
        p.data = p.data + 0.1 * rng.standard_normal(p.shape)
    x, y = ids(2, 6, seed=2), ids(2, 6, seed=3)
    params = list(m.parameters())
    gradcheck(lambda *ps: m(x, y)[1], params, max_checks=12)


@pytest.mark.parametrize(
    "options",
    [
        dict(positions="sinusoidal"),
        dict(tie_weights=True),
        dict(residual=False, layer_norm=False),
        dict(n_head=1),
        dict(mlp_ratio=3),
    ],
)
def test_variants_have_correct_gradients(options):
    m = model(dataclasses.replace(SMALL, **options), dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in m.parameters():
        p.data = p.data + 0.1 * rng.standard_normal(p.shape)
    x, y = ids(2, 5, seed=2), ids(2, 5, seed=3)
    gradcheck(lambda *ps: m(x, y)[1], list(m.parameters()), max_checks=6)


def test_changing_a_future_token_never_changes_earlier_logits():
    m = model()
    x = ids(2, 8, seed=4)
    base = m(x).data
    for t in range(8):
        changed = x.copy()
        changed[:, t] = (changed[:, t] + 1) % 11
        out = m(changed).data
        np.testing.assert_array_equal(out[:, :t], base[:, :t])
        assert not np.allclose(out[:, t], base[:, t])


def test_variants_have_the_expected_parameters():
    names = lambda cfg: {n for n, _ in model(cfg).named_parameters()}  # noqa: E731
    full = names(SMALL)
    assert "position_embedding.weight" in full and "lm_head.weight" in full and "ln_f.weight" in full
    assert "position_embedding.weight" not in names(dataclasses.replace(SMALL, positions="sinusoidal"))
    assert "lm_head.weight" not in names(dataclasses.replace(SMALL, tie_weights=True))
    assert not any("ln" in n for n in names(dataclasses.replace(SMALL, layer_norm=False)))


def test_num_parameters_counts_every_weight():
    cfg = TinyGPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
    m = TinyGPT(cfg)
    C, V, L, T = 128, 65, 4, 64
    per_block = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C)
    expected = V * C + T * C + L * per_block + 2 * C + C * V
    assert m.num_parameters() == expected
    assert m.num_parameters(non_embedding=True) == expected - V * C - T * C


def test_mlp_ratio_sets_the_hidden_width_and_the_parameter_count():
    C, V, T = 8, 11, 8
    m = model(dataclasses.replace(SMALL, mlp_ratio=3))
    assert [b.mlp.hidden for b in m.blocks] == [3 * C, 3 * C]
    assert m.blocks[0].mlp.fc.weight.shape == (C, 3 * C) and m.blocks[0].mlp.proj.weight.shape == (3 * C, C)
    per_block = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * 3 * C + 3 * C) + (3 * C * C + C)
    assert m.num_parameters() == V * C + T * C + 2 * per_block + 2 * C + C * V
    assert "mlp_hidden=24" in repr(m) and "mlp_hidden" not in repr(model())


def test_init_std_sets_the_spread_of_the_initial_weights():
    cfg = TinyGPTConfig(vocab_size=65, block_size=64, n_layer=2, n_head=4, n_embd=128, init_std=0.05)
    m = model(cfg)
    assert np.std(m.blocks[0].attn.qkv.weight.data) == pytest.approx(0.05, rel=0.05)
    assert np.std(m.token_embedding.weight.data) == pytest.approx(0.05, rel=0.05)
    assert np.std(m.blocks[1].mlp.proj.weight.data) == pytest.approx(0.05 / np.sqrt(4), rel=0.05)


def test_gpt2_init():
    cfg = TinyGPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
    m = model(cfg)
    assert np.std(m.blocks[0].attn.qkv.weight.data) == pytest.approx(0.02, rel=0.05)
    assert np.std(m.blocks[0].mlp.proj.weight.data) == pytest.approx(0.02 / np.sqrt(8), rel=0.05)
    assert np.std(m.blocks[3].attn.proj.weight.data) == pytest.approx(0.02 / np.sqrt(8), rel=0.05)
    assert np.all(m.blocks[1].attn.qkv.bias.data == 0)
    assert np.all(m.ln_f.weight.data == 1) and np.all(m.ln_f.bias.data == 0)
    # same seed, same model; another seed, another model
    np.testing.assert_array_equal(model(cfg).lm_head.weight.data, m.lm_head.weight.data)
    assert not np.array_equal(model(cfg, seed=1).lm_head.weight.data, m.lm_head.weight.data)


def test_ladder_variants_keep_scale_preserving_init():
    """GPT-2's small init needs LayerNorm; without it the layers keep their default init so the
    signal does not vanish (otherwise such a model cannot learn and the ladder would be a lie)."""
    m = model(dataclasses.replace(SMALL, residual=False, layer_norm=False, n_embd=64, n_head=4))
    bound = 1 / np.sqrt(64)
    w = m.blocks[0].attn.qkv.weight.data
    assert np.abs(w).max() <= bound and np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.05)
    assert np.std(m.token_embedding.weight.data) == pytest.approx(1.0, rel=0.2)
    x = ids(2, 8)
    with tt.no_grad():
        h = m._hidden(x)
    assert np.std(h.data) > 0.01  # the signal survives two blocks (GPT-2 init here: ~1e-9)
    m._init_weights()
    with tt.no_grad():
        assert np.std(m._hidden(x).data) < 1e-6


def test_attention_maps():
    m = model()
    x = ids(1, 7)[0]
    maps = m.attention_maps(x)
    assert maps.shape == (2, 2, 7, 7)
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-5)
    assert (np.triu(maps, 1) == 0).all()
    np.testing.assert_array_equal(maps, m.attention_maps(x[None, :]))
    with pytest.raises(ValueError, match="one sequence"):
        m.attention_maps(ids(2, 7))


def test_a_small_model_memorises_a_batch():
    from tinytorch.optim import AdamW

    m = model(TinyGPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    opt = AdamW(m.parameters(), lr=1e-2)
    x, y = ids(4, 8, seed=5), ids(4, 8, seed=6)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        _, loss = m(x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


# --- bad input -------------------------------------------------------------------------------


def test_sequence_longer_than_block_size():
    with pytest.raises(ValueError, match="longer than block_size=8"):
        model()(ids(1, 9))


def test_wrong_ids():
    m = model()
    with pytest.raises(TypeError, match="integer token ids"):
        m(ids(1, 4).astype(np.float32))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        m(ids(1, 4)[0])
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        m(ids(1, 4)[None])
    with pytest.raises(ValueError, match="token id 11 is outside"):
        m(np.array([[1, 11]]))
    with pytest.raises(TypeError, match="encode it first"):
        m(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="must match"):
        m(ids(1, 4), ids(1, 3))


def test_bad_configs():
    with pytest.raises(ValueError, match="n_head=3 does not divide n_embd=16"):
        TinyGPTConfig(n_head=3, n_embd=16)
    with pytest.raises(ValueError, match="positions"):
        TinyGPTConfig(positions="rotary")
    with pytest.raises(ValueError, match="block_size"):
        TinyGPTConfig(block_size=0)
    with pytest.raises(ValueError, match="dropout"):
        TinyGPTConfig(dropout=1.0)
    with pytest.raises(ValueError, match="mlp_ratio"):
        TinyGPTConfig(mlp_ratio=0)
    for bad in (0, -0.02, "wide", None):
        with pytest.raises(ValueError, match="init_std"):
            TinyGPTConfig(init_std=bad)


# --- checkpoints -----------------------------------------------------------------------------


def test_state_dict_round_trip():
    a, b = model(seed=0), model(seed=1)
    b.load_state_dict(a.state_dict())
    x = ids(2, 8)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_loading_a_checkpoint_of_another_config_names_the_fields():
    big = model(dataclasses.replace(SMALL, n_layer=3, n_embd=16, block_size=12))
    with pytest.raises(ValueError) as error:
        model().load_state_dict(big.state_dict())
    message = str(error.value)
    for field in ("n_layer", "n_embd", "block_size"):
        assert field in message
    assert "vocab_size" not in message
    with pytest.raises(ValueError, match="positions"):
        model().load_state_dict(model(dataclasses.replace(SMALL, positions="sinusoidal")).state_dict())
    with pytest.raises(ValueError, match="mlp_ratio: checkpoint has 3, this model 4"):
        model().load_state_dict(model(dataclasses.replace(SMALL, mlp_ratio=3)).state_dict())


def test_config_dict_round_trip_and_differences():
    cfg = dataclasses.replace(SMALL, dropout=0.1)
    assert TinyGPTConfig.from_dict(cfg.to_dict()) == cfg
    assert SMALL.differences(cfg) == ["dropout: 0.0 here vs 0.1 there"]
    with pytest.raises(ValueError, match="n_layers"):
        TinyGPTConfig.from_dict({"n_layers": 2})


# --- presets and the bigram ------------------------------------------------------------------


def test_presets():
    assert set(PRESETS) >= {"tiny", "browser", "native"}
    browser = preset("browser")
    c = browser.config
    assert c.n_layer >= 2 and c.block_size >= 64  # a real GPT: stacked blocks, a line of context (issue 25)
    native = preset("native")
    c = native.config
    assert (c.n_layer, c.n_head, c.n_embd, c.block_size, native.batch_size) == (4, 4, 128, 64, 12)
    for p in PRESETS.values():
        assert p.expected_val_loss > 0 and p.seconds_per_step_native > 0 and p.notes
        TinyGPT(p.config)  # buildable
    browser.config.n_layer = 9  # a copy: the registry is untouched
    assert preset("browser").config.n_layer == PRESETS["browser"].config.n_layer != 9
    with pytest.raises(ValueError, match="browser"):
        preset("huge")


def test_a_preset_builds_its_recipe():
    """model -> configure_optimizers -> schedule -> trainer, each value read from the preset once."""
    from tinytorch.training import Checkpoints, LanguageModelTrainer, Validation

    p = preset("tiny")
    data = np.arange(4000) % 40
    tt.manual_seed(0)
    model, optimizer, trainer = p.build(40, data[:3000], data[3000:], progress=None)
    assert model.config == dataclasses.replace(p.config, vocab_size=40) and trainer.optimizer is optimizer
    assert optimizer.lr == p.lr and optimizer.param_groups[0]["weight_decay"] == p.weight_decay
    assert (trainer.batch_size, trainer.block_size, trainer.grad_clip) == (p.batch_size, 16, p.grad_clip)
    assert trainer.max_steps == p.max_steps and trainer.validation.every == p.eval_interval
    lrs = [trainer.lr_at(s) for s in (0, p.warmup_steps - 1, p.max_steps)]
    assert lrs == pytest.approx([p.lr / p.warmup_steps, p.lr, p.lr / 10])

    tt.manual_seed(0)
    by_hand = tt.models.TinyGPT(p.model_config(40))
    hand = LanguageModelTrainer(
        by_hand,
        by_hand.configure_optimizers(weight_decay=p.weight_decay, lr=p.lr, betas=p.betas),
        data[:3000],
        data[3000:],
        16,
        p.batch_size,
        lr_schedule=p.lr_schedule(),
        validation=Validation(p.eval_interval),
        progress=None,
    )
    assert hand.settings == trainer.settings
    for t in (trainer, hand):
        tt.manual_seed(1)
        t.fit(12)
    assert [r.train_loss for r in trainer.history] == [r.train_loss for r in hand.history]

    # override only what changes: a trainer argument, or a field of the preset or its config
    other = p.build_trainer(p.build_model(40), data[:3000], None, checkpoints=Checkpoints("unused"), progress=None)
    assert other.validation is None and other.checkpoint_dir.name == "unused"
    wider = p.replace(lr=3e-3, n_embd=64, max_steps=50)
    assert (wider.lr, wider.config.n_embd, wider.max_steps, wider.config.n_layer) == (3e-3, 64, 50, p.config.n_layer)
    assert p.lr == 1e-2 and p.config.n_embd == 32  # the original is untouched
    with pytest.raises(ValueError, match="no field n_embed"):
        p.replace(n_embed=64)
    with pytest.warns(DeprecationWarning, match="Preset.lr"):
        assert p.learning_rate == p.lr


def test_bigram_learns_which_character_follows_which():
    from tinytorch.optim import AdamW

    text = "abcabcabcabdabcabc" * 4
    vocab = sorted(set(text))
    data = np.array([vocab.index(c) for c in text], dtype=np.int64)
    tt.manual_seed(0)
    m = BigramLanguageModel(len(vocab))
    x, y = data[None, :-1], data[None, 1:]
    logits, loss = m(x, y)
    assert logits.shape == (1, len(text) - 1, len(vocab))
    opt = AdamW(m.parameters(), lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        _, loss = m(x, y)
        loss.backward()
        opt.step()
    # 'a' -> 'b' always; 'b' -> 'c' mostly, 'd' sometimes: the loss approaches that entropy
    assert loss.item() < 0.3
    sample = "".join(vocab[i] for i in m.generate(np.array([0]), 30, temperature=0.5, seed=0))
    assert sample.count("ab") == sample[:-1].count("a")  # every 'a' is followed by 'b'
    with pytest.raises(ValueError, match="positive int"):
        BigramLanguageModel(0)


def test_configure_optimizers_decays_matrices_and_embeddings_not_biases_or_layernorm():
    m = model()
    opt = m.configure_optimizers(weight_decay=0.5, lr=0.1, betas=(0.9, 0.95))
    assert isinstance(opt, tt.optim.AdamW) and opt.lr == 0.1
    with pytest.warns(DeprecationWarning, match="learning_rate= is now lr="):
        assert m.configure_optimizers(learning_rate=0.2).lr == 0.2
    names = {id(p): n for n, p in m.named_parameters()}
    decayed = {names[id(p)] for g in opt.param_groups if g["weight_decay"] == 0.5 for p in g["params"]}
    kept = {names[id(p)] for g in opt.param_groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert decayed | kept == set(names.values()) and not decayed & kept
    assert {
        "token_embedding.weight",
        "position_embedding.weight",
        "lm_head.weight",
        "blocks.0.attn.qkv.weight",
        "blocks.0.mlp.fc.weight",
    } <= decayed
    assert {"blocks.0.attn.qkv.bias", "blocks.0.ln1.weight", "blocks.0.ln1.bias", "ln_f.weight"} <= kept
    assert all(p.ndim >= 2 for n, p in m.named_parameters() if n in decayed)
    # With zero gradients Adam's step is 0, so only the decoupled decay moves the weights.
    before = {n: p.data.copy() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = np.zeros_like(p.data)
    opt.step()
    for n, p in m.named_parameters():
        expected = before[n] * (1 - 0.1 * 0.5) if n in decayed else before[n]
        np.testing.assert_allclose(p.data, expected, rtol=1e-6, err_msg=n)
