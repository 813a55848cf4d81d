"""What an evaluation returns and leaves on disk: ``examples.jsonl`` (one record per
example), ``details.json`` (suite-specific tables) and ``report.html``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from modelmint.catalog import EvaluationRecord

DETAILS_FILE = "details.json"
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class EvaluationResult:
    id: int
    model_id: int
    model: str  # NAME:VERSION
    suite: str
    dataset: str | None  # NAME:VERSION, or the file a custom suite read
    split: str | None
    options: dict[str, Any]
    metrics: dict[str, float]
    path: Path  # the evaluation's directory
    created_at: datetime

    @property
    def examples_path(self) -> Path:
        return self.path / "examples.jsonl"

    @property
    def report_path(self) -> Path:
        return self.path / REPORT_FILE

    @property
    def details(self) -> dict[str, Any]:
        p = self.path / DETAILS_FILE
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}

    def examples(self) -> list[dict[str, Any]]:
        return read_examples(self.examples_path)

    @classmethod
    def from_record(cls, r: EvaluationRecord) -> EvaluationResult:
        return cls(
            r.id,
            r.model_id,
            r.model,
            r.suite,
            r.dataset,
            r.split,
            r.options,
            {k: float(v) for k, v in r.metrics.items()},
            r.path,
            r.created_at,
        )


def write_examples(path: Path, examples: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")


def read_examples(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
