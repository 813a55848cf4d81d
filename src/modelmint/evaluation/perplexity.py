"""Held-out perplexity: exp of the mean next-token loss over every token of the texts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from modelmint.observability import ProgressEvent, ProgressFn, no_progress


@torch.no_grad()
def perplexity(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    block_size: int = 256,
    batch_size: int = 16,
    progress: ProgressFn = no_progress,
) -> float:
    """Texts are joined with end-of-text and cut into blocks, as in pretraining; the last
    partial block counts too, so every token is scored."""
    eos = tokenizer.eos_token_id
    assert eos is not None
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend([*ids, eos])
    blocks = [stream[i : i + block_size] for i in range(0, len(stream), block_size)]
    blocks = [b for b in blocks if len(b) > 1]
    model.eval()
    total_nll, total_tokens = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        batch = blocks[start : start + batch_size]
        width = max(len(b) for b in batch)
        ids = torch.full((len(batch), width), eos, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b)] = torch.tensor(b)
            mask[i, : len(b)] = 1
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        targets = ids[:, 1:]
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none"
        ).view_as(targets)
        valid = mask[:, 1:].bool()
        total_nll += float(nll[valid].sum())
        total_tokens += int(valid.sum())
        progress(ProgressEvent("perplexity", min(start + batch_size, len(blocks)), len(blocks)))
    return math.exp(total_nll / total_tokens)
