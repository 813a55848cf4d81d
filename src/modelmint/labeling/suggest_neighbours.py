"""Suggestions from the nearest labeled neighbours: every item's text is embedded once with
the bundled MiniLM encoder (mean-pooled, L2-normalized, as the model was trained); the
reference items are those with a final label or a gold value; an item's ``k`` most
cosine-similar reference items (never itself) vote, weighted by similarity (sharply: see
TEMPERATURE).

- classification, preference: the label with the most weight; confidence = its share.
- multilabel: each label is a yes/no vote (yes when at least half the weight has it);
  confidence = mean distance of those shares from 0.5, doubled (as the classifier's).
- rating: the weighted mean, rounded; confidence = the share of weight on that rating."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from modelmint.labeling.choices import DEFAULT_K
from modelmint.labeling.projects import ProjectInfo
from modelmint.labeling.suggest import Proposal, SuggestError, SuggestItem
from modelmint.modeling.encoders import load_encoder, minilm_path, sentence_vectors

# A neighbour's vote weighs exp(similarity / TEMPERATURE): one 0.05 more similar counts e
# times more. MiniLM's similarities crowd into 0.2-0.8, so plain similarity weights let a
# crowd of middling neighbours outvote the close ones (measured on the sample intents:
# 0.28 accuracy with k=10 and plain weights, 0.44 with these).
TEMPERATURE = 0.05
KINDS = ("classification", "multilabel", "rating", "preference")


def _key(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class NeighbourSuggester:
    def __init__(
        self,
        k: int = DEFAULT_K,
        *,
        encoder: str | Path | None = None,
        batch_size: int = 256,
        embed_batch_size: int = 64,
    ) -> None:
        if k < 1:
            raise SuggestError(f"--k {k}: give 1 or more neighbours")
        self.k = k
        self.encoder = Path(encoder) if encoder else minilm_path()
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self.source = f"neighbours:k{k}"
        self.kind = "classification"
        self.labels: list[str] = []
        self.row: dict[int, int] = {}
        self.vectors = torch.zeros(0)
        self.ref_rows = torch.zeros(0, dtype=torch.long)
        self.ref_values: list[Any] = []
        self.ref_ids: list[int] = []

    def config(self) -> dict[str, Any]:
        return {"source": "neighbours", "k": self.k}

    def prepare(self, project: ProjectInfo, items: Sequence[SuggestItem]) -> None:
        if project.kind not in KINDS:
            raise SuggestError(f"nearest neighbours cannot suggest for a {project.kind} project")
        self.kind, self.labels = project.kind, list(project.labels)
        reference = [
            (i, i.gold if i.gold is not None else i.final)
            for i in items
            if i.gold is not None or i.final is not None
        ]
        if not reference:
            raise SuggestError(
                f"project {project.name!r} has no labeled items to take neighbours from: "
                "label a few items of each label first (`mint label next` / `submit`, or the "
                "annotator page), or mark gold items, then run this again"
            )
        model, tokenizer = load_encoder(self.encoder)
        self.row = {item.id: n for n, item in enumerate(items)}
        self.vectors, _ = sentence_vectors(
            model, tokenizer, [i.text for i in items], batch_size=self.embed_batch_size
        )
        self.ref_rows = torch.tensor([self.row[i.id] for i, _ in reference], dtype=torch.long)
        self.ref_ids = [i.id for i, _ in reference]
        self.ref_values = [v for _, v in reference]

    def suggest(self, batch: Sequence[SuggestItem]) -> list[Proposal]:
        rows = torch.tensor([self.row[i.id] for i in batch], dtype=torch.long)
        sims = self.vectors[rows] @ self.vectors[self.ref_rows].T
        ids = torch.tensor([i.id for i in batch])
        sims[ids[:, None] == torch.tensor(self.ref_ids)[None, :]] = float("-inf")  # not itself
        k = min(self.k, len(self.ref_ids))
        top = sims.topk(k, dim=1)
        out = []
        for item, scores, idx in zip(batch, top.values, top.indices, strict=True):
            real = [(float(s), int(j)) for s, j in zip(scores, idx, strict=True) if s > -2]
            top_sim = max((s for s, _ in real), default=0.0)
            votes = [(self.ref_values[j], math.exp((s - top_sim) / TEMPERATURE)) for s, j in real]
            if not votes:
                out.append(Proposal(item.id, None, None))
                continue
            value, confidence = self._vote(votes)
            out.append(Proposal(item.id, value, min(1.0, max(0.0, confidence))))
        return out

    def _vote(self, votes: list[tuple[Any, float]]) -> tuple[Any, float]:
        total = sum(w for _, w in votes)
        if self.kind == "multilabel":
            shares = [
                sum(w for v, w in votes if isinstance(v, list) and label in v) / total
                for label in self.labels
            ]
            value = [label for label, s in zip(self.labels, shares, strict=True) if s >= 0.5]
            return value, sum(abs(s - 0.5) * 2 for s in shares) / len(shares)
        if self.kind == "rating":
            mean = sum(float(v) * w for v, w in votes) / total
            rating = min(5, max(1, int(mean + 0.5)))  # round half up, not to even
            return rating, sum(w for v, w in votes if int(v) == rating) / total
        weight: dict[str, float] = {}
        values: dict[str, Any] = {}
        for v, w in votes:
            weight[_key(v)] = weight.get(_key(v), 0.0) + w
            values[_key(v)] = v
        best = max(weight, key=lambda key: weight[key])
        return values[best], weight[best] / total
