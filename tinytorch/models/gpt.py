"""TinyGPT: a character-level GPT, the model the course trains on Shakespeare.

Data flows top to bottom (as in nanoGPT's model.py):

    idx (B, T) int ids
    x = token_embedding[idx] + positions[:T]        (B, T, C)   learned (default) or sinusoidal
    x = dropout(x)
    x = block(x)  n_layer times                     (B, T, C)   pre-LN attention + MLP, residuals
    x = ln_f(x)                                     (B, T, C)
    logits = x @ W_head                             (B, T, V)   Linear(C, V, bias=False)

`TinyGPTConfig` holds the shape; `TinyGPT(config)(idx)` returns logits, `model(idx, targets)`
returns (logits, loss). `generate(...)` samples new tokens with a key/value cache.
"""

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..nn import functional as F
from ..nn.attention import KVCache
from ..nn.layers import Dropout, Embedding, LayerNorm, Linear
from ..nn.module import Module, ModuleList, eval_mode
from ..nn.positional import PositionalEncoding
from ..nn.transformer import GPT_MLP_RATIO, TransformerBlock
from ..rng import rng
from ..tensor import Tensor, get_default_dtype, no_grad
from ..validation import allocating, check_allocation, positive_int, real_number, token_ids
from .generation import check_finite_weights, check_sampling, generate_text, output_ids, sample_next, sampling_generator

POSITION_KINDS = ("learned", "sinusoidal")


@dataclass
class TinyGPTConfig:
    """The shape of a TinyGPT. Defaults are nanoGPT's CPU Shakespeare config.

    vocab_size   number of distinct tokens (65 characters in Shakespeare)
    block_size   longest context the model sees (and the number of learned positions)
    n_layer      transformer blocks
    n_head       attention heads per block (must divide n_embd)
    n_embd       channels C of every token vector
    dropout      dropout probability while training (0 for small models and benchmarks)
    positions    "learned" (an Embedding(block_size, C)) or "sinusoidal" (fixed table)
    tie_weights  share the token embedding with the output head (logits = x @ wte^T)
    residual, layer_norm   switch the residual connections / LayerNorms off, for the loss ladder
    mlp_ratio    the MLP's hidden width in units of n_embd (GPT's 4; the browser preset's 3)
    init_std     spread of the initial weights (GPT-2's 0.02, chosen for 768 channels; narrower
                 models learn sooner from a wider start, see the browser preset)

    Sizes whose weights cannot be allocated (one weight, or all parameters together, over
    tinytorch.validation.MAX_ARRAY_BYTES) are refused here, naming the fields to make smaller.
    """

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    positions: str = "learned"
    tie_weights: bool = False
    residual: bool = True
    layer_norm: bool = True
    mlp_ratio: int = GPT_MLP_RATIO
    init_std: float = 0.02

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "mlp_ratio"):
            setattr(self, name, positive_int(getattr(self, name), f"TinyGPTConfig.{name}"))
        if self.n_embd % self.n_head:
            raise ValueError(
                f"TinyGPTConfig: n_head={self.n_head} does not divide n_embd={self.n_embd} "
                "(each head gets n_embd / n_head channels): change one of them"
            )
        self.dropout = real_number(self.dropout, "TinyGPTConfig.dropout", minimum=0.0, below=1.0)
        self.init_std = real_number(self.init_std, "TinyGPTConfig.init_std", above=0.0)
        if self.positions not in POSITION_KINDS:
            raise ValueError(f"TinyGPTConfig.positions must be one of {POSITION_KINDS}, got {self.positions!r}")

    def check_memory(self) -> None:
        """Refuse sizes whose weights cannot be allocated, before any layer is built: each weight
        (initialised in float64) and all parameters together (in the default dtype; training holds
        about 4x that, with the gradients and Adam's two moments)."""
        C, V, T, hidden = self.n_embd, self.vocab_size, self.block_size, self.mlp_ratio * self.n_embd
        who = "TinyGPTConfig"
        check_allocation(who, {"vocab_size": V, "n_embd": C}, (V, C), what="the token embedding")
        check_allocation(who, {"block_size": T, "n_embd": C}, (T, C), what="the position table")
        check_allocation(who, {"n_embd": C}, (C, 3 * C), what="each block's q, k, v weight")
        check_allocation(who, {"n_embd": C, "mlp_ratio": self.mlp_ratio}, (C, hidden), what="each MLP weight")
        sizes = {"n_layer": self.n_layer, "n_embd": C, "vocab_size": V, "block_size": T, "mlp_ratio": self.mlp_ratio}
        check_allocation(who, sizes, self._parameter_count(), get_default_dtype(), "all parameters together")

    def _parameter_count(self) -> int:
        """How many parameters a TinyGPT of this shape has (TinyGPT(config).num_parameters()),
        computed from the sizes alone: nothing is allocated."""
        C, V, hidden = self.n_embd, self.vocab_size, self.mlp_ratio * self.n_embd
        norms = 2 * C if self.layer_norm else 0  # one LayerNorm: weight and bias
        block = 2 * norms + (C * 3 * C + 3 * C) + (C * C + C) + (C * hidden + hidden) + (hidden * C + C)
        positions = self.block_size * C if self.positions == "learned" else 0
        head = 0 if self.tie_weights else C * V
        return V * C + positions + self.n_layer * block + norms + head

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON-friendly), e.g. to store beside a checkpoint."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> "TinyGPTConfig":
        """Inverse of to_dict; unknown keys are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"TinyGPTConfig has no field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**fields)

    def differences(self, other: "TinyGPTConfig") -> list:
        """Human-readable list of the fields that differ, e.g. ["n_layer: 2 here vs 4 there"]."""
        return [
            f"{f.name}: {getattr(self, f.name)!r} here vs {getattr(other, f.name)!r} there"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


class TinyGPT(Module):
    """A GPT language model: token ids (B, T) -> next-token logits (B, T, vocab_size).

    TinyGPT(config) builds the layers and initialises them GPT-2 style: every weight from
    N(0, init_std) (GPT-2's 0.02 unless the config says otherwise), biases 0, LayerNorm weights
    1, and the two projections that write into the residual stream (attn.proj, mlp.proj) from
    N(0, init_std / sqrt(2 * n_layer)) so the stream's variance does not grow with depth. That
    recipe relies on LayerNorm and residuals: the small weights are harmless only because
    LayerNorm rescales every sublayer's input. With `residual=False` or `layer_norm=False`
    (the loss ladder) the layers keep their own scale-preserving defaults instead (Linear
    U(+-1/sqrt(in)), Embedding N(0, 1)), or the signal would shrink ~6x per layer and such a
    model would not learn at all.
    All randomness comes from tinytorch.rng.rng(): `tinytorch.manual_seed(0)` before
    building gives the same model every time.
    """

    def __init__(self, config: TinyGPTConfig):
        super().__init__()
        if not isinstance(config, TinyGPTConfig):
            raise TypeError(f"TinyGPT needs a TinyGPTConfig, got {type(config).__name__}")
        # A config only describes a model (GPT-3's is one, for its arithmetic); building one is what allocates.
        config.check_memory()
        self.config = config
        C = config.n_embd
        # Sizes that cannot fit were refused just above; this names the fields if memory runs out anyway.
        sizes = {"n_layer": config.n_layer, "n_embd": C, "vocab_size": config.vocab_size}
        with allocating("TinyGPT", sizes, config._parameter_count(), get_default_dtype(), "all parameters together"):
            self.token_embedding = Embedding(config.vocab_size, C)
            if config.positions == "learned":
                self.position_embedding = Embedding(config.block_size, C)
            else:
                self.position_encoding = PositionalEncoding(C, config.block_size)
            self.drop = Dropout(config.dropout)
            self.blocks = ModuleList(
                TransformerBlock(
                    C,
                    config.n_head,
                    config.dropout,
                    residual=config.residual,
                    layer_norm=config.layer_norm,
                    mlp_hidden=config.mlp_ratio * C,
                )
                for _ in range(config.n_layer)
            )
            if config.layer_norm:
                self.ln_f = LayerNorm(C)
            if not config.tie_weights:
                self.lm_head = Linear(C, config.vocab_size, bias=False)
            if config.residual and config.layer_norm:
                self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2 initialisation (see the class docstring)."""
        generator = rng()

        def normal(param, std):
            param.data = (std * generator.standard_normal(param.shape)).astype(param.dtype)

        std = self.config.init_std
        residual_std = std / math.sqrt(2 * self.config.n_layer)
        normal(self.token_embedding.weight, std)
        if self.config.positions == "learned":
            normal(self.position_embedding.weight, std)
        for block in self.blocks:
            for linear, s in (
                (block.attn.qkv, std),
                (block.attn.proj, residual_std),
                (block.mlp.fc, std),
                (block.mlp.proj, residual_std),
            ):
                normal(linear.weight, s)
                linear.bias.data = np.zeros_like(linear.bias.data)
        if not self.config.tie_weights:
            normal(self.lm_head.weight, std)
        # LayerNorm modules start at weight 1, bias 0 already.

    # ------------------------------------------------------------------ forward

    def forward(self, idx, targets=None):
        """idx (B, T) int ids (numpy or Tensor) -> logits Tensor (B, T, vocab_size).

        With `targets` (B, T) ints, returns (logits, loss) where loss is the mean
        cross-entropy of predicting targets[b, t] from idx[b, :t+1].
        """
        ids = self._token_ids(idx)
        B, T = ids.shape
        self._check_batch(B, T, {"idx's rows B": B, "its length T": T}, "TinyGPT")
        logits = self._logits(self._hidden(ids))
        if targets is None:
            return logits
        targets = token_ids(targets, self.config.vocab_size, "TinyGPT targets", ndims=(2,))
        if targets.shape != ids.shape:
            raise ValueError(f"targets have shape {targets.shape} but idx has {ids.shape}: they must match")
        return logits, F.cross_entropy(logits, targets)

    def _check_batch(self, B: int, T: int, sizes: dict, who: str) -> None:
        """Refuse a batch (B, T) whose activations cannot be allocated, naming `sizes` (a few
        integer operations: every forward and the trainer call it)."""
        c, dtype = self.config, self.token_embedding.weight.dtype
        check_allocation(who, sizes, (B, c.n_head, T, T), dtype, "each layer's attention weights")
        check_allocation(who, sizes, (B, T, c.mlp_ratio * c.n_embd), dtype, "each MLP's hidden layer")
        check_allocation(who, sizes, (B, T, c.vocab_size), dtype, "the logits")

    def _token_ids(self, idx, allow_1d=False) -> np.ndarray:
        ids = token_ids(idx, self.config.vocab_size, "TinyGPT", ndims=(1, 2) if allow_1d else (2,))
        if ids.shape[-1] == 0:
            raise ValueError(
                f"TinyGPT: the sequence is empty (ids of shape {ids.shape}): pass at least one token, "
                "e.g. the id of '\\n'"
            )
        block_size = self.config.block_size
        if ids.shape[-1] > block_size:
            raise ValueError(
                f"sequence of {ids.shape[-1]} tokens is longer than block_size={block_size} (the "
                f"model has positions 0..{block_size - 1} only): crop it, e.g. idx[:, -{block_size}:]"
            )
        return ids

    def _hidden(self, ids: np.ndarray, caches=None) -> Tensor:
        """ids (B, T) -> final hidden states (B, T, C), after ln_f. `caches`: one KVCache per block."""
        T = ids.shape[1]
        start = caches[0].length if caches else 0
        if start + T > self.config.block_size:
            raise ValueError(
                f"{start} cached + {T} new tokens exceed block_size={self.config.block_size}: reset the caches"
            )
        x = self.token_embedding(ids)
        if self.config.positions == "learned":
            x = x + self.position_embedding.weight[start : start + T]  # (T, C) broadcast over B
        else:
            x = self.position_encoding(x, start=start)
        if self.training and self.config.dropout > 0.0:
            x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, cache=caches[i] if caches else None)
        return self.ln_f(x) if self.config.layer_norm else x

    def _logits(self, x: Tensor) -> Tensor:
        """x (..., C) -> logits (..., V)."""
        if self.config.tie_weights:
            return x @ self.token_embedding.weight.T
        return self.lm_head(x)

    # ------------------------------------------------------------------ inspection

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Number of trainable numbers; non_embedding=True leaves out the position embedding
        (and the token embedding unless it is tied to the head), as in nanoGPT's count."""
        total = sum(p.data.size for p in self.parameters())
        if non_embedding:
            if self.config.positions == "learned":
                total -= self.position_embedding.weight.data.size
            if not self.config.tie_weights:
                total -= self.token_embedding.weight.data.size
        return total

    def attention_maps(self, idx) -> np.ndarray:
        """Attention weights of every layer and head for one sequence: (n_layer, n_head, T, T).

        idx: (T,) or (1, T) token ids. Runs in eval mode (no dropout) without building a graph;
        row i of each map says how much token i looked at each earlier token.
        """
        ids = self._token_ids(idx, allow_1d=True)
        if ids.ndim == 2 and ids.shape[0] != 1:
            raise ValueError(f"attention_maps takes one sequence, (T,) or (1, T); got shape {ids.shape}")
        ids = ids.reshape(1, -1)
        with no_grad(), eval_mode(self):
            self._hidden(ids)
        return np.stack([block.attn.attention_weights[0] for block in self.blocks])

    def configure_optimizers(self, weight_decay: float = 0.1, lr: float = 1e-3, betas=(0.9, 0.99), learning_rate=None):
        """An AdamW with nanoGPT's weight-decay split: returns tinytorch.optim.AdamW.

        Every parameter with 2 or more dims decays: the Linear weights of attention, MLP and
        head, and the token and position embeddings (nanoGPT's rule: "all weight tensors in
        matmuls + embeddings decay"). Parameters with 1 dim do not: biases and LayerNorm
        weights and biases, where shrinking towards 0 only hurts. (minGPT also spared the
        embeddings; nanoGPT's simpler dims rule is kept here.)

            optimizer = model.configure_optimizers(weight_decay=0.1, lr=1e-3, betas=(0.9, 0.99))

        (`learning_rate=`, the old name of lr, still works.)
        """
        from ..optim import AdamW  # late: models do not need optim at import time

        if learning_rate is not None:
            warnings.warn("configure_optimizers: learning_rate= is now lr=", DeprecationWarning, stacklevel=2)
            lr = learning_rate

        decay = [p for p in self.parameters() if p.ndim >= 2]
        no_decay = [p for p in self.parameters() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return AdamW([g for g in groups if g["params"]], lr=lr, betas=betas)

    # ------------------------------------------------------------------ generation

    def generate(
        self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int = None, seed=None, use_cache: bool = True
    ):
        """Sample `max_new_tokens` tokens after idx; returns idx followed by them.

        idx: (B, T) or (T,) int ids (numpy, list or Tensor; the result has the same kind and
        number of dims). temperature: < 1 safer, > 1 wilder, 0 greedy. top_k: sample only among
        the k most likely tokens. seed: same seed -> same tokens (the global generator is not
        touched); None draws from tinytorch.rng.rng(). Runs in eval mode without a graph.

        Context window: the model sees at most block_size tokens. When the text outgrows it,
        the context restarts from the last 3/4 * block_size tokens and grows again. With the
        key/value cache (use_cache=True) each new token is one pass of a single token through
        the network, O(T) in attention, and a restart costs one pass of the kept tokens;
        use_cache=False recomputes the same windows from scratch and gives the same tokens.
        """
        check_sampling(max_new_tokens, temperature, top_k)
        check_finite_weights(self, "TinyGPT.generate")
        ids = token_ids(idx, self.config.vocab_size, "TinyGPT.generate", ndims=(1, 2))
        one_dim = ids.ndim == 1
        ids = ids.reshape(1, -1) if one_dim else ids
        B, T0 = ids.shape
        if T0 == 0:
            raise ValueError("generate needs at least one token to start from (e.g. the id of '\\n')")
        generator = sampling_generator(seed)
        block = self.config.block_size
        # The first pass (the prompt, up to block_size tokens) and each layer's key/value cache are
        # refused now, naming the prompt's rows, rather than part-way through the layers.
        self._check_batch(B, min(T0, block), {"the prompt's rows B": B}, "TinyGPT.generate")
        if use_cache:
            check_allocation(
                "TinyGPT.generate",
                {"the prompt's rows B": B, "block_size": block},
                (B, block, self.config.n_embd),
                self.token_embedding.weight.dtype,
                "each layer's key cache",
            )
        out = output_ids(ids, max_new_tokens, "TinyGPT.generate")
        keep = max(1, block - block // 4)  # tokens kept when the context restarts
        start = max(0, T0 - block)  # context = out[:, start:length]
        caches = [KVCache(block) for _ in self.blocks] if use_cache else None
        fed = start  # with the cache: tokens before `fed` (from `start`) are already cached

        with no_grad(), eval_mode(self):
            for length in range(T0, T0 + max_new_tokens):
                if length - start > block:  # the window is full: restart from the last `keep` tokens
                    start = length - keep
                    if caches:
                        for cache in caches:
                            cache.reset()
                        fed = start
                if caches:
                    hidden = self._hidden(out[:, fed:length], caches)
                    fed = length
                else:
                    hidden = self._hidden(out[:, start:length])
                logits = self._logits(hidden[:, -1, :]).data  # (B, V): only the last position
                out[:, length] = sample_next(logits, temperature, top_k, generator)

        out = out[0] if one_dim else out
        return Tensor(out) if isinstance(idx, Tensor) else out

    def generate_text(
        self,
        tokenizer,
        prompt: str = "\n",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int = None,
        seed=None,
        use_cache: bool = True,
    ) -> str:
        """Continue a text prompt: returns prompt + max_new_tokens generated characters.

        A character in the prompt that the tokenizer does not know is an error naming it.
        """
        return generate_text(
            self,
            tokenizer,
            prompt,
            max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            use_cache=use_cache,
        )

    # ------------------------------------------------------------------ checkpoints

    def _state_dict_hints(self, state) -> list:
        """For a checkpoint that does not fit: the config fields its names and shapes reveal.

        Shapes tell vocab_size, n_embd, n_layer, block_size and mlp_ratio. A missing or extra
        name is reported as that name (a missing lm_head.weight may be a tie_weights=True
        checkpoint or an incomplete file: the message says both, it does not guess).
        """
        names = {str(k) for k in state}
        if "token_embedding.weight" not in names:
            return ["This is not a TinyGPT state dict (it has no token_embedding.weight)."]
        c = self.config
        vocab_size, n_embd = np.shape(state["token_embedding.weight"])
        found = {"vocab_size": int(vocab_size), "n_embd": int(n_embd)}
        layers = {int(n.split(".")[1]) for n in names if n.startswith("blocks.") and n.split(".")[1].isdigit()}
        if layers:
            found["n_layer"] = max(layers) + 1
        if "position_embedding.weight" in names and c.positions == "learned":
            found["block_size"] = int(np.shape(state["position_embedding.weight"])[0])
        ratio = _mlp_ratio(state, int(n_embd))
        if ratio is not None:
            found["mlp_ratio"] = ratio
        lines = [
            f"{name}: checkpoint has {value!r}, this model {getattr(c, name)!r}"
            for name, value in found.items()
            if value != getattr(c, name)
        ]
        for key, present_means, absent_means in _PRESENCE_KEYS:
            mine = any(n == key for n, _ in self.named_parameters())
            if key in names and not mine:
                lines.append(f"the checkpoint has {key}, which a model with {present_means} has")
            elif mine and key not in names:
                lines.append(
                    f"the checkpoint has no {key}: it was saved from a model with {absent_means}, "
                    "or the file is incomplete"
                )
        if not lines:
            return []
        return [
            "It was saved from a TinyGPT with a different config:",
            *("  " + line for line in lines),
            "Build the model with the checkpoint's TinyGPTConfig, then load it.",
        ]

    def extra_repr(self) -> str:
        return f"{self.num_parameters():,} parameters"


# Parameters that exist only for some configs: (name, config when present, config when absent).
_PRESENCE_KEYS = (
    ("lm_head.weight", "tie_weights=False", "tie_weights=True"),
    ("position_embedding.weight", "positions='learned'", "positions='sinusoidal'"),
    ("ln_f.weight", "layer_norm=True", "layer_norm=False"),
)


def _mlp_ratio(state: dict, n_embd: int):
    """The MLP's hidden width in units of n_embd, from the first block's fc weight (n_embd, hidden); None if unknown."""
    shape = np.shape(state.get("blocks.0.mlp.fc.weight", ()))
    if len(shape) != 2 or n_embd <= 0 or shape[1] % n_embd:
        return None
    return int(shape[1] // n_embd)
