"""Dataset records -> training examples: packed token blocks (pretraining), chat turns with
the loss on assistant tokens only (SFT), texts with label ids (classification). Each comes
as a stream that reads records as they come (what training writes to its example files,
see ``streams``) and as a list of rows for small inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from modelmint.training.recipe import RecipeError

IGNORE = -100  # label value the loss skips


def packed_stream(
    text_batches: Iterable[Sequence[str]], tokenizer: Any, block_size: int
) -> Iterator[np.ndarray]:
    """Texts, a batch at a time, as one token stream, each text ended by end-of-text (or
    [SEP]), cut into full blocks: an array of every block the stream has completed after
    each batch, so memory holds one batch and one block's remainder, however much text.
    Every position of every batch is a real token, no compute goes to padding. Raises
    when the texts do not fill one block."""
    end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if end is None:
        raise RecipeError("the tokenizer has no end-of-text token to separate documents")
    carry: list[int] = []
    made = False
    for texts in text_batches:
        stream = carry
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            stream.extend(ids)
            stream.append(end)
        n = len(stream) // block_size
        carry = stream[n * block_size :]
        if n:
            made = True
            yield np.asarray(stream[: n * block_size], dtype=np.int32).reshape(n, block_size)
    if not made:
        raise RecipeError(
            f"the dataset has {len(carry)} tokens, fewer than one block of {block_size}: "
            "use more data or a smaller block_size"
        )


def pack_blocks(texts: Sequence[str], tokenizer: Any, block_size: int) -> torch.Tensor:
    """All texts packed into blocks (see ``packed_stream``), as one tensor."""
    blocks = list(packed_stream([texts], tokenizer, block_size))
    return torch.from_numpy(np.concatenate(blocks)).long()


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


Render = Callable[[list[dict[str, str]], bool], str]  # (messages, generation prompt) -> text


def chat_renderer(tokenizer: Any, template_kwargs: dict[str, Any] | None = None) -> Render:
    """The tokenizer's own chat template as a function, with the recipe's template
    variables (Qwen3's ``enable_thinking``) passed to every rendering."""
    extra = dict(template_kwargs or {})

    def render(messages: list[dict[str, str]], generation_prompt: bool) -> str:
        return str(
            tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=generation_prompt, **extra
            )
        )

    return render


@dataclass(frozen=True)
class AssistantTurn:
    """One assistant turn as the template renders it: the conversation before it, what a
    server puts after that to ask for a reply (the generation prompt), the reply as the
    model is to write it (end-of-turn marker included), and the conversation rendered up
    to and including this turn."""

    history: str
    opener: str
    reply: str
    upto: str

    @property
    def reply_span(self) -> int:
        """Characters of the reply the loss counts: up to its end marker; whitespace after
        it separates turns, and generation has stopped at the marker before it."""
        return len(self.reply.rstrip())


_NOT_TURN_BY_TURN = (
    "the model's chat template does not render a conversation turn by turn, so assistant "
    "tokens cannot be located; use a template that does (ChatML)"
)


def assistant_turn(render: Render, messages: list[dict[str, str]], i: int) -> AssistantTurn:
    """Turn ``i`` found by rendering prefixes of the conversation: with and without the
    generation prompt before it, and with it. Where the generation prompt is not how the
    template writes a past turn's header (Qwen3 without thinking adds an empty think block
    to the prompt only), the reply follows the generation prompt, as it will when served."""
    history = render(messages[:i], False)
    prompt = render(messages[:i], True)
    upto = render(messages[: i + 1], False)
    if not (upto.startswith(history) and prompt.startswith(history)):
        raise RecipeError(_NOT_TURN_BY_TURN)
    opener, turn = prompt[len(history) :], upto[len(history) :]
    shared = min(len(opener), len(turn))
    shared = next((k for k in range(shared) if opener[k] != turn[k]), shared)
    return AssistantTurn(history, opener, turn[shared:], upto)


def chat_texts(
    messages: list[dict[str, str]], render: Render
) -> list[tuple[str, list[tuple[int, int]]]]:
    """The conversation as training text(s), each with the character spans of assistant
    replies. One text when the template renders the conversation turn by turn, each turn
    a prefix of the next; otherwise (a template that rewrites earlier turns once a later
    one comes, as Qwen3's drops past reasoning) one text per assistant turn, the
    conversation up to it with only that turn's reply counted."""
    turns = [
        assistant_turn(render, messages, i)
        for i, m in enumerate(messages)
        if m["role"] == "assistant"
    ]
    full = render(messages, False)
    text, spans, done = "", [], 0
    for t in turns:
        if len(t.history) < done or not full.startswith(t.upto):
            break
        text += full[done : len(t.history)] + t.opener
        spans.append((len(text), len(text) + t.reply_span))
        text += t.reply
        done = len(t.upto)
    else:
        return [(text + full[done:], spans)]
    texts = []
    for t in turns:
        start = len(t.history) + len(t.opener)
        texts.append((t.history + t.opener + t.reply, [(start, start + t.reply_span)]))
    return texts


def chat_examples(
    messages: list[dict[str, str]],
    tokenizer: Any,
    max_length: int,
    template_kwargs: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Token ids of the conversation in the model's own chat template, and labels that are
    the ids of assistant replies (their end-of-turn token included, so the model learns to
    stop) and IGNORE elsewhere. The template writes any BOS it wants itself, so the text is
    tokenized without adding special tokens: a second BOS would be a prompt the model never
    sees when served."""
    examples = []
    for text, spans in chat_texts(messages, chat_renderer(tokenizer, template_kwargs)):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        labels = [
            tok if any(a <= start < b for a, b in spans) else IGNORE
            for tok, (start, _) in zip(enc["input_ids"], enc["offset_mapping"], strict=True)
        ]
        examples.append({"input_ids": enc["input_ids"][:max_length], "labels": labels[:max_length]})
    return examples


def sft_examples(
    records: Iterable[dict[str, Any]],
    tokenizer: Any,
    max_length: int,
    template_kwargs: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every training example of these chat records, in order, one record at a time."""
    for n, r in enumerate(records):
        if not r.get("messages"):
            raise RecipeError(
                f"record {n} ({r.get('id')}) has no 'messages': the sft recipe needs chat data "
                "(OpenAI messages, ShareGPT or Alpaca when ingested)"
            )
        for ex in chat_examples(r["messages"], tokenizer, max_length, template_kwargs):
            if any(label != IGNORE for label in ex["labels"]):  # all-prompt after truncation
                yield ex


def sft_rows(
    records: Sequence[dict[str, Any]],
    tokenizer: Any,
    max_length: int,
    template_kwargs: dict[str, Any] | None = None,
) -> Rows:
    return Rows(list(sft_examples(records, tokenizer, max_length, template_kwargs)))


def pad_id(tokenizer: Any) -> int:
    """The id padding is written with: the pad token, or, for a tokenizer published without
    one (Llama 3, Mistral), its end-of-text token. Padding is masked from attention and
    loss, so which id fills it does not matter, and borrowing one adds nothing to the
    vocabulary the model was trained with."""
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return int(token_id)
    return 0


@dataclass(frozen=True)
class PadCollator:
    """A batch of examples of different lengths padded on the right: ids with ``pad``,
    labels with IGNORE, attention mask 0 on the padding."""

    pad: int

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.as_tensor(r["input_ids"])
            labels[i, :n] = torch.as_tensor(r["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def classification_examples(
    record_batches: Iterable[Sequence[dict[str, Any]]],
    tokenizer: Any,
    label: str,
    label_ids: dict[str, int],
    max_length: int,
    text_of: Callable[[dict[str, Any]], str],
) -> Iterator[dict[str, Any]]:
    """Token ids, attention mask and class id of every record with a known class, in
    order, tokenized a batch of records at a time."""
    n = 0
    for records in record_batches:
        texts, ids = [], []
        for r in records:
            value = (r.get("labels") or {}).get(label)
            if value is None:
                found = sorted((r.get("labels") or {}).keys())
                raise RecipeError(
                    f"record {n} ({r.get('id')}) has no label {label!r} (it has "
                    f"{found or 'none'}); set 'label' in the recipe to one the dataset has"
                )
            n += 1
            if value not in label_ids:
                continue  # a class unseen in training: cannot be predicted, left out of evaluation
            texts.append(text_of(r))
            ids.append(label_ids[value])
        if not texts:
            continue
        enc = tokenizer(texts, truncation=True, max_length=max_length)
        for i, a, y in zip(enc["input_ids"], enc["attention_mask"], ids, strict=True):
            yield {"input_ids": i, "attention_mask": a, "labels": y}


def classification_rows(
    records: Sequence[dict[str, Any]],
    tokenizer: Any,
    label: str,
    label_ids: dict[str, int],
    max_length: int,
    text_of: Callable[[dict[str, Any]], str],
) -> Rows:
    examples = classification_examples([records], tokenizer, label, label_ids, max_length, text_of)
    return Rows(list(examples))
