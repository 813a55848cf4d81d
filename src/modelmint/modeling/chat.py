"""How a conversation becomes a model's prompt text: its chat template, rendered with the
template variables the model was trained with (Qwen3's ``enable_thinking``).

An SFT recipe may set ``chat_template_kwargs``; training renders every conversation with
them and records them in the model directory's ``modelmint.json``. A model served or
evaluated with other variables reads prompts it never saw in training (Qwen3 without its
empty think block starts reasoning it was taught to skip), so serving and evaluation read
them from the directory here and render through `render_chat`. Nothing heavy is imported:
record readers below every stage use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# What modelmint records of a model it made, in its directory (see ``training.runner``).
MODEL_FACTS = "modelmint.json"


def chat_template_kwargs(model_dir: str | Path) -> dict[str, Any]:
    """The variables the chat template of the model in ``model_dir`` is rendered with, as
    its ``modelmint.json`` records them (``{"enable_thinking": false}``); {} when it
    records none, as for a model imported or trained without any."""
    try:
        facts = json.loads((Path(model_dir) / MODEL_FACTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    kwargs = facts.get("chat_template_kwargs") if isinstance(facts, dict) else None
    return dict(kwargs) if isinstance(kwargs, dict) else {}


def render_chat(
    tok: PreTrainedTokenizerBase,
    messages: Sequence[Mapping[str, str]],
    *,
    add_generation_prompt: bool = False,
    template_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """A conversation as text in the tokenizer's chat template, with the model's template
    variables (`chat_template_kwargs`); with ``add_generation_prompt``, followed by what
    asks the model for the next assistant turn."""
    return str(
        tok.apply_chat_template(
            [dict(m) for m in messages],
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            **dict(template_kwargs or {}),
        )
    )
