"""`Module`: the base class of every layer and model, as in PyTorch.

A module is a Python object whose attributes are its parts:

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Linear(2, 8)           # a Module attribute: a child
            self.fc2 = Linear(8, 1)
            self.scale = Parameter(np.ones(1)) # a Tensor that requires grad: a parameter

        def forward(self, x):
            return self.fc2(self.fc1(x).tanh()) * self.scale

Assigning an attribute registers it: a (leaf) Tensor that requires grad is a parameter, a
Module is a child, and a list/tuple of Modules (or parameters) gives numbered children
`blocks.0`, `blocks.1`, ... (a `ModuleList` does the same and prints nicely). The parts are
read from the attributes each time they are asked for, so replacing an attribute, setting it
to None, or appending to a list later is always reflected. Parameters come in the order the
attributes were first assigned, depth first, with dotted names (`blocks.0.attn.qkv.weight`):
`named_parameters()`, `state_dict()` and the optimizer all see one stable order.
"""

from collections import OrderedDict, namedtuple
from contextlib import contextmanager

import numpy as np

from ..tensor import Tensor, get_default_dtype
from ..validation import tensor_data

__all__ = ["Module", "ModuleList", "Parameter", "IncompatibleKeys", "eval_mode"]


class Parameter(Tensor):
    """A trainable tensor: Parameter(data) is a leaf Tensor with requires_grad=True.

    The data is copied into the default float dtype (float32 unless changed), so an
    optimizer updating the parameter in place never changes the array it was made from.
    Any leaf Tensor with requires_grad=True assigned to a Module counts as a parameter too;
    this class only makes the intent explicit (and `isinstance(p, Parameter)` work).
    """

    __slots__ = ()

    def __init__(self, data, dtype=None, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else tensor_data(data)  # None is an error, not NaN
        array = np.array(array, dtype=dtype or get_default_dtype(), copy=True)
        super().__init__(array, requires_grad=requires_grad, dtype=array.dtype)


def _is_parameter(value) -> bool:
    # Leaf tensors only: an op's output (e.g. a cached activation) requires grad too, but it
    # is a result of the parameters, not one of them.
    return isinstance(value, Tensor) and value.requires_grad and not value._parents


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models: subclass it, set parts in `__init__`, write `forward`.

    Calling the module (`model(x)`) calls `forward(x)`. `training` is True after
    construction; `eval()` switches it (and every child's) off, which turns dropout off.
    """

    training = True  # a class default, so a subclass that forgets super().__init__() still works

    def __init__(self):
        self.training = True

    # --- calling ----------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(): define forward(self, x) in the class")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- the tree of parts ------------------------------------------------------------

    def _own_members(self):
        """(name, value) of this module's own parameters and children, in assignment order.

        Containers (list, tuple, dict with str keys) are looked into one level deep, so
        `self.blocks = [Block(), Block()]` gives children `blocks.0` and `blocks.1`.
        """
        for name, value in vars(self).items():
            if isinstance(value, Module) or _is_parameter(value):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module) or _is_parameter(item):
                        yield f"{name}.{i}", item
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(key, str) and (isinstance(item, Module) or _is_parameter(item)):
                        yield f"{name}.{key}", item

    def named_children(self):
        """Yield (name, module) for the direct sub-modules."""
        for name, value in self._own_members():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for this module ("") and every module below it, once each."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))  # depth first, in assignment order

    def modules(self):
        """This module and every module below it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = ""):
        """Yield (dotted name, parameter) in a stable order: assignment order, depth first.

        A parameter shared by two modules (tied weights) is listed once, under its first name.
        """
        seen = set()  # ids of parameters and modules already visited
        stack = [(prefix, self)]
        while stack:  # depth first, one attribute at a time, so the order is the assignment order
            name, value = stack.pop()
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, Tensor):
                yield name, value
            else:
                members = [(f"{name}.{n}" if name else n, v) for n, v in value._own_members()]
                stack.extend(reversed(members))

    def parameters(self) -> list:
        """All trainable tensors, in `named_parameters()` order (a list, so it can be reused)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many trainable numbers the module has."""
        return int(sum(p.data.size for p in self.parameters()))

    # --- modes and gradients ------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (call before each backward(): they add up)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout on) for this module and all below it; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (dropout off) for this module and all below it; returns self."""
        return self.train(False)

    # --- saving and loading -------------------------------------------------------------

    def state_dict(self) -> OrderedDict:
        """Ordered {name: numpy array copy} of every parameter (what `tinytorch.save` stores)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from `state_dict` into the parameters of the same names.

        With strict=True (default) the names must match exactly. Missing names, unexpected
        names and shape mismatches are all listed in one ValueError, and then nothing has been
        changed. With strict=False missing and unexpected names are allowed (and returned),
        but shapes must still match. Values may be numpy arrays or Tensors; they are copied
        and cast to each parameter's dtype.
        """
        problems, arrays = self._check_state_dict(state_dict, strict)
        if problems:
            raise ValueError(self.state_dict_mismatch(state_dict, problems))
        own = OrderedDict(self.named_parameters())
        for name, array in arrays.items():
            p = own[name]
            p.data = np.array(array, dtype=p.dtype, copy=True)
        given = {str(k) for k in state_dict}
        return IncompatibleKeys([n for n in own if n not in given], [n for n in given if n not in own])

    def state_dict_problems(self, state_dict, strict: bool = True) -> list:
        """What stops `state_dict` from loading into this module, as readable lines ([] if it fits).

        The one home of the model-side compatibility rule: missing and unexpected names (when
        strict), shape mismatches and non-numeric values. The trainer's checkpoint check uses it too.
        """
        return self._check_state_dict(state_dict, strict)[0]

    def state_dict_mismatch(self, state_dict, problems: list) -> str:
        """The error message for `problems` (see state_dict_problems); models add what the names reveal."""
        hints = self._state_dict_hints(state_dict)  # what the differences mean comes first
        return (
            f"cannot load this state dict into {type(self).__name__} (nothing was changed):\n"
            + ("\n".join(hints) + "\nIn detail:\n" if hints else "")
            + "  - "
            + "\n  - ".join(problems)
            + ("" if hints else "\nWas it saved from a model built with the same settings?")
        )

    def _state_dict_hints(self, state_dict) -> list:
        """Extra lines for a mismatch message (TinyGPT names the config fields that differ)."""
        return []

    def _check_state_dict(self, state_dict, strict: bool):
        """(problems, {name: array that fits}) for `state_dict` against this module's parameters."""
        if not hasattr(state_dict, "items"):
            raise TypeError(
                f"load_state_dict expects a dict of name -> array (from model.state_dict() or "
                f"tinytorch.load(path)), got {type(state_dict).__name__}"
            )
        own = OrderedDict(self.named_parameters())
        given = OrderedDict((str(k), v) for k, v in state_dict.items())
        missing = [name for name in own if name not in given]
        unexpected = [name for name in given if name not in own]
        arrays, wrong_shape, not_numbers = {}, [], []
        for name, p in own.items():
            if name not in given:
                continue
            value = given[name]
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.dtype.kind not in "fiub":
                not_numbers.append(f"{name} (dtype {array.dtype})")
            elif array.shape != p.shape:
                wrong_shape.append(f"{name}: checkpoint {array.shape}, model {p.shape}")
            else:
                arrays[name] = array

        problems = []
        if strict and missing:
            problems.append(f"missing keys (in the model, not in the state dict): {_some(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys (in the state dict, not in the model): {_some(unexpected)}")
        if wrong_shape:
            problems.append("shape mismatches: " + _some(wrong_shape, "; "))
        if not_numbers:
            problems.append("values that are not numeric arrays: " + ", ".join(not_numbers))
        return problems, arrays

    # --- printing -----------------------------------------------------------------------

    def extra_repr(self) -> str:
        """One line of settings shown in the repr, e.g. "in_features=4, out_features=2"."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = [f"({name}): {_indent(repr(child))}" for name, child in self._repr_children()]
        if not lines:
            return f"{type(self).__name__}({extra})"
        if extra:
            lines.insert(0, extra)
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def _repr_children(self):
        # A plain list of modules prints as one ModuleList block, as if it had been wrapped.
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and any(isinstance(v, Module) for v in value):
                yield name, ModuleList(v for v in value if isinstance(v, Module))


@contextmanager
def eval_mode(model):
    """`with eval_mode(model):` runs the block in eval mode (no dropout), then puts every module
    back in the mode it was in, even if the block raises. The one way the library switches to
    eval temporarily (generation, attention maps, validation, views).

    Any object with `eval()` works (a Module's submodules each get their own mode back; other
    objects get `train(previous)` if they have it).
    """
    if isinstance(model, Module):
        before = [(m, m.training) for m in model.modules()]
        model.eval()
        try:
            yield model
        finally:
            for m, mode in before:
                m.training = mode
        return
    was_training = getattr(model, "training", None)
    if hasattr(model, "eval"):
        model.eval()
    try:
        yield model
    finally:
        if was_training is not None and hasattr(model, "train"):
            model.train(was_training)


def _some(items: list, sep: str = ", ", shown: int = 6) -> str:
    """The first few items joined, then how many more (a 40-key list buries the point)."""
    rest = len(items) - shown
    return sep.join(items[:shown]) + (f"{sep}... and {rest} more" if rest > 0 else "")


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


class ModuleList(Module):
    """A list of modules whose parameters the parent module sees: `self.blocks = ModuleList([...])`.

    Indexing, `len`, iteration, `append` and `extend` work as on a list. Children are named
    `0`, `1`, ... (so parameters read `blocks.0.attn.qkv.weight`). A plain list of modules
    assigned to an attribute works too; ModuleList also prints as one block and can be
    grown after assignment.
    """

    def __init__(self, modules=()):
        super().__init__()
        self._items = []
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        self._items.append(module)
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def _own_members(self):
        for i, module in enumerate(self._items):
            yield str(i), module

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "a ModuleList has no forward(): loop over it, e.g. `for block in self.blocks: x = block(x)`"
        )

    def __repr__(self) -> str:
        # Runs of identical-looking children print once: "(0-3): 4 x TransformerBlock(...)".
        if not self._items:
            return "ModuleList()"
        lines, start = [], 0
        texts = [repr(m) for m in self._items]
        while start < len(texts):
            end = start
            while end + 1 < len(texts) and texts[end + 1] == texts[start]:
                end += 1
            label = f"({start})" if end == start else f"({start}-{end}): {end - start + 1} x"
            sep = ":" if end == start else ""
            lines.append(f"{label}{sep} {_indent(texts[start])}")
            start = end + 1
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"
