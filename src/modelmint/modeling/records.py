"""How a model reads a dataset record. Training, evaluation and compression must read a
record alike: a model evaluated, or calibrated, on text rendered otherwise than it was
trained on measures the rendering, not the model. So the rules live here, below every
stage, once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmint.modeling.chat import render_chat

# A classifier's ``input``: the role whose first turn it reads (any other: the whole text).
_FIRST_TURN_OF = {"first_user_turn": "user", "first_assistant_turn": "assistant"}


def record_text(
    record: dict[str, Any],
    tokenizer: Any,
    input: str = "text",
    *,
    template_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """A record as a language model reads it: chat records rendered with the chat template
    they will be served with, and the model's template variables
    (``modeling.chat_template_kwargs`` of its directory), so requests look like what the
    model was trained on; under ``first_exchange`` only up to the first assistant turn (a
    record of text alone is read whole either way)."""
    messages = record.get("messages")
    if messages and getattr(tokenizer, "chat_template", None):
        if input == "first_exchange":
            messages = first_exchange(messages)
        return render_chat(tokenizer, messages, template_kwargs=template_kwargs)
    return str(record["text"])


def first_exchange(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """A conversation up to and including its first assistant turn (all of it if it has
    none): the customer's opening, with any system message before it, and the reply."""
    for i, m in enumerate(messages):
        if m["role"] == "assistant":
            return messages[: i + 1]
    return messages


def classifier_text(record: dict[str, Any], source: str) -> str:
    """What a classifier reads, as its classify recipe's ``input`` says: the whole text; the
    customer's first message (what a live request carries before anyone has answered); or
    the agent's first reply (what a chat model answers to that message, so the classifier
    can judge a model's answers)."""
    role = _FIRST_TURN_OF.get(source)
    if role and record.get("messages"):
        for m in record["messages"]:
            if m["role"] == role:
                return str(m["content"])
    return str(record["text"])
