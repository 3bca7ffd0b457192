"""The views on a real TinyGPT, its MultiHeadAttention, CharTokenizer and trainer: what a
student's notebook does."""

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, viz

_missing = [
    name for name in ("Embedding", "Linear", "LayerNorm", "MultiHeadAttention") if getattr(nn, name, None) is None
]
if _missing:
    pytest.skip(
        f"tinytorch.nn.{', '.join(_missing)} not written yet (TinyGPT cannot be built)", allow_module_level=True
    )

from _viz_helpers import assert_self_contained, by_class, json_payload, parse_svg  # noqa: E402

from tinytorch.models import TinyGPT, TinyGPTConfig  # noqa: E402
from tinytorch.text import CharTokenizer  # noqa: E402

CORPUS = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 4
PROBE = "To be, or not to be:\nthat is"


@pytest.fixture(scope="module")
def tok():
    return CharTokenizer().fit(CORPUS)


@pytest.fixture(scope="module")
def model(tok):
    tinytorch.manual_seed(0)
    return TinyGPT(TinyGPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=16, dropout=0.0))


def test_heatmap_and_head_view_from_model_and_text(model, tok):
    maps = model.attention_maps(tok.encode(PROBE))
    view = viz.attention_heatmap(model, text=PROBE, tokenizer=tok)
    np.testing.assert_allclose(view.weights, maps, rtol=1e-6)
    assert len(by_class(parse_svg(view.svg), "tt-panel")) == 4
    assert view.causal and view.tokens == list(PROBE)
    hv = viz.head_view(model, text=PROBE, tokenizer=tok)
    assert json_payload(hv.html)["L"] == 2 and hv.tokens == list(PROBE)
    assert_self_contained(hv.html)
    # Token ids work too, labelled through the tokenizer.
    ids = tok.encode(PROBE)
    assert viz.attention_heatmap(model, ids, tokenizer=tok, layer=1, head=0).tokens == list(PROBE)


def test_text_longer_than_block_size_is_a_clear_error(model, tok):
    with pytest.raises(ValueError, match="block_size is 32"):
        viz.attention_heatmap(model, text=CORPUS[:40], tokenizer=tok)
    with pytest.raises(ValueError, match="tokenizer"):
        viz.head_view(model, text=PROBE)


def test_heatmap_of_multihead_attention_after_forward(model, tok):
    ids = np.stack([tok.encode(PROBE), tok.encode(PROBE[::-1])])
    model(ids)
    attn = model.blocks[1].attn
    view = viz.attention_heatmap(attn, PROBE[::-1], batch=1)
    np.testing.assert_allclose(view.weights[0], attn.attention_weights[1])
    assert view.heads == [0, 1]


def test_next_token_view_uses_the_models_last_logits(model, tok):
    model.train()
    view = viz.next_token_view(model, PROBE, tok, k=5, temperature=0.7)
    assert model.training  # restored after looking in eval mode
    with tinytorch.no_grad():
        model.eval()
        logits = model(tok.encode(PROBE)[None, :]).data[0, -1].astype(np.float64)
        model.train()
    z = logits / 0.7
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    order = np.argsort(-p)[:5]
    assert [lab for lab, _ in view.top[0.7]] == [tok.decode([int(i)]) for i in order]
    np.testing.assert_allclose([q for _, q in view.top[0.7]], p[order], rtol=1e-5)


def test_trainer_history_and_attention_snapshots(model, tok):
    from tinytorch.training import AttentionProbe, LanguageModelTrainer, Validation

    if getattr(tinytorch.optim, "AdamW", None) is None:
        pytest.skip("tinytorch.optim.AdamW not written yet (the trainer needs an optimizer)")
    data = tok.encode(CORPUS)
    tinytorch.manual_seed(1)
    trainer = LanguageModelTrainer(
        model,
        tinytorch.optim.AdamW(model.parameters(), lr=3e-3),
        data[:250],
        data[250:],
        block_size=16,
        batch_size=4,
        validation=Validation(every=3, batches=1),
        probe=AttentionProbe(tok.encode(PROBE), every=3),
        progress=None,
    )
    trainer.fit(6)
    lapse = viz.attention_timelapse(trainer, tokenizer=tok)
    assert lapse.steps == [s for s, _ in trainer.attention_snapshots] and lapse.steps[0] == 0
    assert lapse.tokens == list(PROBE)
    assert len(by_class(parse_svg(lapse.svg), "tt-frame")) == len(trainer.attention_snapshots)
    curves = viz.loss_curves(trainer, ladder={"uniform": float(np.log(tok.vocab_size))})
    assert f"step {trainer.step}" in curves.summary
    assert len(by_class(parse_svg(curves.svg), "tt-val")) == 2
