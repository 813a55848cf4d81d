"""Custom suites from a JSONL file: one item per line, ``{"prompt", "reference"}`` for
generation, or with ``"choices"`` for multiple choice (``reference`` is the right choice, as
its text or its index). The reference or choice follows the prompt directly, so any space or
newline between them belongs at the end of the prompt or the start of the choice."""

from __future__ import annotations

import difflib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.evaluation.base import EvaluationError

FIELDS = ("prompt", "reference", "choices", "id")


@dataclass(frozen=True)
class CustomItem:
    line: int
    key: str
    prompt: str
    reference: str  # the right answer's text
    choices: tuple[str, ...] | None = None
    answer: int | None = None  # index of the right choice


def _field_error(path: Path, line: int, name: str, problem: str) -> EvaluationError:
    return EvaluationError(f"{path}, line {line}, field {name!r}: {problem}")


def _item(path: Path, line: int, obj: Any) -> CustomItem:
    if not isinstance(obj, dict):
        raise EvaluationError(
            f"{path}, line {line}: expected a JSON object with 'prompt' and 'reference', "
            f"got {type(obj).__name__}"
        )
    for name in obj:
        if name not in FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _field_error(
                path, line, name, f"unknown field; {hint}fields: {', '.join(FIELDS)}"
            )
    for name in ("prompt", "reference"):
        if name not in obj:
            raise _field_error(path, line, name, "missing; every line needs prompt and reference")
    prompt = obj["prompt"]
    if not isinstance(prompt, str) or not prompt:
        raise _field_error(path, line, "prompt", "must be a non-empty string")
    key = str(obj.get("id", f"line {line}"))
    choices, reference = obj.get("choices"), obj["reference"]
    if choices is None:
        if not isinstance(reference, str):
            raise _field_error(path, line, "reference", "must be a string (the expected answer)")
        return CustomItem(line, key, prompt, reference)
    if (
        not isinstance(choices, list)
        or len(choices) < 2
        or not all(isinstance(c, str) and c for c in choices)
    ):
        raise _field_error(
            path, line, "choices", "must be a list of at least two non-empty strings"
        )
    if len(set(choices)) != len(choices):
        raise _field_error(path, line, "choices", "has the same choice twice")
    if isinstance(reference, int) and not isinstance(reference, bool):
        if not 0 <= reference < len(choices):
            raise _field_error(
                path,
                line,
                "reference",
                f"index {reference} is outside choices 0-{len(choices) - 1}",
            )
        answer = reference
    elif isinstance(reference, str) and reference in choices:
        answer = choices.index(reference)
    else:
        raise _field_error(
            path, line, "reference", "must be one of the choices, as its text or its index"
        )
    return CustomItem(line, key, prompt, choices[answer], tuple(choices), answer)


def read_custom_file(path: Path) -> list[CustomItem]:
    items: list[CustomItem] = []
    with path.open(encoding="utf-8") as f:
        for line, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise EvaluationError(
                    f"{path}, line {line}: not valid JSON ({e.msg}, column {e.colno}); "
                    "each line must be one JSON object"
                ) from None
            items.append(_item(path, line, obj))
    if not items:
        raise EvaluationError(f"{path} has no items; write one JSON object per line")
    first = items[0].choices is not None
    for item in items:
        if (item.choices is not None) != first:
            raise _field_error(
                path,
                item.line,
                "choices",
                f"line {items[0].line} {'has' if first else 'has no'} choices and this one "
                f"{'has none' if first else 'has'}: a file is all multiple choice or all "
                "generation",
            )
    return items


def with_shots(
    items: list[CustomItem], index: int, *, num_fewshot: int, seed: int, separator: str
) -> str:
    """The item's prompt after ``num_fewshot`` solved items of the same file, drawn without
    the item itself by a generator seeded with ``seed`` and the item's position, so every
    run (and every model) sees the same shots."""
    if num_fewshot == 0:
        return items[index].prompt
    others = [i for i in range(len(items)) if i != index]
    if num_fewshot > len(others):
        raise EvaluationError(
            f"num_fewshot={num_fewshot}, but the file has only {len(others)} other items to "
            "draw examples from; lower num_fewshot"
        )
    rng = random.Random(seed * 1_000_003 + index)
    shots = [items[i].prompt + items[i].reference for i in rng.sample(others, num_fewshot)]
    return separator.join([*shots, items[index].prompt])
