"""The bigram model: the first rung of the loss ladder.

It predicts the next character from the current one only, with a (V, V) table of logits:
row i holds the scores of every character that may follow character i. No context, no
attention, yet it already learns that 'q' is followed by 'u' and that a newline is often
followed by a capital. On Shakespeare it reaches a validation loss of about 2.5 (uniform
guessing over 65 characters is ln 65 = 4.17); everything a transformer adds is measured
against this number.
"""

from ..nn import functional as F
from ..nn.layers import Embedding
from ..nn.module import Module
from ..tensor import Tensor, no_grad
from ..validation import allocating, check_allocation, positive_int, token_ids
from .generation import check_finite_weights, check_sampling, generate_text, output_ids, sample_next, sampling_generator


class BigramLanguageModel(Module):
    """Next-token logits from a lookup table: idx (B, T) -> logits (B, T, vocab_size).

    BigramLanguageModel(vocab_size). `model(idx, targets)` returns (logits, loss).
    """

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = positive_int(vocab_size, "BigramLanguageModel: vocab_size")
        V = self.vocab_size
        with allocating("BigramLanguageModel", {"vocab_size": V}, (V, V), what="its (V, V) table"):
            self.token_logits = Embedding(V, V)

    def forward(self, idx, targets=None):
        """idx (B, T) ints -> logits (B, T, V); with targets (B, T) -> (logits, loss)."""
        ids = token_ids(idx, self.vocab_size, "BigramLanguageModel", ndims=(2,))
        B, T = ids.shape
        self._check_batch(B, T, {"idx's rows B": B, "its length T": T}, "BigramLanguageModel")
        logits = self.token_logits(ids)
        if targets is None:
            return logits
        targets = token_ids(targets, self.vocab_size, "BigramLanguageModel targets", ndims=(2,))
        if targets.shape != ids.shape:
            raise ValueError(f"targets have shape {targets.shape} but idx has {ids.shape}: they must match")
        return logits, F.cross_entropy(logits, targets)

    def _check_batch(self, B: int, T: int, sizes: dict, who: str) -> None:
        """Refuse a batch (B, T) whose logits (B, T, V) cannot be allocated, naming `sizes`."""
        check_allocation(who, sizes, (B, T, self.vocab_size), self.token_logits.weight.dtype, "the logits")

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int = None, seed=None, **unused):
        """Sample max_new_tokens tokens after idx ((B, T) or (T,)); each depends only on the one before."""
        check_sampling(max_new_tokens, temperature, top_k)
        check_finite_weights(self, "BigramLanguageModel.generate")
        ids = token_ids(idx, self.vocab_size, "BigramLanguageModel.generate", ndims=(1, 2))
        one_dim = ids.ndim == 1
        ids = ids.reshape(1, -1) if one_dim else ids
        if ids.shape[1] == 0:
            raise ValueError("generate needs at least one token to start from")
        generator = sampling_generator(seed)
        out = output_ids(ids, max_new_tokens, "BigramLanguageModel.generate")
        table = self.token_logits.weight.data
        with no_grad():
            for t in range(ids.shape[1], out.shape[1]):
                out[:, t] = sample_next(table[out[:, t - 1]], temperature, top_k, generator)
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
    ) -> str:
        """Continue a text prompt: returns prompt + generated characters."""
        return generate_text(self, tokenizer, prompt, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}"
