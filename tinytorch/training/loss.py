"""The language-model loss: cross-entropy of every position's next-token prediction."""

import numpy as np

from ..nn import functional as F
from ..nn.module import Module
from ..tensor import Tensor


class LanguageModelLoss(Module):
    """Mean cross-entropy over all B*T positions.

    loss = LanguageModelLoss()(logits, targets)
        logits:  Tensor (B, T, V), the model's scores for the next token at each position
        targets: int ids (B, T) (numpy array or Tensor), the true next tokens
        returns: scalar Tensor; at initialisation it is about ln(V) (4.17 for 65 characters)

    ignore_index: a target id that contributes nothing (e.g. padding), or None.
    """

    def __init__(self, ignore_index=None):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, targets):
        if logits.ndim != 3:
            raise ValueError(f"LanguageModelLoss expects logits of shape (B, T, V), got {tuple(logits.shape)}")
        target_data = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        target_shape = tuple(target_data.shape)
        if target_shape != tuple(logits.shape[:2]):
            raise ValueError(
                f"targets of shape {target_shape} do not match logits of shape "
                f"{tuple(logits.shape)}: targets must be (B, T) = {tuple(logits.shape[:2])}"
            )
        # cross_entropy takes (B, T, V) with (B, T) directly: no reshape node in the graph.
        return F.cross_entropy(logits, target_data, ignore_index=self.ignore_index)

    def extra_repr(self) -> str:
        return "" if self.ignore_index is None else f"ignore_index={self.ignore_index}"
