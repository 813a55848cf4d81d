"""Ingest chat-shaped JSONL into an immutable, content-hashed dataset version with a
deterministic train/validation split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelmint.catalog import Catalog, DatasetRef
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

ROLES = {"system", "user", "assistant"}


class DataError(ValueError):
    """Input that cannot be ingested; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class IngestResult:
    dataset: DatasetRef
    created: bool


def _fail(path: Path, line_no: int, problem: str) -> DataError:
    return DataError(f"{path}:{line_no}: {problem}")


def _normalize(raw: Any, path: Path, line_no: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(path, line_no, "expected a JSON object per line")
    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail(
            path,
            line_no,
            'field \'messages\' is missing or empty; give a list of {"role", "content"} objects',
        )
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise _fail(
                path,
                line_no,
                f"field 'messages[{i}]' needs a 'role' in {sorted(ROLES)} and a string 'content'",
            )
    return {
        "id": str(raw.get("id", f"{path.name}:{line_no}")),
        "lang": str(raw.get("lang", "")),
        "intent": str(raw.get("intent", "")),
        "sentiment": str(raw.get("sentiment", "")),
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }


def read_dialogues(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise _fail(path, line_no, f"invalid JSON at column {e.colno}: {e.msg}") from None
            yield _normalize(raw, path, line_no)


def _in_validation(record: dict[str, Any], fraction: float) -> bool:
    # Split on the text itself, so exact duplicates always land on the same side.
    text = "\n".join(m["content"] for m in record["messages"]).strip().lower()
    bucket = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 10_000
    return bucket < fraction * 10_000


def ingest_dialogues(
    catalog: Catalog,
    path: Path,
    name: str,
    *,
    validation_fraction: float = 0.05,
    progress: ProgressFn = no_progress,
) -> IngestResult:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    digest = hashlib.sha256()
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "validation": []}
    for n, record in enumerate(read_dialogues(path), 1):
        digest.update(json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
        split = "validation" if _in_validation(record, validation_fraction) else "train"
        splits[split].append(record)
        if n % 1000 == 0:
            progress(ProgressEvent("ingest", n))
    total = sum(len(v) for v in splits.values())
    if total == 0:
        raise DataError(f"{path}: no records; expected one JSON object per line")
    staged = catalog.staging_dir("dataset")
    for split, records in splits.items():
        pq.write_table(pa.Table.from_pylist(records), staged / f"{split}.parquet")
    progress(ProgressEvent("ingest", total, total))
    ref, created = catalog.add_dataset(
        name,
        staged,
        content_hash=digest.hexdigest(),
        num_records=total,
        splits={k: len(v) for k, v in splits.items()},
        source=str(path),
    )
    return IngestResult(ref, created)
