"""The basic layers: Linear (alias Dense), Embedding, LayerNorm, Dropout, activations, Sequential.

Each layer owns its parameters (Tensors with requires_grad=True, in
`tinytorch.get_default_dtype()`) and calls the matching function in `functional.py`, where
the forward and backward maths live. Initial values come from `tinytorch.rng.rng()`, so
`tinytorch.manual_seed(0)` before building a model gives the same weights every time.
"""

import math

import numpy as np

from ..rng import rng
from ..tensor import Tensor
from ..validation import allocating, positive_int, real_number
from . import functional as F
from .module import Module, ModuleList, Parameter

__all__ = ["Linear", "Dense", "Embedding", "LayerNorm", "Dropout", "ReLU", "GELU", "Tanh", "Sequential"]


class Linear(Module):
    """Fully connected layer: y = x @ weight + bias.

    Linear(in_features, out_features, bias=True): x (..., in_features) -> (..., out_features),
    any number of leading dims (e.g. (B, T, C)). weight is (in_features, out_features), bias
    (out_features,). Both start uniform in [-1/sqrt(in), 1/sqrt(in)] (PyTorch's default), which
    keeps the output's scale about the input's.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = positive_int(in_features, "Linear: in_features")
        self.out_features = positive_int(out_features, "Linear: out_features")
        bound = 1.0 / math.sqrt(self.in_features)
        shape = (self.in_features, self.out_features)
        sizes = {"in_features": self.in_features, "out_features": self.out_features}
        with allocating("Linear", sizes, shape, what="its weight"):
            self.weight = Parameter(rng().uniform(-bound, bound, shape))  # float64, then the default dtype
            self.bias = Parameter(rng().uniform(-bound, bound, self.out_features)) if bias else None

    def forward(self, x) -> Tensor:
        """x (..., in_features) -> (..., out_features)."""
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


Dense = Linear  # the original TinyTorch course's name


class Embedding(Module):
    """A learned table of vectors, one row per id: ids (...) ints -> (..., embedding_dim).

    Embedding(num_embeddings, embedding_dim). weight is (num_embeddings, embedding_dim),
    initialised from N(0, 1) as in PyTorch. An id outside 0..num_embeddings-1, or a float id,
    is an error that names it.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "Embedding: num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "Embedding: embedding_dim")
        shape = (self.num_embeddings, self.embedding_dim)
        sizes = {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}
        with allocating("Embedding", sizes, shape, what="its table"):
            self.weight = Parameter(rng().standard_normal(shape))

    def forward(self, ids) -> Tensor:
        """ids (...) integers -> (..., embedding_dim)."""
        return F.embedding(ids, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalise each vector over its last dim, then scale and shift: (..., dim) -> (..., dim).

    LayerNorm(dim, eps=1e-5): weight (dim,) starts at 1 and bias (dim,) at 0, so at first the
    layer only standardises (mean 0, variance 1 per position).
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.dim = positive_int(dim, "LayerNorm: dim")
        self.eps = real_number(eps, "LayerNorm: eps", above=0.0)
        with allocating("LayerNorm", {"dim": self.dim}, (self.dim,), what="its weight"):
            self.weight = Parameter(np.ones(self.dim))
            self.bias = Parameter(np.zeros(self.dim))

    def forward(self, x) -> Tensor:
        """x (..., dim) -> (..., dim)."""
        return F.layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"({self.dim},), eps={self.eps:g}"


class Dropout(Module):
    """Randomly zero a fraction p of the values while training (scaling the rest by 1/(1-p)).

    Dropout(p=0.5). In eval mode (`model.eval()`) it passes its input through unchanged.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = real_number(p, "Dropout: p (the probability of dropping a value)", minimum=0.0, maximum=1.0)

    def forward(self, x) -> Tensor:
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x) -> Tensor:
        return F.relu(x)


class GELU(Module):
    """GELU, tanh form (as in GPT-2): a smooth ReLU."""

    def forward(self, x) -> Tensor:
        return F.gelu(x)


class Tanh(Module):
    """tanh elementwise."""

    def forward(self, x) -> Tensor:
        return F.tanh(x)


class Sequential(ModuleList):
    """Modules applied one after another: Sequential(Linear(2, 8), Tanh(), Linear(8, 1)).

    Children are named 0, 1, 2, ... (so parameters read `0.weight`, `2.bias`); indexing,
    `len` and `append` work as for a list.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = modules[0]
        super().__init__(modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._items[index])
        return self._items[index]

    def __repr__(self) -> str:
        if not self._items:
            return "Sequential()"
        lines = [f"({i}): {repr(m).replace(chr(10), chr(10) + '  ')}" for i, m in enumerate(self._items)]
        return "Sequential(\n  " + "\n  ".join(lines) + "\n)"
