"""The dataset version assembled from the candidates of curation's first pass.

The candidates files (documents that passed the filters, one file per shard, in input order)
are read back a few columns at a time: duplicates recorded in ``drops.parquet`` and kept
documents described in the report; each kept document's stratum and split hash; the
evaluation documents' n-grams; the split files, with contaminated training documents
dropped. Every pass streams row groups, so memory does not depend on the number of
documents."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelmint.catalog import DOCUMENT_SCHEMA
from modelmint.data.curate_config import CurateConfig
from modelmint.data.duplicates import KEPT_CODE, Duplicates
from modelmint.data.errors import DataError
from modelmint.data.report import DatasetReport, relax_advice
from modelmint.data.splits import SPLITS, NGramIndex, choose_stratum_label, plan_splits, split_hash

ROWS_PER_GROUP = 4096  # rows buffered per Parquet row group written, and per batch read back


class RowWriter:
    """Appends rows to one Parquet file in row groups."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self.writer = pq.ParquetWriter(path, schema)
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= ROWS_PER_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


SCRATCH_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("pii", pa.string())).append(
    pa.field("key", pa.binary(16))
)
DROPS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("duplicate_of", pa.string()),  # the kept document, for a duplicate
    ]
)
_SPLIT_KEY = np.dtype([("stratum", "<i8"), ("hash", "<u8")])


def _kept_rows(
    candidates: Sequence[Path], columns: list[str], dups: Duplicates | None
) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """Batches of the candidates files, in order, with, per row, whether it survived
    de-duplication."""
    row = 0
    for path in candidates:
        scratch = pq.ParquetFile(path)
        for batch in scratch.iter_batches(batch_size=ROWS_PER_GROUP, columns=columns):
            n = batch.num_rows
            kept = (
                np.ones(n, dtype=bool)
                if dups is None
                else np.asarray(dups.kind[row : row + n]) == KEPT_CODE
            )
            yield batch, kept
            row += n


def assemble_dataset(
    out: Path,
    work: Path,
    candidates: Sequence[Path],
    config: CurateConfig,
    report: DatasetReport,
    dups: Duplicates | None,
    drops: RowWriter,
) -> None:
    """Passes over the candidates file, each reading only the columns it needs: record the
    duplicates and describe the kept documents; find each kept document's stratum and split
    hash; index the evaluation documents' n-grams; write the splits."""
    label_names: set[str] = set()
    row = kept_total = 0
    columns = ["id", "source", "labels", "lang", "pii", "text"]
    for batch, _ in _kept_rows(candidates, columns, dups):
        cols = {c: batch.column(c).to_pylist() for c in ("id", "source", "labels", "lang", "pii")}
        chars = pc.utf8_length(batch.column("text")).to_pylist()
        decisions = (
            dups.decisions(row, row + batch.num_rows)
            if dups is not None
            else iter([None] * batch.num_rows)
        )
        for j, decision in enumerate(decisions):
            if decision is not None:
                report.observe_drop(decision[0])
                drops.add(
                    {
                        "id": cols["id"][j],
                        "source": cols["source"][j],
                        "reason": decision[0],
                        "duplicate_of": decision[1],
                    }
                )
                continue
            labels = json.loads(cols["labels"][j])
            report.observe_kept(chars[j], cols["lang"][j], json.loads(cols["pii"][j]), labels)
            label_names.update(labels)
            kept_total += 1
        row += batch.num_rows
    if not kept_total:
        advice = ""
        if report.drops:  # the rule that dropped most, and how to keep what it dropped
            rule, count = report.drops.most_common(1)[0]
            advice = f"; {rule} dropped {count} of {report.read}: {relax_advice(rule)}"
        raise DataError(
            "no documents left: every input record was rejected or dropped "
            f"({dict(report.drops) or 'no records read'}){advice}"
        )

    stratum = choose_stratum_label(label_names, config.splits.stratify_by)
    report.stratified_by = stratum
    strata: dict[str, int] = {}
    with (work / "split_keys.bin").open("wb") as f:
        for batch, kept in _kept_rows(candidates, ["labels", "key"], dups):
            labels = np.array(batch.column("labels").to_pylist(), dtype=object)[kept]
            keys = np.array(batch.column("key").to_pylist(), dtype=object)[kept]
            rec = np.empty(len(keys), dtype=_SPLIT_KEY)
            for j, (lab, key) in enumerate(zip(labels, keys, strict=True)):
                value = json.loads(lab).get(stratum, "") if stratum else ""
                rec[j] = (
                    strata.setdefault(value, len(strata)),
                    split_hash(key, config.splits.seed),
                )
            f.write(rec.tobytes())
    names = sorted(strata, key=strata.__getitem__)

    def split_keys() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        with (work / "split_keys.bin").open("rb") as fh:
            while block := fh.read(_SPLIT_KEY.itemsize * ROWS_PER_GROUP):
                rec = np.frombuffer(block, dtype=_SPLIT_KEY)
                yield rec["stratum"], rec["hash"]

    counts = np.zeros(len(names), dtype=np.int64)
    for sids, _ in split_keys():
        counts += np.bincount(sids, minlength=len(names))
    plan = plan_splits(split_keys, counts.tolist(), config.splits)

    def kept_with_splits(columns: list[str]) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
        """Kept rows only, each with its split code, the split keys read alongside."""
        with (work / "split_keys.bin").open("rb") as fh:
            for batch, kept in _kept_rows(candidates, columns, dups):
                rows = batch.filter(pa.array(kept))
                rec = np.frombuffer(fh.read(_SPLIT_KEY.itemsize * rows.num_rows), _SPLIT_KEY)
                yield rows, np.stack([rec["stratum"], plan.assign(rec["stratum"], rec["hash"])])

    index = NGramIndex(config.decontaminate_ngram) if config.decontaminate else None
    if index is not None:  # evaluation documents first: they define contamination
        for rows, (_, split) in kept_with_splits(["text"]):
            for text, code in zip(rows.column("text").to_pylist(), split.tolist(), strict=True):
                if code != 0:
                    index.add(text)
    used = sorted({"train"} | {SPLITS[c] for c, n in enumerate(plan.totals) if n})
    writers = {s: RowWriter(out / f"{s}.parquet", DOCUMENT_SCHEMA) for s in used}
    for s in used:  # an emptied split is still a split of the dataset
        report.splits.setdefault(s, Counter())
    check = index if index is not None and len(index) > 0 else None
    for rows, (sids, split) in kept_with_splits(DOCUMENT_SCHEMA.names):
        for rec, sid, code in zip(rows.to_pylist(), sids.tolist(), split.tolist(), strict=True):
            if (
                code == 0
                and check is not None
                and _contaminated(check.overlap(rec["text"]), config.decontaminate_threshold)
            ):
                report.observe_contaminated(rec)
                drops.add({"id": rec["id"], "source": rec["source"], "reason": "contaminated"})
                continue
            writers[SPLITS[code]].add(rec)
            report.observe_split(SPLITS[code], names[sid])
    for w in writers.values():
        w.close()


def _contaminated(overlap: float, threshold: float) -> bool:
    return overlap > 0 if threshold <= 0 else overlap >= threshold
