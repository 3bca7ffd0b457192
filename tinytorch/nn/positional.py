"""Sinusoidal positional encodings (Vaswani et al. 2017, "Attention Is All You Need").

Attention on its own is blind to order: shuffle the tokens and every output is shuffled the
same way. Adding a position signal to each token's vector fixes that. The sinusoidal table
needs no training and works for any length up to `max_len`:

    PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

Low dimensions oscillate fast (they tell neighbours apart), high dimensions slowly (they
tell the start of a long text from its end). TinyGPT uses learned positions by default
(an `Embedding(block_size, C)`); `TinyGPTConfig(positions="sinusoidal")` uses this instead.
"""

import numpy as np

from ..tensor import Tensor, get_default_dtype
from ..validation import allocating, check_allocation, non_negative_int, positive_int
from .module import Module


def sinusoidal_positions(T: int, d_model: int) -> np.ndarray:
    """The sinusoidal table as a plain float64 numpy array of shape (T, d_model), for plotting.

    Row `pos` is the vector added to the token at position `pos`; even columns are sines,
    odd columns cosines, with wavelengths growing geometrically from 2*pi to 10000*2*pi.
    """
    T = non_negative_int(T, "sinusoidal_positions: T")
    d_model = positive_int(d_model, "sinusoidal_positions: d_model")
    check_allocation("sinusoidal_positions", {"T": T, "d_model": d_model}, (T, d_model), what="the table")
    position = np.arange(T, dtype=np.float64)[:, None]  # (T, 1)
    pair = np.arange(0, d_model, 2, dtype=np.float64)  # 2i for each (sin, cos) pair
    frequency = np.exp(-np.log(10000.0) * pair / d_model)  # 1 / 10000^(2i/d), (ceil(d/2),)
    angles = position * frequency  # (T, ceil(d/2))
    table = np.empty((T, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])  # odd d_model: the last sine has no cosine
    return table


class PositionalEncoding(Module):
    """Adds the fixed sinusoidal table to token vectors: x (B, T, C) -> x + PE[start:start+T].

    PositionalEncoding(d_model, max_len=5000). Nothing here is trained (the table is a
    constant, not a parameter). `start` shifts the positions, used when generating with a
    key/value cache: the new token at position 37 gets row 37, not row 0.
    """

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        self.d_model = positive_int(d_model, "PositionalEncoding: d_model")
        self.max_len = positive_int(max_len, "PositionalEncoding: max_len")
        # A plain array attribute, not a Tensor: it must not show up in parameters().
        sizes = {"max_len": self.max_len, "d_model": self.d_model}
        with allocating("PositionalEncoding", sizes, (self.max_len, self.d_model), what="its table"):
            self.table = sinusoidal_positions(self.max_len, self.d_model).astype(get_default_dtype())

    def forward(self, x, start: int = 0) -> Tensor:
        """x (B, T, C) or (T, C) -> same shape, with positions start .. start+T-1 added."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim < 2 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"PositionalEncoding(d_model={self.d_model}) expects input (B, T, {self.d_model}), got shape {x.shape}"
            )
        T = x.shape[-2]
        if start + T > self.max_len:
            raise ValueError(
                f"sequence of {T} tokens starting at position {start} needs {start + T} positions, but this "
                f"PositionalEncoding has max_len={self.max_len}: "
                "build it with a larger max_len or use shorter sequences"
            )
        table = self.table[start : start + T]
        if table.dtype != x.dtype and x.dtype.kind == "f":
            table = table.astype(x.dtype)
        return x + table

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"
