"""nn.Module: parameter discovery and naming, modes, gradients, state dicts and repr."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.nn import Module, ModuleList, Parameter


class Block(Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return x + self.drop(self.fc(self.ln(x)))


class Net(Module):
    def __init__(self, d=4, n=2):
        super().__init__()
        self.embed = nn.Embedding(10, d)
        self.blocks = [Block(d) for _ in range(n)]  # a plain list of modules
        self.scale = Parameter(np.ones(d))
        self.head = nn.Linear(d, 3, bias=False)
        self.table = np.zeros(5)  # a plain array: not a parameter
        self.constant = Tensor(np.ones(2))  # requires_grad=False: not a parameter

    def forward(self, ids):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(x * self.scale)


EXPECTED_NAMES = [
    "embed.weight",
    "blocks.0.ln.weight",
    "blocks.0.ln.bias",
    "blocks.0.fc.weight",
    "blocks.0.fc.bias",
    "blocks.1.ln.weight",
    "blocks.1.ln.bias",
    "blocks.1.fc.weight",
    "blocks.1.fc.bias",
    "scale",
    "head.weight",
]


def test_named_parameters_are_dotted_and_in_assignment_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == EXPECTED_NAMES
    assert net.parameters()[0] is net.embed.weight
    assert net.num_parameters() == 10 * 4 + 2 * (4 + 4 + 16 + 4) + 4 + 4 * 3
    assert [n for n, _ in net.named_children()] == ["embed", "blocks.0", "blocks.1", "head"]
    assert len(list(net.modules())) == 1 + 1 + 2 * 4 + 1


def test_reassigning_keeps_order_and_none_removes():
    net = Net()
    net.head = nn.Linear(4, 3)  # same position, new parameters
    assert [n for n, _ in net.named_parameters()][-2:] == ["head.weight", "head.bias"]
    net.scale = None
    assert "scale" not in dict(net.named_parameters())


def test_lists_grown_after_assignment_are_seen():
    class Grows(Module):
        def __init__(self, n):
            super().__init__()
            self.layers = []
            for _ in range(n):
                self.layers.append(nn.Linear(2, 2))
            self.extra = ModuleList()
            self.extra.append(nn.Linear(2, 1))

    names = [n for n, _ in Grows(2).named_parameters()]
    assert names == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "extra.0.weight",
        "extra.0.bias",
    ]


def test_module_list_and_tied_parameters():
    layers = ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 3 and isinstance(layers[2], nn.Linear)
    assert [n for n, _ in layers.named_parameters()][-2:] == ["2.weight", "2.bias"]

    class Tied(Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight

    tied = Tied()
    names = [n for n, _ in tied.named_parameters()]
    assert names == ["a.weight", "a.bias", "b.bias"]  # the shared weight once, under its first name


def test_intermediate_results_are_not_parameters():
    class Remembers(Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            self.last = self.fc(x)  # requires grad, but is an op's output
            return self.last

    m = Remembers()
    m(Tensor(np.ones((1, 2))))
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]


def test_zero_grad_train_eval():
    net = Net()
    net(np.array([[1, 2, 3]])).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.training and net.blocks[1].drop.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.blocks[0].drop.training


def test_a_module_without_super_init_or_forward():
    class NoInit(Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    m = NoInit()
    assert m.training and len(m.parameters()) == 2
    with pytest.raises(NotImplementedError, match="forward"):
        m(np.ones(2))


# --- state dicts ------------------------------------------------------------------------------


def test_state_dict_is_an_ordered_copy_and_round_trips():
    tt.manual_seed(0)
    a = Net()
    tt.manual_seed(1)
    b = Net()
    sd = a.state_dict()
    assert list(sd) == EXPECTED_NAMES
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["head.weight"][:] = 123.0  # a copy: the model is untouched
    assert not np.any(a.head.weight.data == 123.0)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    ids = np.array([[1, 2, 3]])
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(ids).data, b(ids).data)
    # Tensors are accepted as values, and values are cast to the parameter's dtype
    b.load_state_dict({k: Tensor(v.astype(np.float64), dtype=np.float64) for k, v in a.state_dict().items()})
    assert b.head.weight.dtype == np.float32
    np.testing.assert_array_equal(b.head.weight.data, a.head.weight.data)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    bad = net.state_dict()
    del bad["scale"], bad["blocks.1.fc.bias"]
    bad["extra.weight"] = np.zeros(3)
    bad["head.weight"] = np.zeros((5, 3))
    bad["embed.weight"] = np.zeros((10, 4)) + 7  # fine on its own, but must not be loaded either
    with pytest.raises(ValueError) as error:
        net.load_state_dict(bad)
    message = str(error.value)
    for text in (
        "missing",
        "scale",
        "blocks.1.fc.bias",
        "unexpected",
        "extra.weight",
        "head.weight",
        "(5, 3)",
        "(4, 3)",
    ):
        assert text in message, text
    assert "nothing was changed" in message
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_non_strict_returns_the_differences():
    net = Net()
    partial = {"head.weight": np.ones((4, 3)), "unknown": np.ones(1)}
    result = net.load_state_dict(partial, strict=False)
    assert "scale" in result.missing_keys and result.unexpected_keys == ["unknown"]
    np.testing.assert_array_equal(net.head.weight.data, 1.0)
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({"head.weight": np.ones((3, 3))}, strict=False)
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([1, 2])


# --- printing ---------------------------------------------------------------------------------


def test_repr_is_nested_and_readable():
    text = repr(Net())
    assert text.startswith("Net(\n  (embed): Embedding(10, 4)\n  (blocks): ModuleList(\n    (0-1): 2 x Block(")
    assert "      (fc): Linear(in_features=4, out_features=4, bias=True)" in text
    assert "(head): Linear(in_features=4, out_features=3, bias=False)" in text
    assert text.endswith("\n)")
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2)"
    assert repr(nn.LayerNorm(8)) == "LayerNorm((8,), eps=1e-05)"
    assert "(0): Linear" in repr(ModuleList([nn.Linear(1, 2), nn.Linear(2, 1)]))


def test_parameter_helper():
    source = np.array([1.0, 2.0, 3.0])
    p = Parameter(source)
    assert p.requires_grad and p.dtype == np.float32 and p.shape == (3,)
    assert isinstance(p, Parameter) and isinstance(p, Tensor)
    assert Parameter([1, 2], dtype=np.float64).dtype == np.float64
    p.data -= 1.0  # what an optimizer does
    np.testing.assert_array_equal(source, [1.0, 2.0, 3.0])  # a copy: the source array is untouched
    assert type(p * 2) is Tensor and "requires_grad=True" in repr(p)
