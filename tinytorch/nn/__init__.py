"""Neural-network building blocks, PyTorch-shaped."""

from . import functional
from .attention import KVCache, MultiHeadAttention, SelfAttention, causal_mask
from .layers import GELU, Dense, Dropout, Embedding, LayerNorm, Linear, ReLU, Sequential, Tanh
from .module import Module, ModuleList, Parameter, eval_mode
from .positional import PositionalEncoding, sinusoidal_positions
from .transformer import MLP, TransformerBlock
