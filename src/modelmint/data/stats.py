"""Token counts of a dataset version under a chosen tokenizer."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from modelmint.catalog import DatasetRef
from modelmint.modeling import load_tokenizer


def token_counts(dataset: DatasetRef, tokenizer_dir: Path) -> dict[str, int]:
    """Tokens per split (text as stored, no special tokens), streamed in batches."""
    tok = load_tokenizer(tokenizer_dir)
    counts: dict[str, int] = {}
    for split in dataset.splits:
        total = 0
        for batch in pq.ParquetFile(dataset.path / f"{split}.parquet").iter_batches(
            batch_size=2048, columns=["text"]
        ):
            ids = tok(batch.column("text").to_pylist(), add_special_tokens=False)["input_ids"]
            total += sum(len(i) for i in ids)
        counts[split] = total
    return counts
