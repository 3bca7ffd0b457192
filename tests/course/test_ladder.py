"""Notebook 4's ladder, one component at a time, says what it measures: trained as the notebook trains it
(`ladder_rungs`, LADDER_STEPS, each rung at its LADDER_LR, the library's training step), every rung up to
a full block is clearly below the one before, and the second block trails one block, as the prose says.
benchmarks/course_ladder.py measured the same over five seeds (results/course_ladder.json)."""

import dataclasses

import pytest

from tinytorch.course import experiments
from tinytorch.course.your_gpt import library_training_step
from tinytorch.models import TinyGPTConfig
from tinytorch.nn.functional import cross_entropy
from tinytorch.text import CharTokenizer, load_shakespeare, train_val_split

pytestmark = pytest.mark.slow  # four short training runs on the real corpus (~15 s)

#: a rung must beat the one below by this much: the seed-to-seed spread of a step down was below it
MARGIN = 0.02


@pytest.fixture(scope="module")
def climb():
    text = load_shakespeare()
    tokenizer = CharTokenizer().fit(text)
    train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.9)
    small = TinyGPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=32)
    return {
        name: experiments.train_briefly(
            model, experiments.LADDER_STEPS, library_training_step, cross_entropy, train_ids, val_ids, lr=lr
        )["val"]
        for name, (model, lr) in experiments.ladder_rungs(small).items()
    }


def test_each_rung_up_to_a_full_block_is_below_the_one_before(climb):
    names = ["+ attention", "+ MLP", "+ residual, LayerNorm"]
    for below, above in zip(names, names[1:]):
        assert climb[above] < climb[below] - MARGIN, f"{above} {climb[above]:.3f}, {below} {climb[below]:.3f}"


def test_the_second_block_trails_one_block_as_the_notebook_says(climb):
    assert climb["+ a second block"] > climb["+ residual, LayerNorm"], climb


def test_the_rungs_are_the_components_they_are_named_for():
    config = TinyGPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    rungs = {name: model for name, (model, _) in experiments.ladder_rungs(config).items()}
    assert list(rungs) == list(experiments.LADDER_LR)
    assert isinstance(rungs["+ attention"], experiments.AttentionOnlyGPT)
    bare = rungs["+ MLP"].config
    assert (bare.n_layer, bare.residual, bare.layer_norm) == (1, False, False)
    assert rungs["+ residual, LayerNorm"].config == dataclasses.replace(config, n_layer=1)
    assert rungs["+ a second block"].config == config
