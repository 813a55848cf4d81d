"""Training data that never sits in memory whole. A split is read from its Parquet file a
batch of records at a time; its examples (packed blocks, chat turns, labelled texts) are
tokenized as they come and appended to an Arrow file in the run's directory; training reads
that file memory-mapped, so the pages a batch touches are all that is resident, and the
operating system can drop them again. A run's memory is then flat in the dataset's size,
where a list of every record (and of every example) grew with it.

The examples file is a map-style dataset: the Trainer's seeded sampler draws the same
indices over it as over a list of the same examples, so a run sees the same batches in the
same order. A resumed run reuses the file its first start wrote."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from modelmint.catalog import DatasetRef
from modelmint.training.examples import IGNORE

EXAMPLES_DIR = "examples"  # in a run's directory; removed when the run succeeds
BATCH_ROWS = 1024  # records per read, examples per Arrow record batch


@dataclass(frozen=True)
class SplitStream:
    """One split of a dataset version, read in order a batch of records at a time."""

    dataset: DatasetRef
    split: str

    def __len__(self) -> int:
        return self.dataset.split_rows(self.split)

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        return self.dataset.iter_split(self.split, columns, BATCH_ROWS)

    def records(self, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        for batch in self.batches(columns):
            yield from batch

    def head(self, n: int, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for r in self.records(columns):
            if len(out) == n:
                break
            out.append(r)
        return out

    def key(self, recipe: str) -> str:
        """Names what an examples file built from this split by ``recipe`` (a description
        of how it tokenizes) holds, so a file built otherwise is never taken for it."""
        what = f"{self.dataset.content_hash}|{self.split}|{recipe}"
        return hashlib.sha256(what.encode()).hexdigest()


class MappedExamples(torch.utils.data.Dataset[dict[str, Any]]):
    """Examples in an Arrow file, memory-mapped. List columns come back as lists of ints
    (or, with ``tensors``, as int64 tensors), scalar columns as ints; ``labels_are_inputs``
    gives every example labels equal to its input ids (causal LM), stored once.

    Every record batch but the last holds BATCH_ROWS examples, so example i is found
    without reading the batches before it, and a batch is looked at only when one of its
    examples is: opening the file touches its footer, not a page per batch."""

    def __init__(self, path: Path, *, tensors: bool = False, labels_are_inputs: bool = False):
        self.path, self.tensors, self.labels_are_inputs = path, tensors, labels_are_inputs
        facts = _facts(path)
        if facts is None:
            raise FileNotFoundError(f"{path} is not a complete examples file")
        self.facts = facts
        self.reader = pa.ipc.open_file(pa.memory_map(str(path)))
        self.names = list(self.reader.schema.names)
        self.views: dict[int, dict[str, tuple[np.ndarray, np.ndarray | None]]] = {}

    def __reduce__(self) -> Any:  # another process maps the same file
        return (_reopen, (self.path, self.tensors, self.labels_are_inputs))

    def __len__(self) -> int:
        return int(self.facts["rows"])

    def longest(self) -> int:
        """The most input ids of one example, counted when the file was written."""
        return int(self.facts["longest"])

    def most_labeled(self) -> int | None:
        """The most labels one example has that the loss counts (None: no labels, or a
        file written before this was counted)."""
        found = self.facts.get("most_labeled")
        return None if found is None else int(found)

    def mean_length(self) -> float:
        return float(self.facts["tokens"]) / max(1, len(self))

    def _batch(self, b: int) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """Views into record batch ``b`` of the mapped file: no copy is made, pages are
        read when an example is."""
        if b not in self.views:
            batch = self.reader.get_batch(b)
            views: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
            for name, column in zip(self.names, batch.columns, strict=True):
                if pa.types.is_list(column.type):
                    offsets = column.offsets.to_numpy(zero_copy_only=True)
                    views[name] = (column.values.to_numpy(zero_copy_only=True), offsets)
                else:
                    views[name] = (column.to_numpy(zero_copy_only=True), None)
            self.views[b] = views
        return self.views[b]

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        b, j = divmod(i, int(self.facts["batch_rows"]))
        example: dict[str, Any] = {}
        for name, (values, offsets) in self._batch(b).items():
            if offsets is None:
                example[name] = int(values[j])
                continue
            row = values[offsets[j] : offsets[j + 1]]
            example[name] = torch.from_numpy(row.astype(np.int64)) if self.tensors else row.tolist()
        if self.labels_are_inputs:
            example["labels"] = example["input_ids"]
        return example


def _reopen(path: Path, tensors: bool, labels_are_inputs: bool) -> MappedExamples:
    return MappedExamples(path, tensors=tensors, labels_are_inputs=labels_are_inputs)


def _facts_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.json")


def _facts(path: Path) -> dict[str, Any] | None:
    """What the writer recorded of a complete examples file: how it was built (``key``),
    its rows, rows per record batch, and its longest and total input ids; None when there
    is no complete file."""
    facts = _facts_path(path)
    if not (path.is_file() and facts.is_file()):
        return None
    found: dict[str, Any] = json.loads(facts.read_text())
    return found


def _most_labeled(batch: pa.RecordBatch) -> int:
    """The most labels one example of ``batch`` has that the loss counts."""
    labels = batch.column("labels")
    counted = pc.not_equal(pc.list_flatten(labels), IGNORE).to_numpy(zero_copy_only=False)
    rows = pc.list_parent_indices(labels).to_numpy()
    return int(np.bincount(rows[counted], minlength=batch.num_rows).max(initial=0))


def _column(values: Sequence[Any]) -> pa.Array:
    if values and isinstance(values[0], int):
        return pa.array(values, type=pa.int64())
    return pa.array(values, type=pa.list_(pa.int32()))


def _block_column(blocks: np.ndarray) -> pa.Array:
    n, width = blocks.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(blocks.reshape(-1)))


def _write(path: Path, key: str, batches: Iterable[pa.RecordBatch]) -> None:
    """Record batches to ``path``, then what they hold to its facts file, each written
    under a temporary name and renamed: a file under that name is always complete, and so
    are its facts once they are there (each process of a multi-process run writes its own
    copy, alike, and renames it)."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    facts_part = part.with_suffix(".json")
    facts: dict[str, Any] = {
        "key": key,
        "rows": 0,
        "batch_rows": BATCH_ROWS,
        "longest": 0,
        "tokens": 0,
    }
    writer = None
    try:
        for batch in batches:
            if writer is None:
                writer = pa.ipc.new_file(str(part), batch.schema)
            writer.write_batch(batch)
            lengths = pc.list_value_length(batch.column("input_ids"))
            facts["rows"] += batch.num_rows
            facts["longest"] = max(facts["longest"], pc.max(lengths).as_py() or 0)
            facts["tokens"] += pc.sum(lengths).as_py() or 0
            if "labels" in batch.schema.names and pa.types.is_list(
                batch.schema.field("labels").type
            ):
                facts["most_labeled"] = max(facts.get("most_labeled", 0), _most_labeled(batch))
        if writer is None:  # no examples at all: an empty file says so
            writer = pa.ipc.new_file(str(part), pa.schema([("input_ids", pa.list_(pa.int32()))]))
        writer.close()
        facts_part.write_text(json.dumps(facts))
        part.replace(path)
        facts_part.replace(_facts_path(path))
    finally:
        part.unlink(missing_ok=True)
        facts_part.unlink(missing_ok=True)


def example_file(
    path: Path,
    key: str,
    examples: Iterable[dict[str, Any]],
    **options: bool,
) -> MappedExamples:
    """``examples`` (dicts of int lists and ints) written to ``path`` a record batch at a
    time, unless a complete file built the same way (``key``) is there, and mapped."""
    if (_facts(path) or {}).get("key") != key:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, key, _batched(examples))
    return MappedExamples(path, **options)


def block_file(
    path: Path, key: str, blocks: Iterable[np.ndarray], **options: bool
) -> MappedExamples:
    """Packed blocks (arrays of blocks x block size) written to ``path`` as ``example_file``
    writes examples, and mapped as int64 tensors."""
    if (_facts(path) or {}).get("key") != key:
        path.parent.mkdir(parents=True, exist_ok=True)
        batches = (
            pa.record_batch([_block_column(b)], names=["input_ids"]) for b in _rebatched(blocks)
        )
        _write(path, key, batches)
    return MappedExamples(path, tensors=True, **options)


def _batched(examples: Iterable[dict[str, Any]]) -> Iterator[pa.RecordBatch]:
    """Examples in record batches of BATCH_ROWS (the last one shorter)."""
    rows: list[dict[str, Any]] = []
    for ex in itertools.chain(examples, [None]):
        if ex is not None:
            rows.append(ex)
        if rows and (len(rows) == BATCH_ROWS or ex is None):
            names = list(rows[0])
            yield pa.record_batch([_column([r[k] for r in rows]) for k in names], names=names)
            rows = []


def _rebatched(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Arrays of blocks, as they come, regrouped in arrays of BATCH_ROWS blocks (the last
    one shorter)."""
    held: list[np.ndarray] = []
    count = 0
    for b in blocks:
        held.append(b)
        count += len(b)
        while count >= BATCH_ROWS:
            merged = np.concatenate(held)
            yield merged[:BATCH_ROWS]
            held, count = [merged[BATCH_ROWS:]], count - BATCH_ROWS
    if count:
        yield np.concatenate(held)
