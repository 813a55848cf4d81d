"""The causal-LM loss of a packed chat batch, from the logits of the labeled positions only.

SFT counts the loss on the assistant's tokens, often under half of a conversation, yet a
causal LM's forward computes logits for every position: a [tokens, vocabulary] matrix that
the loss then mostly ignores. With an open-weight vocabulary (Qwen's 151,936) that head and
its softmax are a quarter of a 0.5B model's step, and its float32 logits the largest tensor
of the step (docs/benchmarks.md, "Open-weight models"). Liger Kernel and Apple's Cut Cross-
Entropy remove the same waste on GPUs with fused kernels; here the model's own forward is
asked for fewer logits (``logits_to_keep`` with the positions, transformers' API for packed
batches), so the family's own head, soft-capping included, computes them.

The result equals transformers' loss: the same targets (each labeled token, predicted from
the position before it; a packed batch's separators keep one conversation from predicting
the next), the same sum over the batch's labeled tokens divided by ``num_items_in_batch``
when the Trainer gives it (so gradient accumulation weighs tokens, not micro-batches), else
the mean. ``tests/training/test_labeled_loss.py`` checks it against the full forward for
every family."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from modelmint.training.examples import IGNORE


def packed(inputs: dict[str, Any]) -> bool:
    """One row of conversations told apart by their position ids, as
    ``DataCollatorWithFlattening`` makes it."""
    return inputs.get("position_ids") is not None and inputs["input_ids"].shape[0] == 1


def labeled_positions_loss(
    model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None
) -> torch.Tensor:
    labels = inputs["labels"][0, 1:]
    positions = (labels != IGNORE).nonzero().squeeze(1)
    rest = {k: v for k, v in inputs.items() if k != "labels"}
    logits = model(**rest, logits_to_keep=positions, use_cache=False).logits[0]
    total = F.cross_entropy(logits.float(), labels[positions], reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else len(positions)
    return total / max(int(count), 1)


class LabeledPositionsTrainer(Trainer):
    """The Trainer, with the loss of packed training batches computed on the labeled
    positions only. Evaluation and unpacked batches keep the Trainer's own loss."""

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if return_outputs or not model.training or not packed(inputs):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        # the Trainer divides a loss by the accumulation steps itself unless the model
        # takes num_items_in_batch, as every causal LM here does
        given = num_items_in_batch if self.model_accepts_loss_kwargs else None
        return labeled_positions_loss(model, inputs, given)
