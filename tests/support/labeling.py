"""A tiny bilingual dataset version in a temporary catalog, for the labeling tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from modelmint.catalog import DOCUMENT_SCHEMA, Catalog, DatasetRef

TEXTS = [
    ("r1", "I want a refund for my order", "en", "refund"),
    ("r2", "我想退款，订单号 12345", "zh", "refund"),
    ("r3", "Where is my package?", "en", "shipping"),
    ("r4", "我的快递到哪里了？", "zh", "shipping"),
    ("r5", "How do I reset my password", "en", "account"),
    ("r6", "怎么修改密码", "zh", "account"),
]


def tiny_records() -> list[dict[str, object]]:
    return [
        {
            "id": rid,
            "text": text,
            "messages": None,
            "labels": json.dumps({"intent": intent}, ensure_ascii=False),
            "lang": lang,
            "source": "tiny",
        }
        for rid, text, lang, intent in TEXTS
    ]


def register_tiny(catalog: Catalog, name: str = "tickets") -> DatasetRef:
    staged: Path = catalog.staging_dir("dataset")
    rows = tiny_records()
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), staged / "train.parquet")
    pq.write_table(pa.Table.from_pylist(rows[:2], schema=DOCUMENT_SCHEMA), staged / "test.parquet")
    ref, _ = catalog.add_dataset(
        name,
        staged,
        content_hash="tiny-1",
        num_records=len(rows) + 2,
        splits={"train": len(rows), "test": 2},
        source="tests",
    )
    return ref
