"""The chat fine-tuning format of an uploaded file, checked one line at a time: each line is
one JSON object whose ``messages`` is a non-empty list of ``{"role", "content"}`` turns, with
at least one assistant turn to learn from. The roles (:data:`ROLES`: system, user,
assistant) are the ones the data stage reads; it takes them from here. A message may also
carry ``name`` (a string) and, on an assistant turn, ``weight`` (0 leaves it out of the
loss, 1 keeps it), as OpenAI's format allows.

A problem is reported as ``line N: FIELD ...``, naming the line (from 1) and the field, so
the user can find it in an editor."""

from __future__ import annotations

import json
from typing import Any

from modelmint.catalog.errors import FileRejected

ROLES = ("system", "user", "assistant")
MESSAGE_FIELDS = ("role", "content", "name", "weight")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _problem(value: Any) -> str | None:
    """What is wrong with one parsed line, naming the field; None if it is a valid example."""
    if not isinstance(value, dict):
        return f"must be a JSON object with a 'messages' list, not {_kind(value)}"
    if "messages" not in value:
        return "messages is missing: each line needs a 'messages' list of chat turns"
    messages = value["messages"]
    if not isinstance(messages, list) or not messages:
        return f"messages must be a non-empty list of turns, not {_kind(messages)}" + (
            " (it is empty)" if messages == [] else ""
        )
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            return f"{where} must be an object with role and content, not {_kind(m)}"
        extra = next((k for k in m if k not in MESSAGE_FIELDS), None)
        if extra is not None:
            return (
                f"{where} has an unknown field {_shown(extra)}: a turn has role and content, "
                "and optionally name and weight"
            )
        if "role" not in m:
            return f"{where}.role is missing"
        if m["role"] not in ROLES:
            return f"{where}.role must be one of {', '.join(ROLES)} (got {_shown(m['role'])})"
        if "content" not in m:
            return f"{where}.content is missing"
        if not isinstance(m["content"], str):
            return f"{where}.content must be a string, not {_kind(m['content'])}"
        if "name" in m and not isinstance(m["name"], str):
            return f"{where}.name must be a string, not {_kind(m['name'])}"
        if "weight" in m:
            if m["role"] != "assistant":
                return f"{where}.weight is allowed on assistant turns only"
            if m["weight"] not in (0, 1) or isinstance(m["weight"], bool):
                return f"{where}.weight must be 0 or 1 (got {_shown(m['weight'])})"
    if not any(m["role"] == "assistant" for m in messages):
        return "messages must include at least one assistant turn (the answer to learn)"
    return None


def check_chat_line(line_no: int, raw: bytes) -> None:
    """Raises `FileRejected` naming line ``line_no`` (from 1) and the field, unless ``raw``
    (one line, without its newline) is one example in the chat fine-tuning format. A UTF-8
    byte order mark may open the first line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileRejected(
            f"line {line_no}: is not valid UTF-8 (byte {e.start + 1} of the line); save the "
            "file as UTF-8 and upload it again"
        ) from None
    if line_no == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        raise FileRejected(
            f"line {line_no}: is empty; each line must be one JSON object (one example), "
            "with no blank lines between them"
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise FileRejected(
            f"line {line_no}: is not valid JSON ({e.msg} at column {e.colno}); each line must "
            "be one JSON object"
        ) from None
    except RecursionError:
        raise FileRejected(f"line {line_no}: is nested too deeply to be an example") from None
    problem = _problem(value)
    if problem is not None:
        raise FileRejected(f"line {line_no}: {problem}")
