"""Suggestions from a modelmint classifier (a catalog model version made by the ``classify``
recipe). Its ``id2label`` must cover the project's labels; labels it knows beyond those are
ignored (the probabilities are renormalized over the project's labels).

Confidence: for one label, the softmax probability of the top label. For a multilabel
project every label is a yes/no (sigmoid, yes at 0.5 or more) and the confidence is the mean
distance of those probabilities from 0.5, doubled so that it spans 0 (all undecided) to 1
(all certain): the whole set is only as sure as its least clear-cut labels on average."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from modelmint.catalog import Catalog, CatalogError
from modelmint.labeling.projects import ProjectInfo
from modelmint.labeling.suggest import Proposal, SuggestError, SuggestItem
from modelmint.modeling import load_tokenizer

DEFAULT_MAX_LENGTH = 256
KINDS = ("classification", "multilabel", "rating", "preference")


def first_user_turn(messages: Any) -> str | None:
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict) and m.get("role") == "user":
                return str(m.get("content", ""))
    return None


class ClassifierSuggester:
    def __init__(
        self, catalog: Catalog, model: str, *, batch_size: int = 32, device: str | None = None
    ) -> None:
        try:
            self.ref = catalog.resolve_model(model)
        except CatalogError as e:
            raise SuggestError(f"--model {model}: {e}") from None
        if self.ref.kind != "classifier":
            hint = (
                "merge the adapter first (`mint models merge`)"
                if self.ref.kind == "adapter"
                else "train one with `mint train --recipe classify`"
            )
            raise SuggestError(
                f"model {self.ref.label} is a {self.ref.kind}, not a classifier: {hint}"
            )
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model: Any = (
            AutoModelForSequenceClassification.from_pretrained(
                str(self.ref.path), local_files_only=True
            )
            .to(self.device)
            .eval()
        )
        self.tokenizer = load_tokenizer(self.ref.path)
        config = self.model.config
        self.classes = [str(config.id2label[i]) for i in range(config.num_labels)]
        recipe = catalog.recipe_that_made(self.ref, "classify")
        facts_path = self.ref.path / "labels.json"
        facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
        self.input = recipe.get("input") or "text"
        self.max_length = int(recipe.get("max_length") or DEFAULT_MAX_LENGTH)
        self.label_key = facts.get("label") or recipe.get("label")
        self.batch_size = batch_size
        self.source = f"classifier:{self.ref.label}"
        self.kind = "classification"
        self.labels: list[str] = []
        self.index: list[int] = []

    def config(self) -> dict[str, Any]:
        return {"source": "classifier", "model": self.ref.label}

    def prepare(self, project: ProjectInfo, items: Sequence[SuggestItem]) -> None:
        if project.kind not in KINDS:
            raise SuggestError(f"a classifier cannot suggest for a {project.kind} project")
        missing = [label for label in project.labels if label not in self.classes]
        if missing:
            raise SuggestError(
                f"model {self.ref.label} does not know the project's labels {missing} (its "
                f"labels: {self.classes}); train a classifier on a dataset labeled with "
                f"{project.labels} (`mint train --recipe classify`), or pick another model"
            )
        self.kind, self.labels = project.kind, list(project.labels)
        self.index = [self.classes.index(label) for label in self.labels]

    def _text(self, item: SuggestItem) -> str:
        """The item read the way the model was trained to read records."""
        if self.input == "first_user_turn":
            turn = first_user_turn(item.content.get("messages"))
            if turn is not None:
                return turn
        text = item.content.get("text")
        return text if isinstance(text, str) else item.text

    @torch.inference_mode()
    def suggest(self, batch: Sequence[SuggestItem]) -> list[Proposal]:
        enc = self.tokenizer(
            [self._text(i) for i in batch],
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        ).to(self.device)
        logits = self.model(**enc).logits.float()[:, self.index].cpu()
        out = []
        if self.kind == "multilabel":
            for item, p in zip(batch, logits.sigmoid(), strict=True):
                value = [label for label, q in zip(self.labels, p, strict=True) if q >= 0.5]
                confidence = float(((p - 0.5).abs() * 2).mean())
                out.append(Proposal(item.id, value, min(1.0, confidence)))
            return out
        for item, p in zip(batch, logits.softmax(-1), strict=True):
            top = int(p.argmax())
            out.append(Proposal(item.id, self.labels[top], min(1.0, float(p[top]))))
        return out
