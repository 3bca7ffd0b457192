"""The transformer block: attention to mix information between tokens, an MLP to think per token.

Pre-LayerNorm, as in GPT-2 and nanoGPT:

    x = x + attn(ln1(x))        tokens talk to each other
    x = x + mlp(ln2(x))         each token computes on what it gathered

The residual `x + ...` gives gradients a straight path from the loss to every layer, and
LayerNorm keeps each sublayer's input at a sane scale; without them a deep stack trains
slowly or not at all. Both can be switched off (`residual=False`, `layer_norm=False`) so
the course can *measure* what they buy (the loss ladder).
"""

from ..tensor import Tensor
from ..validation import check_allocation, positive_int, real_number
from . import functional as F
from .attention import KVCache, MultiHeadAttention
from .layers import Dropout, LayerNorm, Linear
from .module import Module

# GPT-2's and GPT-3's MLP hidden width, in units of d_model (the default here; TinyGPTConfig.mlp_ratio changes it).
GPT_MLP_RATIO = 4


class MLP(Module):
    """Position-wise feed-forward network: x (B, T, C) -> (B, T, C).

    MLP(d_model, dropout=0.0, hidden=4 * d_model):
        Linear(C, 4C) -> GELU (tanh form) -> Linear(4C, C) -> dropout
    The same weights apply to every token independently; the 4x wider hidden layer is
    where most of a GPT's parameters live.
    """

    def __init__(self, d_model: int, dropout: float = 0.0, hidden: int = None):
        super().__init__()
        self.d_model = positive_int(d_model, "MLP: d_model")
        self.hidden = GPT_MLP_RATIO * self.d_model if hidden is None else positive_int(hidden, "MLP: hidden")
        self.dropout = real_number(dropout, "MLP: dropout", minimum=0.0, below=1.0)
        sizes = {"d_model": self.d_model} if hidden is None else {"d_model": self.d_model, "hidden": self.hidden}
        check_allocation("MLP", sizes, (self.d_model, self.hidden), what="each layer's weight")
        self.fc = Linear(self.d_model, self.hidden)
        self.proj = Linear(self.hidden, self.d_model)
        self.drop = Dropout(self.dropout)

    def forward(self, x) -> Tensor:
        """x (B, T, C) -> (B, T, C)."""
        out = self.proj(F.gelu(self.fc(x)))
        if self.training and self.dropout > 0.0:
            out = self.drop(out)
        return out

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, hidden={self.hidden}, dropout={self.dropout}"


class TransformerBlock(Module):
    """One pre-LN transformer block: x (B, T, C) -> (B, T, C).

    TransformerBlock(d_model, num_heads, dropout=0.0, residual=True, layer_norm=True, mlp_hidden=None)

        x = x + attn(ln1(x))
        x = x + mlp(ln2(x))

    With residual=False the additions are dropped (x = attn(ln1(x)); x = mlp(ln2(x))); with
    layer_norm=False there are no ln1/ln2 modules at all. Both exist for the loss ladder:
    train with and without them and compare. `mlp_hidden` is the MLP's hidden width (GPT's
    4 * d_model when None).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        residual: bool = True,
        layer_norm: bool = True,
        mlp_hidden: int = None,
    ):
        super().__init__()
        self.d_model = positive_int(d_model, "TransformerBlock: d_model")
        self.num_heads = positive_int(num_heads, "TransformerBlock: num_heads")
        self.residual, self.layer_norm = bool(residual), bool(layer_norm)
        # Checked here, before any layer is built, so a refusal names this block's own arguments.
        if mlp_hidden is None:
            sizes, hidden = {"d_model": self.d_model}, GPT_MLP_RATIO * self.d_model
        else:
            hidden = mlp_hidden = positive_int(mlp_hidden, "TransformerBlock: mlp_hidden")
            sizes = {"d_model": self.d_model, "mlp_hidden": mlp_hidden}
        check_allocation(
            "TransformerBlock", sizes, (self.d_model, max(3 * self.d_model, hidden)), what="its largest weight"
        )
        if self.layer_norm:
            self.ln1 = LayerNorm(self.d_model)
        self.attn = MultiHeadAttention(self.d_model, self.num_heads, dropout=dropout)
        if self.layer_norm:
            self.ln2 = LayerNorm(self.d_model)
        self.mlp = MLP(self.d_model, dropout=dropout, hidden=mlp_hidden)

    def forward(self, x, cache: KVCache = None) -> Tensor:
        """x (B, T, C) -> (B, T, C). `cache` (generation only) is passed to the attention."""
        h = self.attn(self.ln1(x) if self.layer_norm else x, cache=cache)
        x = x + h if self.residual else h
        h = self.mlp(self.ln2(x) if self.layer_norm else x)
        return x + h if self.residual else h

    def extra_repr(self) -> str:
        flags = "" if self.residual and self.layer_norm else f", residual={self.residual}, layer_norm={self.layer_norm}"
        if self.mlp.hidden != GPT_MLP_RATIO * self.d_model:
            flags += f", mlp_hidden={self.mlp.hidden}"
        return f"d_model={self.d_model}, num_heads={self.num_heads}{flags}"
