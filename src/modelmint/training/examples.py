"""Dataset records -> training examples: packed token blocks (pretraining), chat turns with
the loss on assistant tokens only (SFT), texts with label ids (classification)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from modelmint.training.recipe import RecipeError

IGNORE = -100  # label value the loss skips


def pack_blocks(texts: Sequence[str], tokenizer: Any, block_size: int) -> torch.Tensor:
    """All texts as one token stream, each ended by end-of-text (or [SEP]), cut into full
    blocks: every position of every batch is a real token, no compute goes to padding."""
    end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if end is None:
        raise RecipeError("the tokenizer has no end-of-text token to separate documents")
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(end)
    n = len(stream) // block_size
    if n == 0:
        raise RecipeError(
            f"the dataset has {len(stream)} tokens, fewer than one block of {block_size}: "
            "use more data or a smaller block_size"
        )
    return torch.tensor(stream[: n * block_size], dtype=torch.long).view(n, block_size)


class Rows(torch.utils.data.Dataset[dict[str, Any]]):
    """A list of ready examples (dicts of tensors or lists) as a torch Dataset."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


def causal_blocks(blocks: torch.Tensor) -> Rows:
    return Rows([{"input_ids": b, "labels": b} for b in blocks])


def chat_example(messages: list[dict[str, str]], tokenizer: Any, max_length: int) -> dict[str, Any]:
    """Token ids of the whole conversation in the chat template, and labels that are the ids
    on assistant turns (their end-of-turn token included, so the model learns to stop) and
    IGNORE elsewhere. Spans come from rendering the conversation up to each assistant turn,
    which a template that renders turn by turn (ChatML and most others) makes a prefix."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(
            messages[:i], tokenize=False, add_generation_prompt=True
        )
        upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not text.startswith(upto) or not upto.startswith(before):
            raise RecipeError(
                "the model's chat template does not render a conversation turn by turn, "
                "so assistant tokens cannot be located; use a template that does (ChatML)"
            )
        spans.append((len(before), len(upto)))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = [
        tok if any(a <= start < b for a, b in spans) else IGNORE
        for tok, (start, _) in zip(enc["input_ids"], enc["offset_mapping"], strict=True)
    ]
    return {"input_ids": enc["input_ids"][:max_length], "labels": labels[:max_length]}


def sft_rows(records: Sequence[dict[str, Any]], tokenizer: Any, max_length: int) -> Rows:
    rows = []
    for n, r in enumerate(records):
        if not r.get("messages"):
            raise RecipeError(
                f"record {n} ({r.get('id')}) has no 'messages': the sft recipe needs chat data "
                "(OpenAI messages, ShareGPT or Alpaca when ingested)"
            )
        ex = chat_example(r["messages"], tokenizer, max_length)
        if any(label != IGNORE for label in ex["labels"]):  # all-prompt after truncation: skip
            rows.append(ex)
    return Rows(rows)


def classification_rows(
    records: Sequence[dict[str, Any]],
    tokenizer: Any,
    label: str,
    label_ids: dict[str, int],
    max_length: int,
    text_of: Any,
) -> Rows:
    texts, ids = [], []
    for n, r in enumerate(records):
        value = (r.get("labels") or {}).get(label)
        if value is None:
            found = sorted((r.get("labels") or {}).keys())
            raise RecipeError(
                f"record {n} ({r.get('id')}) has no label {label!r} (it has {found or 'none'}); "
                "set 'label' in the recipe to one the dataset has"
            )
        if value not in label_ids:
            continue  # a class unseen in training: cannot be predicted, left out of evaluation
        texts.append(text_of(r))
        ids.append(label_ids[value])
    enc = tokenizer(texts, truncation=True, max_length=max_length)
    return Rows(
        [
            {"input_ids": i, "attention_mask": a, "labels": y}
            for i, a, y in zip(enc["input_ids"], enc["attention_mask"], ids, strict=True)
        ]
    )
