"""The quality rules' evaluation set (``tests/data/quality_eval/records.jsonl``), judged the way
``mint data ingest`` judges a record: read by the readers, then language identification with
the keep-list ``zh,en`` and the quality rules, in the ingest's own per-document step. PII
scrubbing and de-duplication are left out: they drop nothing a single record decides."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.data import CurateConfig, QualityConfig
from modelmint.data.readers import to_document
from modelmint.data.shards import curate_batch

RECORDS = Path(__file__).resolve().parents[1] / "data" / "quality_eval" / "records.jsonl"


@dataclass(frozen=True)
class Judged:
    case: dict[str, Any]  # the line of records.jsonl: id, lang, kind, expect, why, record
    reason: str | None  # None: kept; otherwise the rule that dropped it

    @property
    def correct(self) -> bool:
        return (self.reason is None) == (self.case["expect"] == "keep")


def load_cases(path: Path = RECORDS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def judge(quality: QualityConfig | None, cases: list[dict[str, Any]]) -> list[Judged]:
    """Each case judged by the ingest's per-record step, with the keep-list ``zh,en``."""
    config = CurateConfig(
        quality=quality,
        languages=("zh", "en"),
        scrub_pii=False,
        exact_dedup=False,
        near_dedup=None,
    )
    docs = [to_document(c["record"], c["id"], c["id"], "text") for c in cases]
    return [
        Judged(case, reason)
        for case, (_, reason, _, _) in zip(cases, curate_batch(docs, config), strict=True)
    ]


def summary(judged: list[Judged]) -> dict[str, Any]:
    """Shares judged right: of the records to keep, of those to drop, and of all."""
    keep = [j for j in judged if j.case["expect"] == "keep"]
    drop = [j for j in judged if j.case["expect"] == "drop"]
    return {
        "records": len(judged),
        "keep_right": sum(j.correct for j in keep),
        "keep_total": len(keep),
        "drop_right": sum(j.correct for j in drop),
        "drop_total": len(drop),
        "right": sum(j.correct for j in judged),
        "wrong": [(j.case["id"], j.reason) for j in judged if not j.correct],
        "wrong_kept_by_kind": Counter(j.case["kind"] for j in keep if not j.correct),
    }
