"""classification: accuracy, macro precision/recall/F1, Cohen's kappa and the confusion
matrix of a classifier on a dataset split, reading each record the way its classify recipe
trained it (which label, which text, how many tokens)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from modelmint.evaluation.base import (
    EvaluationError,
    Suite,
    SuiteInput,
    SuiteOptions,
    SuiteOutput,
    take,
)
from modelmint.evaluation.classify_metrics import classification_metrics
from modelmint.modeling import classifier_text
from modelmint.observability import ProgressEvent

DEFAULT_MAX_LENGTH = 256
_SHOWN_CHARS = 300


class ClassificationOptions(SuiteOptions):
    # None: as the model's classify recipe had it
    label: str | None = None
    input: Literal["text", "first_user_turn", "first_assistant_turn"] | None = None
    max_length: int | None = Field(None, ge=8)
    batch_size: int = Field(32, ge=1)


def _resolve(inp: SuiteInput) -> ClassificationOptions:
    opts: ClassificationOptions = inp.options
    recipe = inp.catalog.recipe_that_made(inp.model, "classify")
    facts_path = inp.model.path / "labels.json"
    facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    return opts.model_copy(
        update={
            "label": opts.label or facts.get("label") or recipe.get("label") or "intent",
            "input": opts.input or recipe.get("input") or "text",
            "max_length": opts.max_length or recipe.get("max_length") or DEFAULT_MAX_LENGTH,
        }
    )


def run(inp: SuiteInput) -> SuiteOutput:
    import torch

    with torch.no_grad():
        return _run(inp)


def _run(inp: SuiteInput) -> SuiteOutput:
    from transformers import AutoModelForSequenceClassification

    from modelmint.modeling import load_tokenizer

    assert inp.records is not None
    model: Any = AutoModelForSequenceClassification.from_pretrained(
        str(inp.model.path), local_files_only=True
    ).eval()
    tokenizer = load_tokenizer(inp.model.path)
    classes = [model.config.id2label[i] for i in range(model.config.num_labels)]
    opts = _resolve(inp)
    assert opts.label is not None and opts.input is not None and opts.max_length is not None
    chosen, skipped = [], 0
    for n, r in enumerate(inp.records):
        value = (r.get("labels") or {}).get(opts.label)
        if value is None:
            raise EvaluationError(
                f"record {n} ({r.get('id')}) of the split has no label {opts.label!r} (it has "
                f"{sorted((r.get('labels') or {}).keys()) or 'none'}); pass --set label=NAME"
            )
        if str(value) in classes:
            chosen.append((r, str(value)))
        else:
            skipped += 1  # a class the model never saw cannot be predicted
    chosen = take(chosen, opts.max_examples)
    if not chosen:
        raise EvaluationError(
            f"no record of the split has a {opts.label!r} value among the model's classes {classes}"
        )
    examples = []
    for start in range(0, len(chosen), opts.batch_size):
        batch = chosen[start : start + opts.batch_size]
        texts = [classifier_text(r, opts.input) for r, _ in batch]
        enc = tokenizer(
            texts,
            truncation=True,
            max_length=opts.max_length,
            padding=True,
            return_tensors="pt",
        )
        probs = model(**enc.to(model.device)).logits.float().softmax(-1).cpu()
        for (r, truth), text, p in zip(batch, texts, probs, strict=True):
            guess = classes[int(p.argmax())]
            examples.append(
                {
                    "key": str(r.get("id")),
                    "input": text[:_SHOWN_CHARS],
                    "reference": truth,
                    "prediction": guess,
                    "lang": r.get("lang") or "",
                    "scores": {"correct": float(guess == truth), "confidence": float(p.max())},
                    "stats": {},
                }
            )
        inp.progress(ProgressEvent("classification", len(examples), len(chosen)))
    return SuiteOutput(
        _sklearn_metrics(examples, classes),
        examples,
        opts.stored(),
        _details(examples, classes, skipped),
    )


def _sklearn_metrics(examples: Sequence[dict[str, Any]], classes: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support

    y = [e["reference"] for e in examples]
    p = [e["prediction"] for e in examples]
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, p, average="macro", zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y, p)),
        "macro_precision": float(precision),
        "macro_recall": float(recall),
        "macro_f1": float(f1),
        "kappa": float(cohen_kappa_score(y, p)) if len(set(y) | set(p)) > 1 else 0.0,
    }


def _details(examples: list[dict[str, Any]], classes: list[str], skipped: int) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = [e["reference"] for e in examples]
    p = [e["prediction"] for e in examples]
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p, labels=classes, zero_division=0
    )
    return {
        "classes": classes,
        "confusion": confusion_matrix(y, p, labels=classes).tolist(),
        "per_class": {
            c: {"precision": float(a), "recall": float(b), "f1": float(f), "support": int(s)}
            for c, a, b, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "skipped_unknown_label": skipped,
    }


def metrics(examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    return classification_metrics(
        [e["reference"] for e in examples], [e["prediction"] for e in examples]
    )


SUITE = Suite(
    name="classification",
    description="accuracy, macro precision/recall/F1, Cohen's kappa, confusion matrix",
    kinds=frozenset({"classifier"}),
    source="dataset",
    options=ClassificationOptions,
    run=run,
    metrics=metrics,
    headline=("accuracy", "macro_f1"),
    histogram=("confidence",),
    example_scores=("correct", "confidence"),
)
