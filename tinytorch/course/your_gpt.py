"""Your GPT: notebook 4 assembles the model from the pieces the student wrote and trains it with
the student's own training step.

    parts = your_parts()                     # notebooks 2 and 3's pieces (see carry.py), per piece yours
                                             # or, knowingly, the library's, and it says which
    model = MyGPT(config, parts=parts)       # MyGPT(YourGPT): the student's forward
    trainer = with_your_step(p.build_trainer(model, ...), training_step)   # the student's step drives training

`YourGPT` keeps TinyGPT's layers and initialisation, then puts the student's block (with their
attention, their layer_norm and their gelu inside) in place of each library block, with the same
starting weights. Its generation and attention maps go through the student's `forward` (no
key/value cache: the cache lives inside the library's attention).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ..models.generation import check_sampling, sample_next, sampling_generator
from ..models.gpt import TinyGPT
from ..nn.layers import Linear
from ..nn.module import Module, ModuleList, Parameter, eval_mode
from ..tensor import no_grad
from ..training.trainer import LanguageModelTrainer
from ..validation import token_ids
from . import carry
from .exercises.registry import passes

# (exercise, the name it defines, the piece it is in the GPT)
PIECES = [
    ("2.2", "make_causal_mask", "causal mask"),
    ("2.5", "MyMultiHeadAttention", "attention"),
    ("3.1", "layer_norm", "LayerNorm"),
    ("3.2", "gelu", "GELU"),
    ("3.3", "MyBlock", "block"),
]


@dataclass
class Parts:
    """The pieces a GPT is assembled from; `origin` says, per piece, whose it is and why."""

    attention: object
    layer_norm: object
    gelu: object
    block: object
    origin: dict = field(default_factory=dict)

    def report(self) -> str:
        return "\n".join(f"  {piece:12s} {where}" for piece, where in self.origin.items())

    @property
    def all_yours(self) -> bool:
        return all(where.startswith("yours") for where in self.origin.values())


def library_parts(reason="asked for") -> Parts:
    from ..nn import MultiHeadAttention, TransformerBlock
    from ..nn import functional as F

    return Parts(
        MultiHeadAttention,
        F.layer_norm,
        F.gelu,
        TransformerBlock,
        {piece: f"library's ({reason})" for _, _, piece in PIECES},
    )


def your_parts(folder=carry.FOLDER, verbose=True) -> Parts:
    """The student's pieces saved by notebooks 2 and 3, each re-checked here; a piece that is missing
    or no longer passes its check is the library's, and the report says which and why."""
    parts = library_parts()
    namespace = {}
    loaded = carry.definitions([e for e, _, _ in PIECES], namespace, folder)
    chosen = {}
    for exercise_id, name, piece in PIECES:
        if exercise_id not in loaded:
            where = (
                f"library's (no saved Exercise {exercise_id}: it is saved when its test cell in notebook "
                f"{exercise_id.split('.')[0]} passes; run that cell again)"
            )
        elif loaded[exercise_id]:
            where = f"library's ({loaded[exercise_id]})"
        elif name not in namespace:
            where = f"library's ({carry.path_for(exercise_id, folder)} does not define {name})"
        else:
            problem = passes(exercise_id, namespace[name])
            if problem:
                first = problem.split("\n")[0]
                where = f"library's (your saved {name} no longer passes its check: {first})"
            else:
                where = f"yours ({name}, Exercise {exercise_id})"
                chosen[piece] = namespace[name]
        parts.origin[piece] = where
    parts.attention = chosen.get("attention", parts.attention)
    parts.layer_norm = chosen.get("LayerNorm", parts.layer_norm)
    parts.gelu = chosen.get("GELU", parts.gelu)
    parts.block = chosen.get("block", parts.block)
    if "attention" in chosen:
        parts.origin["causal mask"] = parts.origin["causal mask"] + " (inside your attention)"
    if verbose:
        print("Your GPT is built from:\n" + parts.report())
    return parts


class NormWith(Module):
    """A LayerNorm module around a layer_norm function (the student's): weight (C,), bias (C,)."""

    def __init__(self, dim, layer_norm, eps=1e-5):
        super().__init__()
        self.weight = Parameter(np.ones(dim))
        self.bias = Parameter(np.zeros(dim))
        self.eps, self.fn = eps, layer_norm

    def forward(self, x):
        return self.fn(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"({self.weight.shape[0]},), {getattr(self.fn, '__name__', '')}"


class MLPWith(Module):
    """The GPT MLP, C -> hidden -> C, around a gelu function (the student's)."""

    def __init__(self, d_model, hidden, gelu):
        super().__init__()
        self.d_model, self.hidden = d_model, hidden
        self.fc = Linear(d_model, hidden)
        self.proj = Linear(hidden, d_model)
        self.fn = gelu

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, hidden={self.hidden}, {getattr(self.fn, '__name__', '')}"

    def forward(self, x):
        return self.proj(self.fn(self.fc(x)))


def _assemble(model, parts: Parts) -> None:
    """Put the parts' blocks (and final LayerNorm) in place of the library's, with the same weights."""
    config = model.config
    C, H = config.n_embd, config.n_head
    if not (config.residual and config.layer_norm):
        raise ValueError(
            "a GPT from your parts needs residual=True and layer_norm=True (the block you wrote); for "
            "the ablations use the library's TinyGPT"
        )
    # config.dropout: your block has no dropout, so a GPT from your parts trains without it.
    blocks = []
    for old in model.blocks:
        block = parts.block(C, H)
        block.ln1, block.ln2 = NormWith(C, parts.layer_norm), NormWith(C, parts.layer_norm)
        block.attn = parts.attention(C, H)
        block.mlp = MLPWith(C, config.mlp_ratio * C, parts.gelu)
        block.load_state_dict(old.state_dict())  # the library's initialisation, in your block
        blocks.append(block)
    model.blocks = ModuleList(blocks)
    ln_f = NormWith(C, parts.layer_norm)
    ln_f.load_state_dict(model.ln_f.state_dict())
    model.ln_f = ln_f


class YourGPT(TinyGPT):
    """TinyGPT's layers and initialisation; with `parts`, your blocks in place of the library's.

    Generation and attention maps run your `forward` (subclasses write it), so what you sample and
    what the attention views draw is your model. `sampler` (optional): your sample_next(logits (V,),
    temperature, top_k, rng) -> int, used by `generate`.
    """

    def __init__(self, config, parts: Parts = None, sampler=None):
        super().__init__(config)
        if parts is not None:
            _assemble(self, parts)
        self.parts, self.sampler = parts, sampler

    def attention_maps(self, idx) -> np.ndarray:
        """(n_layer, n_head, T, T) weights of one sequence, from a pass through your forward."""
        ids = self._token_ids(idx, allow_1d=True).reshape(1, -1)
        with no_grad(), eval_mode(self):
            self(ids)
        return np.stack([np.asarray(block.attn.attention_weights)[0] for block in self.blocks])

    def generate(
        self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int = None, seed=None, use_cache: bool = False
    ):
        """Sample `max_new_tokens` after idx ((T,) or (B, T)) by running your forward on the last block_size
        tokens for every new token. `use_cache` is accepted and ignored (your attention has no cache)."""
        check_sampling(max_new_tokens, temperature, top_k)
        ids = token_ids(idx, self.config.vocab_size, "generate", ndims=(1, 2))
        one_dim = ids.ndim == 1
        ids = ids.reshape(1, -1) if one_dim else ids
        if ids.shape[1] == 0:
            raise ValueError("generate needs at least one token to start from (e.g. the id of '\\n')")
        generator = sampling_generator(seed)
        out = np.concatenate([ids, np.zeros((ids.shape[0], max_new_tokens), dtype=np.int64)], axis=1)
        block = self.config.block_size
        with no_grad(), eval_mode(self):
            for length in range(ids.shape[1], out.shape[1]):
                logits = np.asarray(self(out[:, max(0, length - block) : length]).data)[:, -1, :]  # (B, V)
                if self.sampler is not None:
                    out[:, length] = [self.sampler(row, temperature, top_k, generator) for row in logits]
                else:
                    out[:, length] = sample_next(logits, temperature, top_k, generator)
        return out[0] if one_dim else out


def with_your_step(trainer, training_step):
    """The same trainer (built by the preset's recipe, `Preset.build_trainer`), now running
    `training_step` for every update. Returns it."""
    if not isinstance(trainer, LanguageModelTrainer):
        raise TypeError(f"with_your_step needs a LanguageModelTrainer, got {type(trainer).__name__}")
    trainer.__class__ = YourStepTrainer  # the loop below; everything else is the trainer's own
    trainer.training_step = training_step
    return trainer


def library_training_step(model, loss_fn, optimizer, x, y, max_norm=1.0):
    """The reference step (Exercise 4.3's): zero, forward, loss, backward, clip the global norm, update."""
    from ..optim import clip_grad_norm_

    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


class YourStepTrainer(LanguageModelTrainer):
    """LanguageModelTrainer whose every step is `training_step(model, loss_fn, optimizer, x, y, max_norm)`:
    yours. The trainer still sets the learning rate, draws the batch, validates, probes the attention,
    writes checkpoints and draws the live curve around it. Make one with `with_your_step`."""

    training_step = staticmethod(library_training_step)

    def _update(self, x, y, lr) -> tuple:
        # No clipping in the recipe: a bound no gradient reaches (clip_grad_norm_ takes finite numbers only).
        max_norm = self.grad_clip if self.grad_clip is not None else float(np.finfo(np.float64).max)
        loss_value = float(self.training_step(self.model, self.loss_fn, self.optimizer, x, y, max_norm=max_norm))
        if not math.isfinite(loss_value):
            self._diverged(f"the training loss became {loss_value}", lr, self._starts[0])
        return loss_value, None
