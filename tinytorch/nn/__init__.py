"""Neural-network building blocks, PyTorch-shaped."""

from .module import Module, ModuleList, Parameter, eval_mode
from .layers import GELU, Dense, Dropout, Embedding, LayerNorm, Linear, ReLU, Sequential, Tanh
from . import functional
from .positional import PositionalEncoding, sinusoidal_positions
from .attention import KVCache, MultiHeadAttention, SelfAttention, causal_mask
from .transformer import MLP, TransformerBlock
