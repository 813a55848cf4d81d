"""The curation pipeline: raw files in, an immutable, clean, de-duplicated, PII-scrubbed,
split dataset version out, with a record of every document dropped and why.

Pass 1 streams the inputs in batches: read -> quality rules -> language -> PII scrub ->
exact and near-duplicate check; survivors go to a scratch Parquet file. The per-document
work runs in ``num_proc`` worker processes; the duplicate index lives in this process. Pass 2
assigns splits, removes training documents that overlap evaluation ones, and writes one
Parquet file per split. Memory grows with the number of documents (hashes and signatures),
never with their length."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from modelmint.catalog import Catalog, DatasetRef
from modelmint.catalog.catalog import DOCUMENT_SCHEMA
from modelmint.data.dedup import Deduplicator, NearDupConfig, exact_key, signatures
from modelmint.data.langid import LanguageFilter
from modelmint.data.pii import scrub_pii
from modelmint.data.quality import QualityConfig, QualityFilter
from modelmint.data.readers import InputError, expand_paths, read_documents
from modelmint.data.report import DatasetReport
from modelmint.data.splits import NGramIndex, SplitConfig, assign_splits, choose_stratum_label
from modelmint.observability import ProgressEvent, ProgressFn, no_progress


class DataError(ValueError):
    """Input that cannot be ingested; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class CurateConfig:
    format: str = "auto"
    text_field: str = "text"
    on_error: Literal["fail", "skip"] = "fail"
    quality: QualityConfig | None = field(default_factory=QualityConfig)
    languages: tuple[str, ...] | None = ("zh", "en")  # keep-list; None keeps every language
    # Without a keep-list, detection only labels documents for the report; it costs as much
    # as all quality rules together, so it can be switched off.
    identify_language: bool = True
    scrub_pii: bool = True
    exact_dedup: bool = True
    near_dedup: NearDupConfig | None = field(default_factory=NearDupConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    decontaminate: bool = True
    decontaminate_ngram: int = 13
    # A training document goes when at least this share of its n-grams is in evaluation
    # text; 0 removes on any shared n-gram.
    decontaminate_threshold: float = 0.5
    num_proc: int = 1
    batch_size: int = 2000


@dataclass(frozen=True)
class CurateResult:
    dataset: DatasetRef
    created: bool
    report: dict[str, Any]


# per-document work (runs in worker processes) ---------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(config: CurateConfig) -> None:
    _worker["config"] = config
    _worker["quality"] = QualityFilter(config.quality) if config.quality else None
    identify = config.identify_language or config.languages is not None
    _worker["lang"] = LanguageFilter(keep=config.languages) if identify else None


def _scrub(doc: dict[str, Any], counts: Counter[str]) -> None:
    if doc["messages"] is not None:
        for m in doc["messages"]:
            res = scrub_pii(m["content"])
            m["content"] = res.text
            counts.update(res.counts)
        doc["text"] = "\n".join(m["content"] for m in doc["messages"])
    else:
        res = scrub_pii(doc["text"])
        doc["text"] = res.text
        counts.update(res.counts)


Processed = tuple[dict[str, Any], str | None, bytes, Any]


def _process(docs: list[dict[str, Any]]) -> list[Processed]:
    """Each document -> (document as changed, drop reason or None, exact key, MinHash
    signature or None). Everything per-document happens here, in the workers."""
    config: CurateConfig = _worker["config"]
    out: list[Processed] = []
    for doc in docs:
        reason, doc["lang"] = None, None
        if _worker["lang"] is not None:
            guess, reason = _worker["lang"].check(doc["text"])
            doc["lang"] = guess.lang
        if reason is None and _worker["quality"] is not None:
            verdict = _worker["quality"].check(doc["text"], doc["lang"])
            reason = verdict.reason
            if reason is None and doc["messages"] is None:
                doc["text"] = verdict.text  # line-level rules edit plain text, not chat turns
        if reason is None and config.scrub_pii:
            pii: Counter[str] = Counter()
            _scrub(doc, pii)
            doc["pii"] = dict(pii)
        out.append((doc, reason, exact_key(doc["text"]) if reason is None else b"", None))
    if config.near_dedup is not None:
        kept = [i for i, (_, reason, _, _) in enumerate(out) if reason is None]
        sigs = signatures([out[i][0]["text"] for i in kept], config.near_dedup)
        for i, sig in zip(kept, sigs, strict=True):
            out[i] = (*out[i][:3], sig)
    return out


# the pipeline -----------------------------------------------------------------------------
def content_hash(files: Sequence[Path], config: CurateConfig) -> str:
    """Same files (bytes) and same settings -> same hash -> same dataset version."""
    h = hashlib.blake2b(digest_size=32)
    h.update(json.dumps(asdict(config), sort_keys=True, default=str).encode())
    for f in files:
        h.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def _batches(
    files: Sequence[Path], config: CurateConfig, errors: list[InputError]
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for path in files:
        for item in read_documents(path, config.format, config.text_field):
            if isinstance(item, InputError):
                if config.on_error == "fail":
                    raise DataError(
                        f"{item}. Fix the record, or pass --on-error skip to "
                        "write bad records to a rejects file and go on"
                    )
                errors.append(item)
                continue
            batch.append(item)
            if len(batch) >= config.batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _ordered_map(
    pool: ProcessPoolExecutor, batches: Iterator[list[dict[str, Any]]], ahead: int
) -> Iterator[list[Processed]]:
    """Like ``pool.map`` but reading at most ``ahead`` batches in advance: Executor.map
    submits the whole input at once, which would hold a larger-than-RAM corpus in memory."""
    pending: deque[Future[list[Processed]]] = deque()
    for batch in batches:
        pending.append(pool.submit(_process, batch))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _row(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "text": doc["text"],
        "messages": doc["messages"],
        "labels": json.dumps(doc["labels"], ensure_ascii=False, sort_keys=True),
        "lang": doc.get("lang") or "",
        "source": doc["source"],
    }


class _Writer:
    """Appends rows to one Parquet file in row groups."""

    def __init__(self, path: Path) -> None:
        self.writer = pq.ParquetWriter(path, DOCUMENT_SCHEMA)
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= 4096:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=DOCUMENT_SCHEMA))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


def curate(
    catalog: Catalog,
    paths: Sequence[str | Path],
    name: str,
    config: CurateConfig = CurateConfig(),
    progress: ProgressFn = no_progress,
) -> CurateResult:
    try:
        files = expand_paths(paths)
    except InputError as e:
        raise DataError(str(e)) from None
    digest = content_hash(files, config)
    existing = catalog.find_dataset(name, digest)
    if existing is not None:
        return CurateResult(
            existing, False, json.loads((existing.path / "report.json").read_text())
        )
    staged = catalog.staging_dir("dataset")
    try:
        report = _run(files, config, staged, progress)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    ref, created = catalog.add_dataset(
        name,
        staged,
        content_hash=digest,
        num_records=report.kept,
        splits=report.split_counts(),
        source=", ".join(str(f) for f in files[:20]),
    )
    return CurateResult(ref, created, report.as_dict())


def _run(
    files: Sequence[Path], config: CurateConfig, out: Path, progress: ProgressFn
) -> DatasetReport:
    report = DatasetReport(files=[str(f) for f in files], config=asdict(config))
    errors: list[InputError] = []
    dedup = Deduplicator(near=config.near_dedup, exact=config.exact_dedup)
    drops_rows: list[dict[str, Any]] = []
    scratch = _Writer(out / "_kept.parquet")
    keys: list[tuple[str, str]] = []
    label_names: set[str] = set()
    strata: list[dict[str, str]] = []
    start, seen = time.perf_counter(), 0

    pool = (
        ProcessPoolExecutor(config.num_proc, initializer=_init_worker, initargs=(config,))
        if config.num_proc > 1
        else None
    )
    if pool is None:
        _init_worker(config)
    try:
        batches = _batches(files, config, errors)
        results = (
            _ordered_map(pool, batches, 2 * config.num_proc) if pool else map(_process, batches)
        )
        for processed in results:
            for doc, reason, key, sig in processed:
                seen += 1
                report.read += 1
                if reason is None and (config.exact_dedup or config.near_dedup):
                    dup = dedup.add_signed(doc["id"], key, sig)
                    if dup is not None:
                        reason = dup[0]
                if reason is not None:
                    report.observe_drop(reason)
                    drops_rows.append({"id": doc["id"], "source": doc["source"], "reason": reason})
                    continue
                report.observe_kept(doc)
                scratch.add(_row(doc))
                keys.append((key.hex(), ""))
                strata.append(doc["labels"])
                label_names.update(doc["labels"])
            elapsed = time.perf_counter() - start
            progress(ProgressEvent("curate", seen, None, {"docs_per_s": seen / max(elapsed, 1e-9)}))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    scratch.close()
    if errors:
        _write_jsonl(
            out / "rejects.jsonl", ({"source": e.source, "problem": e.problem} for e in errors)
        )
        report.rejected = len(errors)
    if scratch.count == 0:
        raise DataError(
            "no documents left: every input record was rejected or dropped "
            f"({dict(report.drops) or 'no records read'})"
        )

    stratum = choose_stratum_label(label_names, config.splits.stratify_by)
    report.stratified_by = stratum
    keys = [
        (k, s.get(stratum, "") if stratum else "") for (k, _), s in zip(keys, strata, strict=True)
    ]
    assignment = assign_splits(keys, config.splits)
    _write_splits(out, assignment, [stratum for _, stratum in keys], config, report, drops_rows)
    report.clusters = dedup.clusters()
    pq.write_table(pa.Table.from_pylist(drops_rows, schema=DROPS_SCHEMA), out / "drops.parquet")
    (out / "_kept.parquet").unlink()
    report.write(out)
    return report


DROPS_SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("reason", pa.string())])


def _write_splits(
    out: Path,
    assignment: list[str],
    strata: list[str],
    config: CurateConfig,
    report: DatasetReport,
    drops: list[dict[str, Any]],
) -> None:
    scratch = pq.ParquetFile(out / "_kept.parquet")
    index = NGramIndex(config.decontaminate_ngram) if config.decontaminate else None
    if index is not None:  # evaluation documents first: they define contamination
        row = 0
        for batch in scratch.iter_batches(batch_size=4096, columns=["text"]):
            for text in batch.column("text").to_pylist():
                if assignment[row] != "train":
                    index.add(text)
                row += 1
    names = sorted(set(assignment) | {"train"})
    writers = {s: _Writer(out / f"{s}.parquet") for s in names}
    for s in names:  # an emptied split is still a split of the dataset
        report.splits.setdefault(s, Counter())
    row = 0
    for batch in scratch.iter_batches(batch_size=4096):
        for rec in batch.to_pylist():
            split, stratum = assignment[row], strata[row]
            row += 1
            if (
                split == "train"
                and index is not None
                and index.grams
                and _contaminated(index.overlap(rec["text"]), config.decontaminate_threshold)
            ):
                report.observe_contaminated(rec)
                drops.append({"id": rec["id"], "source": rec["source"], "reason": "contaminated"})
                continue
            writers[split].add(rec)
            report.observe_split(split, stratum)
    for w in writers.values():
        w.close()


def _contaminated(overlap: float, threshold: float) -> bool:
    return overlap > 0 if threshold <= 0 else overlap >= threshold


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
