"""A checkpoint's optimizer and trainer state are checked like constructor arguments.

Generated cases: every hyperparameter of SGD, Adam and AdamW with values out of range or of the
wrong type, moments with NaN, inf, negatives or the wrong shape, step counts that are not
counts, unknown keys; loaded straight into the optimizer and through a trainer's checkpoint
file. Each asserts a ValueError naming the key, and that nothing changed.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.models import TinyGPT, TinyGPTConfig
from tinytorch.optim import SGD, Adam, AdamW
from tinytorch.training import LanguageModelTrainer, Validation

MAKERS = {
    "SGD": lambda params: SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda params: Adam(params, lr=1e-3),
    "AdamW": lambda params: AdamW(params, lr=1e-3),
}
NAN, INF = float("nan"), float("inf")

BAD_GROUP_VALUES = {
    "lr": [-5, -1e-12, NAN, INF, "fast", None, True, [1e-3]],
    "weight_decay": ["lots", -0.1, NAN, None],
    "eps": [-1, NAN, "tiny", -INF],
    "betas": [[1.0, 0.999], [0.9, 1.0], [-0.1, 0.9], [0.9], [0.9, 0.99, 0.9], "0.9", [NAN, 0.9], [0.9, "x"]],
    "momentum": [1.0, -0.5, "high", NAN, 2],
}
BAD_STATE_VALUES = {
    "exp_avg": [lambda a: a * NAN, lambda a: a + INF, lambda a: np.zeros(a.shape + (1,)), lambda a: "zeros"],
    "exp_avg_sq": [lambda a: a * NAN, lambda a: a - 1.0, lambda a: -np.ones_like(a)],
    "momentum_buffer": [lambda a: a * NAN, lambda a: np.full_like(a, -INF), lambda a: a[..., :0]],
    "step": [lambda s: -1, lambda s: 1.5, lambda s: "x", lambda s: NAN, lambda s: None],
}


def _trained(kind: str):
    """A tiny two-parameter model after two steps of `kind`: (params, optimizer)."""
    tt.manual_seed(0)
    w = tt.Tensor(np.random.default_rng(0).normal(size=(3, 2)), requires_grad=True)
    b = tt.Tensor(np.zeros(2), requires_grad=True)
    optimizer = MAKERS[kind]([w, b])
    for _ in range(2):
        optimizer.zero_grad()
        ((tt.Tensor(np.ones((4, 3))) @ w + b) ** 2).mean().backward()
        optimizer.step()
    return [w, b], optimizer


def _group_cases():
    for kind in MAKERS:
        keys = set(_trained(kind)[1].param_groups[0]) - {"params"}
        for key, values in BAD_GROUP_VALUES.items():
            if key in keys:
                for value in values:
                    yield pytest.param(kind, key, value, id=f"{kind}-{key}-{value!r}")


def _state_cases():
    for kind in MAKERS:
        entry = _trained(kind)[1].state_dict()["state"][0]
        for key, changes in BAD_STATE_VALUES.items():
            if key in entry:
                for n, change in enumerate(changes):
                    yield pytest.param(kind, key, change, id=f"{kind}-{key}-{n}")


def _refused(optimizer, state: dict, *needles: str) -> str:
    before = copy.deepcopy(optimizer.state_dict())
    with pytest.raises(ValueError) as error:
        optimizer.load_state_dict(state)
    message = str(error.value)
    for needle in needles:
        assert needle in message, message
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"], "a refused state changed the hyperparameters"
    for i, entry in before["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(after["state"][i][name], value)
    return message


@pytest.mark.parametrize("kind, key, value", list(_group_cases()))
def test_a_hyperparameter_out_of_range_is_refused_naming_it(kind, key, value):
    _, optimizer = _trained(kind)
    state = optimizer.state_dict()
    state["param_groups"][0][key] = value
    _refused(optimizer, state, "param_groups[0]", key if key != "lr" else "learning rate lr")


@pytest.mark.parametrize("kind, key, change", list(_state_cases()))
def test_a_moment_or_step_out_of_range_is_refused_naming_it(kind, key, change):
    _, optimizer = _trained(kind)
    state = optimizer.state_dict()
    state["state"][1][key] = change(state["state"][1][key])
    _refused(optimizer, state, f"state[1][{key!r}]")


@pytest.mark.parametrize("kind", MAKERS)
@pytest.mark.parametrize("where", ["group", "state"])
def test_a_key_no_optimizer_uses_is_refused(kind, where):
    _, optimizer = _trained(kind)
    state = optimizer.state_dict()
    if where == "group":
        state["param_groups"][0]["learning_rate"] = 0.1
    else:
        state["state"][0]["velocity"] = np.zeros(3)
    _refused(optimizer, state, "learning_rate" if where == "group" else "velocity")


@pytest.mark.parametrize(
    "shape", ["param_groups a dict", "state a list", "group a string", "entry a number", "params not a list"]
)
def test_a_state_of_the_wrong_shape_is_refused(shape):
    _, optimizer = _trained("Adam")
    state = optimizer.state_dict()
    if shape == "param_groups a dict":
        state["param_groups"] = {"0": state["param_groups"][0]}
    elif shape == "state a list":
        state["state"] = list(state["state"].values())
    elif shape == "group a string":
        state["param_groups"] = ["lr=1"]
    elif shape == "entry a number":
        state["state"][0] = 3
    else:
        state["param_groups"][0]["params"] = 2
    _refused(optimizer, state, "Adam")


@pytest.mark.parametrize("kind", MAKERS)
def test_a_good_state_still_loads_exactly(kind):
    params, optimizer = _trained(kind)
    state = optimizer.state_dict()
    fresh = MAKERS[kind]([tt.Tensor(p.data.copy(), requires_grad=True) for p in params])
    fresh.load_state_dict(state)
    assert fresh.state_dict()["param_groups"] == state["param_groups"]


def test_the_constructor_and_the_loader_share_one_message():
    _, optimizer = _trained("Adam")
    with pytest.raises(ValueError) as built:
        Adam([tt.Tensor(np.zeros(2), requires_grad=True)], lr=1e-3, eps=-1)
    state = optimizer.state_dict()
    state["param_groups"][0]["eps"] = -1
    loaded = _refused(optimizer, state)
    assert str(built.value).split("eps", 1)[1] in loaded


# ----------------------------------------------------------------------------- through a checkpoint file


def _trainer():
    tt.manual_seed(0)
    text = "ROMEO:\nlove night moon.\n\nJULIET:\nsweet fair lord.\n\n" * 30
    ids = np.array([ord(c) % 32 for c in text], dtype=np.int64)
    model = TinyGPT(TinyGPTConfig(vocab_size=32, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0))
    return LanguageModelTrainer(
        model,
        AdamW(model.parameters(), lr=1e-3),
        ids[:1000],
        ids[1000:],
        8,
        4,
        validation=Validation(every=100),
        progress=None,
    )


CHECKPOINT_CHANGES = {
    "lr -5": (lambda s: s["optimizer"]["param_groups"][0].__setitem__("lr", -5.0), "learning rate lr"),
    "weight_decay 'lots'": (
        lambda s: s["optimizer"]["param_groups"][0].__setitem__("weight_decay", "lots"),
        "weight_decay",
    ),
    "eps -1": (lambda s: s["optimizer"]["param_groups"][0].__setitem__("eps", -1.0), "eps"),
    "betas (1, 0.999)": (lambda s: s["optimizer"]["param_groups"][0].__setitem__("betas", [1.0, 0.999]), "betas"),
    "NaN moment": (lambda s: s["optimizer"]["state"]["0"]["exp_avg"].__setitem__((0, 0), np.nan), "'exp_avg'"),
    "negative step": (lambda s: s["trainer"].__setitem__("step", -3), "trainer/step"),
    "lr NaN": (lambda s: s["trainer"].__setitem__("lr", float("nan")), "trainer/lr"),
    "elapsed 'x'": (lambda s: s["trainer"].__setitem__("elapsed", "x"), "trainer/elapsed"),
}


@pytest.mark.parametrize("change", CHECKPOINT_CHANGES)
def test_a_tampered_checkpoint_file_is_refused_and_changes_nothing(tmp_path, change):
    trainer = _trainer()
    trainer.fit(steps=3)
    path = trainer.save_checkpoint(tmp_path / "ckpt.npz")
    state = tt.load(path)
    state["optimizer"]["state"] = {str(k): v for k, v in state["optimizer"]["state"].items()}
    mutate, needle = CHECKPOINT_CHANGES[change]
    mutate(state)
    tt.save(state, path)
    other = _trainer()
    weights = {name: p.data.copy() for name, p in other.model.named_parameters()}
    groups = copy.deepcopy(other.optimizer.state_dict()["param_groups"])
    with pytest.raises(ValueError) as error:
        other.load_checkpoint(path)
    message = str(error.value)
    assert "ckpt.npz" in message and needle in message, message
    assert other.step == 0 and other.optimizer.state_dict()["param_groups"] == groups
    for name, p in other.model.named_parameters():
        np.testing.assert_array_equal(p.data, weights[name])
