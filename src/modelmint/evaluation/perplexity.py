"""Held-out perplexity: exp of the mean next-token loss over every token of the texts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from modelmint.evaluation.base import EvaluationError
from modelmint.observability import ProgressEvent, ProgressFn, no_progress


@dataclass(frozen=True)
class TextLosses:
    """Summed next-token loss (nats) and scored tokens of each text."""

    nll: np.ndarray
    tokens: np.ndarray

    @property
    def perplexity(self) -> float:
        return math.exp(float(self.nll.sum()) / max(1, int(self.tokens.sum())))


@torch.no_grad()
def text_losses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    block_size: int = 256,
    batch_size: int = 16,
    progress: ProgressFn = no_progress,
) -> TextLosses:
    """Texts are joined with end-of-text and cut into blocks, as in pretraining; the last
    partial block counts too, so every token but a block's first is scored. Each scored
    token's loss goes to the text it belongs to (a text's end-of-text included), so the
    corpus perplexity is the same however the texts are later resampled or compared."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise EvaluationError("the tokenizer has no end-of-text token to separate the texts")
    stream: list[int] = []
    owner: list[int] = []
    for n, ids in enumerate(tokenizer(list(texts), add_special_tokens=False)["input_ids"]):
        stream.extend([*ids, eos])
        owner.extend([n] * (len(ids) + 1))
    starts = [i for i in range(0, len(stream), block_size) if len(stream) - i > 1]
    owners = np.asarray(owner, dtype=np.int64)
    nll_sum = np.zeros(len(texts), dtype=np.float64)
    tokens = np.zeros(len(texts), dtype=np.int64)
    model.eval()
    device: Any = model.device
    for first in range(0, len(starts), batch_size):
        batch = [stream[s : s + block_size] for s in starts[first : first + batch_size]]
        width = max(len(b) for b in batch)
        ids = torch.full((len(batch), width), eos, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b)] = torch.tensor(b)
            mask[i, : len(b)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        logits = logits.float().cpu()
        targets = ids[:, 1:]
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none"
        ).view_as(targets)
        for i, start in enumerate(starts[first : first + batch_size]):
            n = len(batch[i]) - 1
            who = owners[start + 1 : start + 1 + n]
            np.add.at(nll_sum, who, nll[i, :n].double().numpy())
            np.add.at(tokens, who, 1)
        done = min(first + batch_size, len(starts))
        progress(ProgressEvent("perplexity", done, len(starts)))
    return TextLosses(nll_sum, tokens)


def perplexity(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    block_size: int = 256,
    batch_size: int = 16,
    progress: ProgressFn = no_progress,
) -> float:
    return text_losses(
        model, tokenizer, texts, block_size=block_size, batch_size=batch_size, progress=progress
    ).perplexity
