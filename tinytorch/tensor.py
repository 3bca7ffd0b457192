"""The Tensor and its autograd engine.

A Tensor wraps a numpy array (`.data`). When it is the result of an op on tensors that
require gradients, it remembers its inputs (`_parents`) and a closure (`_backward`) that,
given the gradient of the output, adds the local gradient into each input. `backward()`
orders the graph topologically once and runs every closure once, in reverse.

Each op below is read top to bottom: forward in numpy, then its backward right beside it.
"""

from contextlib import contextmanager

import numpy as np

from . import kernels
from .validation import axes_tuple, axis_index, tensor_data
from .wasm import elementwise

# GELU's sqrt(2/pi) as a Python float: a np.float64 scalar would turn float32 arrays into float64 (NEP 50)
_GELU_C = float(np.sqrt(2.0 / np.pi))

# ----------------------------------------------------------------------------- modes

_grad_enabled = True
_default_dtype = np.dtype(np.float32)


class no_grad:
    """Context manager (and decorator) that stops graph building: faster, less memory."""

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Turn graph building back on inside a `no_grad()` block."""

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return _grad_enabled


def get_default_dtype() -> np.dtype:
    """The float dtype new tensors and parameters get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the float dtype for new tensors and parameters: np.float32 or np.float64."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


@contextmanager
def default_dtype(dtype):
    """`with default_dtype(np.float64): ...` builds tensors and modules in float64 (gradient checks)."""
    previous = _default_dtype
    set_default_dtype(dtype)
    try:
        yield
    finally:
        set_default_dtype(previous)


# ----------------------------------------------------------------------------- helpers


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if not (isinstance(data, np.ndarray) and data.dtype.kind in "biuf"):
        data = tensor_data(data)  # None, objects and text are errors, never NaN
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if data.dtype.kind == "f":
        return data.astype(_default_dtype, copy=False)
    return data  # integers (token ids) and booleans (masks) keep their dtype


def as_tensor(x, like=None) -> "Tensor":
    """Wrap x (scalar, list, ndarray) as a constant Tensor; floats take `like`'s float dtype.

    Matching the dtype keeps float32 graphs in float32: numpy would otherwise promote
    `float32_array * float64_array` to float64.
    """
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if like is not None and like.data.dtype.kind == "f" and array.dtype.kind in "fiub":
        array = array.astype(like.data.dtype, copy=False)
    elif array.dtype.kind == "f":
        array = array.astype(_default_dtype, copy=False)
    return Tensor(array, dtype=array.dtype)


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast gradient back down to `shape` (the input's shape)."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != tuple(shape):
        raise ValueError(f"gradient of shape {grad.shape} does not match tensor of shape {tuple(shape)}")
    return grad


def _check_not_empty(shape, axes, op) -> None:
    """A max or softmax over an axis of length 0 has no value: say so (numpy's message is about 'identity')."""
    for a in axes:
        if shape[a] == 0:
            raise ValueError(
                f"{op}: axis {a} of shape {tuple(shape)} is empty (length 0), so there is nothing to "
                "take it over: is the sequence or batch empty?"
            )


def _has_advanced_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray, Tensor)) for i in items)


def _index_arrays(index):
    """Tensors used as indices become their integer/bool arrays."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autograd.

    Tensor(data, requires_grad=False, dtype=None): float data becomes the default dtype
    (float32) unless `dtype` says otherwise; integer and bool data keep their dtype and
    cannot require gradients.
    """

    __slots__ = ("data", "grad", "requires_grad", "_backward", "_parents", "_op", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of numpy

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only float tensors can require gradients, this one is {self.data.dtype}: "
                "pass floats or dtype=np.float32"
            )
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._backward = None
        self._parents = ()
        self._op = ""

    # --- graph building -------------------------------------------------------------

    @staticmethod
    def _from_op(data: np.ndarray, parents: tuple, op: str) -> "Tensor":
        """The output of an op: it needs a gradient if any input does (and grad is enabled)."""
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out._op = op
        out._backward = None
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
        else:
            out.requires_grad = False
            out._parents = ()
        return out

    def _with_backward(self, backward) -> "Tensor":
        """Attach an op's backward closure, only if this output will need a gradient."""
        if self.requires_grad:
            self._backward = backward
        return self

    def _accumulate(self, grad) -> None:
        """Add `grad` into self.grad: reduced to self's shape, in self's dtype, out of place."""
        if not self.requires_grad:
            return
        grad = np.asarray(grad)
        if grad.shape != self.data.shape:
            grad = _unbroadcast(grad, self.data.shape)
        if grad.dtype != self.data.dtype:
            grad = grad.astype(self.data.dtype)
        if self.grad is None:
            # A leaf keeps its own copy: the same array may have gone to another input too.
            self.grad = grad if self._parents else np.array(grad, copy=True)
        else:
            self.grad = self.grad + grad

    def backward(self, grad=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding into `.grad`."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: was it computed "
                "inside no_grad(), or from tensors created without requires_grad=True?"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar, but this tensor has shape "
                    f"{self.shape}: reduce it first (e.g. loss = out.sum() or out.mean()), "
                    "or pass grad= an array of the same shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = _to_array(grad, self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(f"backward(grad): grad has shape {grad.shape}, tensor has {self.shape}")

        order = self._topological_order()
        for node in order:  # intermediate grads from an earlier backward() would double-count
            if node._parents:
                node.grad = None
        if self._parents:
            self.grad = grad
        else:
            self._accumulate(grad)
        try:
            for node in reversed(order):
                if node._backward is not None and node.grad is not None:
                    node._backward(node.grad)
                    if node._parents and node is not self:
                        # Its gradient has been passed on to its inputs: free it now rather than at
                        # the end, as PyTorch does for non-leaf tensors. A GPT step's peak memory
                        # drops by a quarter (82 -> 62 MiB at the nanoGPT shape) and the step is faster.
                        node.grad = None
        finally:
            kernels.settle()  # weight gradients still being computed on the browser's helper thread

    def _topological_order(self) -> list:
        """Every node that leads to self, inputs before outputs (iterative: no recursion limit)."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
        return order

    # --- plain accessors ------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """Same data, cut from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, threshold=50, prefix="tensor(")
        extras = []
        if self.data.dtype != _default_dtype or self.data.dtype.kind != "f":
            extras.append(f"dtype={self.data.dtype}")
        if self._op:
            extras.append(f"op={self._op!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __setitem__(self, index, value):
        raise TypeError(
            "tensors cannot be changed in place (autograd would silently go wrong): build a new "
            "tensor, e.g. with masked_fill(mask, value), or change .data outside the graph"
        )

    # --- elementwise arithmetic (broadcasting; _accumulate reduces grads back) --------

    def __add__(self, other):
        other = as_tensor(other, like=self)
        out = Tensor._from_op(self.data + other.data, (self, other), "+")

        def _backward(grad):
            self._accumulate(grad)
            other._accumulate(grad)

        return out._with_backward(_backward)

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = as_tensor(other, like=self)
        out = Tensor._from_op(self.data - other.data, (self, other), "-")

        def _backward(grad):
            self._accumulate(grad)
            if other.requires_grad:
                other._accumulate(-grad)

        return out._with_backward(_backward)

    def __rsub__(self, other):
        return as_tensor(other, like=self) - self

    def __mul__(self, other):
        other = as_tensor(other, like=self)
        out = Tensor._from_op(self.data * other.data, (self, other), "*")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad * other.data)
            if other.requires_grad:
                other._accumulate(grad * self.data)

        return out._with_backward(_backward)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = as_tensor(other, like=self)
        out = Tensor._from_op(self.data / other.data, (self, other), "/")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad / other.data)
            if other.requires_grad:
                other._accumulate(-grad * self.data / (other.data * other.data))

        return out._with_backward(_backward)

    def __rtruediv__(self, other):
        return as_tensor(other, like=self) / self

    def __neg__(self):
        out = Tensor._from_op(-self.data, (self,), "neg")

        def _backward(grad):
            self._accumulate(-grad)

        return out._with_backward(_backward)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            raise TypeError("tensor ** tensor is not supported: use (b.log() * e).exp() for a learned exponent")
        p = float(exponent)
        x = self.data
        out = Tensor._from_op(x * x if p == 2 else x**p, (self,), f"**{exponent}")

        def _backward(grad):
            local = 2 * x if p == 2 else p * x ** (p - 1)
            self._accumulate(grad * local)

        return out._with_backward(_backward)

    def __rpow__(self, base):
        y = np.asarray(base, dtype=self.dtype) ** self.data
        out = Tensor._from_op(y, (self,), "rpow")

        def _backward(grad):
            self._accumulate(grad * y * np.log(np.asarray(base, dtype=self.dtype)))

        return out._with_backward(_backward)

    # --- matrix product ---------------------------------------------------------------

    def __matmul__(self, other):
        other = as_tensor(other, like=self)
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
        if a.ndim == 1:  # vector @ matrix: treat as a one-row matrix
            return (self.reshape(1, -1) @ other).reshape(*b.shape[:-2], b.shape[-1])
        if b.ndim == 1:  # matrix @ vector: treat as a one-column matrix
            return (self @ other.reshape(-1, 1)).reshape(*a.shape[:-1])
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape} — the last dim of the left "
                f"({a.shape[-1]}) must equal the second-to-last dim of the right ({b.shape[-2]})"
            )

        if b.ndim == 2:  # (..., K) @ (K, N): one flattened 2-D product (the Linear case)
            out = Tensor._from_op(kernels.matmul(a, b), (self, other), "@")

            def _backward(grad):
                if self.requires_grad:
                    self._accumulate(kernels.matmul_nt(grad, b))
                if other.requires_grad:
                    other._accumulate(kernels.matmul_tn(a, grad))

            return out._with_backward(_backward)

        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul batch dims do not match: {a.shape} @ {b.shape} — the leading (batch) dims "
                f"{a.shape[:-2]} and {b.shape[:-2]} must be equal or 1 (broadcastable)"
            ) from None
        out = Tensor._from_op(kernels.bmm(a, b), (self, other), "@")

        def _backward_batched(grad):
            if self.requires_grad:
                self._accumulate(kernels.bmm_nt(grad, b))
            if other.requires_grad:
                other._accumulate(kernels.bmm_tn(a, grad))

        return out._with_backward(_backward_batched)

    def __rmatmul__(self, other):
        return as_tensor(other, like=self) @ self

    # --- reductions --------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        """Sum over `axis` (int, tuple or None for all)."""
        axes = axes_tuple(axis, self.ndim, "sum")
        out = Tensor._from_op(np.sum(self.data, axis=axes, keepdims=keepdims), (self,), "sum")
        shape = self.shape

        def _backward(grad):
            if not keepdims:
                grad = np.expand_dims(grad, axes)
            self._accumulate(np.broadcast_to(grad, shape))

        return out._with_backward(_backward)

    def mean(self, axis=None, keepdims=False):
        """Mean over `axis` (int, tuple or None for all)."""
        axes = axes_tuple(axis, self.ndim, "mean")
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def max(self, axis=None, keepdims=False):
        """Maximum over `axis`; the gradient is shared equally between tied maxima."""
        axes = axes_tuple(axis, self.ndim, "max")
        _check_not_empty(self.shape, axes, "max")
        top = np.max(self.data, axis=axes, keepdims=True)
        out = Tensor._from_op(top if keepdims else np.squeeze(top, axis=axes), (self,), "max")
        x = self.data

        def _backward(grad):
            if not keepdims:
                grad = np.expand_dims(grad, axes)
            winners = x == top
            self._accumulate(grad * winners / winners.sum(axis=axes, keepdims=True))

        return out._with_backward(_backward)

    def min(self, axis=None, keepdims=False):
        """Minimum over `axis` (int, tuple or None for all)."""
        axes_tuple(axis, self.ndim, "min")  # name min, not max, in an axis error
        return -((-self).max(axis=axis, keepdims=keepdims))

    # --- shape ---------------------------------------------------------------------------

    def reshape(self, *shape):
        """Same data, new shape (one dim may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        old = self.shape
        try:
            data = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {old} ({self.size} elements) into {shape}") from None
        out = Tensor._from_op(data, (self,), "reshape")

        def _backward(grad):
            self._accumulate(grad.reshape(old))

        return out._with_backward(_backward)

    view = reshape

    def permute(self, *axes):
        """Reorder all dims: permute(0, 2, 1, 3)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) != self.ndim:
            raise ValueError(f"permute needs each of the {self.ndim} dims once, got {axes}")
        axes = tuple(axis_index(a, self.ndim, "permute") for a in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute needs each of the {self.ndim} dims once, got {axes}")
        inverse = np.argsort(axes)
        out = Tensor._from_op(self.data.transpose(axes), (self,), "permute")

        def _backward(grad):
            self._accumulate(grad.transpose(inverse))

        return out._with_backward(_backward)

    def transpose(self, *axes):
        """transpose() reverses dims; transpose(d0, d1) swaps two dims (as in PyTorch);
        transpose(*all_dims) permutes (as in numpy, when more than two dims are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            return self.permute(*reversed(range(self.ndim)))
        if len(axes) == 2:
            order = list(range(self.ndim))
            d0, d1 = (axis_index(a, self.ndim, "transpose") for a in axes)
            order[d0], order[d1] = order[d1], order[d0]
            return self.permute(*order)
        return self.permute(*axes)

    @property
    def T(self):
        return self.transpose()

    def __getitem__(self, index):
        """Indexing with ints, slices, None, and integer/bool arrays (gather; the backward
        scatter-adds, so repeated indices each get their gradient)."""
        index = _index_arrays(index)
        out = Tensor._from_op(self.data[index], (self,), "index")
        shape, dtype, advanced = self.shape, self.dtype, _has_advanced_index(index)

        def _backward(grad):
            full = np.zeros(shape, dtype=dtype)
            if advanced:
                np.add.at(full, index, grad)
            else:
                full[index] = grad
            self._accumulate(full)

        return out._with_backward(_backward)

    def split(self, sizes, axis=0):
        """Split into pieces along `axis`: an int n gives n equal pieces, a list gives sizes."""
        axis = axis_index(axis, self.ndim, "split")
        length = self.shape[axis]
        if isinstance(sizes, (int, np.integer)):
            if length % sizes:
                raise ValueError(f"cannot split dim {axis} of size {length} into {sizes} equal pieces")
            sizes = [length // sizes] * int(sizes)
        if sum(sizes) != length:
            raise ValueError(f"split sizes {list(sizes)} add up to {sum(sizes)}, but dim {axis} has size {length}")
        pieces, start = [], 0
        for size in sizes:
            index = [slice(None)] * self.ndim
            index[axis] = slice(start, start + size)
            pieces.append(self[tuple(index)])
            start += size
        return pieces

    def astype(self, dtype):
        """A differentiable cast to another float dtype."""
        source = self.dtype
        out = Tensor._from_op(self.data.astype(dtype), (self,), "astype")

        def _backward(grad):
            self._accumulate(grad.astype(source))

        return out._with_backward(_backward)

    # --- elementwise functions -----------------------------------------------------

    def exp(self):
        y = np.exp(self.data)
        out = Tensor._from_op(y, (self,), "exp")

        def _backward(grad):
            self._accumulate(grad * y)

        return out._with_backward(_backward)

    def log(self):
        x = self.data
        out = Tensor._from_op(np.log(x), (self,), "log")

        def _backward(grad):
            self._accumulate(grad / x)

        return out._with_backward(_backward)

    def sqrt(self):
        y = np.sqrt(self.data)
        out = Tensor._from_op(y, (self,), "sqrt")

        def _backward(grad):
            self._accumulate(grad * 0.5 / y)

        return out._with_backward(_backward)

    def tanh(self):
        y = np.tanh(self.data)
        out = Tensor._from_op(y, (self,), "tanh")

        def _backward(grad):
            self._accumulate(grad * (1 - y * y))

        return out._with_backward(_backward)

    def sigmoid(self):
        # Written with tanh: stable for large |x| and no overflow warning from exp.
        y = 0.5 * (1 + np.tanh(0.5 * self.data))
        out = Tensor._from_op(y, (self,), "sigmoid")

        def _backward(grad):
            self._accumulate(grad * y * (1 - y))

        return out._with_backward(_backward)

    def relu(self):
        x = self.data
        out = Tensor._from_op(np.maximum(x, 0), (self,), "relu")

        def _backward(grad):
            self._accumulate(grad * (x > 0))

        return out._with_backward(_backward)

    def gelu(self):
        """GELU, tanh form (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

        Computed through the identity 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + exp(-2u)): the
        same function, but in the browser (numpy compiled to wasm) `exp` costs a third of `tanh`
        per element, and that made GELU 1.8x faster there (benchmarks/README.md). Written as
        in-place updates of fresh buffers: on the MLP's (B*T, 4C) arrays each `a * b` would
        allocate a MiB-sized temporary, and those allocations cost more than the arithmetic.
        """
        if self.dtype.kind != "f":
            raise TypeError(f"expected a float tensor, got dtype {self.dtype}")
        x = self.data  # an array, so the lines read like the formulas
        if kernels.fused(x):  # Pyodide: the same formulas in one SIMD pass (tinytorch/wasm)
            y, s = elementwise.gelu_forward(x)
        else:
            # s = sigmoid(2u) = 1 / (1 + exp(-2 sqrt(2/pi) x (1 + 0.044715 x^2)));  y = x * s
            y = x * x
            y *= 0.044715
            y += 1.0
            s = x * (-2.0 * _GELU_C)
            s *= y
            with np.errstate(over="ignore"):  # exp overflows to inf for x << 0, and then s = 1 / inf = 0: right
                np.exp(s, out=s)
            s += 1.0
            np.reciprocal(s, out=s)
            np.multiply(x, s, out=y)
        out = Tensor._from_op(y, (self,), "gelu")

        def _backward(grad):
            if kernels.fused(x, s, grad):
                self._accumulate(elementwise.gelu_backward(x, s, grad))
                return
            # local = s + x * s * (1 - s) * 2 sqrt(2/pi) * (1 + 3 * 0.044715 * x^2)
            scratch = 1.0 - s
            scratch *= s
            scratch *= x
            local = x * x
            local *= 3 * 0.044715 * 2.0 * _GELU_C
            local += 2.0 * _GELU_C
            local *= scratch
            local += s
            local *= grad
            self._accumulate(local)

        return out._with_backward(_backward)

    def softmax(self, axis=-1):
        """Stable softmax along `axis` (the max is subtracted first)."""
        axis = axis_index(axis, self.ndim, "softmax")
        _check_not_empty(self.shape, (axis,), "softmax")
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        s = e / e.sum(axis=axis, keepdims=True)
        out = Tensor._from_op(s, (self,), "softmax")

        def _backward(grad):
            self._accumulate(s * (grad - (grad * s).sum(axis=axis, keepdims=True)))

        return out._with_backward(_backward)

    def log_softmax(self, axis=-1):
        """Stable log-softmax along `axis`."""
        axis = axis_index(axis, self.ndim, "log_softmax")
        _check_not_empty(self.shape, (axis,), "log_softmax")
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        out = Tensor._from_op(y, (self,), "log_softmax")

        def _backward(grad):
            self._accumulate(grad - np.exp(y) * grad.sum(axis=axis, keepdims=True))

        return out._with_backward(_backward)

    def masked_fill(self, mask, value):
        """Replace entries where `mask` is True by `value` (e.g. -inf above the causal diagonal)."""
        mask = tensor_data(mask.data if isinstance(mask, Tensor) else mask)
        if mask.dtype != bool:  # 0/1 numbers are a mask; anything else would be silently cast to True
            odd = mask[(mask != 0) & (mask != 1)]
            if odd.size:
                raise ValueError(
                    f"masked_fill: the mask must be booleans (True where to fill) or 0/1, got the value "
                    f"{odd.reshape(-1)[0].item()!r} (dtype {mask.dtype})"
                )
            mask = mask.astype(bool)
        try:
            data = np.where(mask, np.asarray(value, dtype=self.dtype), self.data)
        except ValueError:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {self.shape}") from None
        if data.shape != self.shape:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} would grow the tensor of shape {self.shape}")
        out = Tensor._from_op(data, (self,), "masked_fill")

        def _backward(grad):
            self._accumulate(np.where(mask, 0, grad))

        return out._with_backward(_backward)


# ----------------------------------------------------------------------------- joining


def tensor(data, requires_grad=False, dtype=None) -> Tensor:
    """Same as Tensor(...), as in torch.tensor."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def cat(tensors, axis=0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    ndims = {t.ndim for t in tensors}
    if len(ndims) != 1:
        raise ValueError(f"cat needs tensors with the same number of dims, got shapes {[t.shape for t in tensors]}")
    axis = axis_index(axis, tensors[0].ndim, "cat")
    try:
        data = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"cat along axis {axis}: shapes {[t.shape for t in tensors]} differ off that axis") from None
    out = Tensor._from_op(data, tuple(tensors), "cat")
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def _backward(grad):
        for t, piece in zip(tensors, np.split(grad, bounds, axis=axis)):
            t._accumulate(piece)

    return out._with_backward(_backward)


def stack(tensors, axis=0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {[t.shape for t in tensors]}")
    axis = axis_index(axis, tensors[0].ndim + 1, "stack (the result has one more dim)")
    out = Tensor._from_op(np.stack([t.data for t in tensors], axis=axis), tuple(tensors), "stack")

    def _backward(grad):
        for i, t in enumerate(tensors):
            t._accumulate(np.take(grad, i, axis=axis))

    return out._with_backward(_backward)
