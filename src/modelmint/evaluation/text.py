"""How evaluation reads text: the language of a reference, tokens for ROUGE that keep
Chinese, and a chat record cut into the prompt a model answers and the reference answer.
(A record read whole, as training read it, is ``modelmint.modeling.record_text``.)"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelmint.modeling import render_chat

# Han ideographs (basic, extension A, compatibility, extensions B and later) and kana.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
CJK_RE = re.compile(f"[{_CJK}]")
# A CJK character is a token of its own; any other run of letters or digits is one word.
_TOKEN_RE = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")


def language_of(text: str) -> str:
    """``zh`` when the text has any Chinese character, else ``en``. Chinese replies in the
    corpus carry Latin product names and order numbers, so any Han character decides."""
    return "zh" if CJK_RE.search(text) else "en"


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased words, and every CJK character as a token. rouge-score's own tokenizer
    keeps only [a-z0-9], so it scores any Chinese text as empty."""
    return _TOKEN_RE.findall(text.lower())


class RougeTokenizer:
    """The tokenizer object rouge_score.RougeScorer accepts."""

    def tokenize(self, text: str) -> list[str]:
        return rouge_tokens(text)


def chat_prompt(
    record: dict[str, Any], tokenizer: Any, template_kwargs: Mapping[str, Any] | None = None
) -> tuple[str, str] | None:
    """(prompt, reference) of a chat record: the conversation up to its last assistant turn
    rendered with the chat template, the model's template variables
    (``modeling.chat_template_kwargs``) and the assistant's cue, as serving renders it; and
    that turn's content. None for a record without an assistant turn."""
    messages = record.get("messages") or []
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return None
    prompt = render_chat(
        tokenizer, messages[:last], add_generation_prompt=True, template_kwargs=template_kwargs
    )
    return prompt, str(messages[last]["content"])
