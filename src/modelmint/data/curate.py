"""The curation pipeline: raw files in, an immutable, clean, de-duplicated, PII-scrubbed,
split dataset version out, with a record of every document dropped and why.

Pass 1 streams the inputs in batches: read -> language -> quality rules -> PII scrub -> exact
key and MinHash signature, all in ``num_proc`` worker processes; documents that pass go to a
candidates Parquet file and their keys and signatures to the duplicate finder's files. The
finder then decides every duplicate with partitioned sorts (:mod:`modelmint.data.duplicates`).
Later passes read the candidates file back, a column set at a time: duplicates recorded and
kept documents described; strata and split hashes; the evaluation documents' n-grams; the
split files, with training documents that overlap evaluation ones removed.

Memory is bounded, not proportional to the corpus: batches in flight, the finder's
``memory_mb``, a length histogram, counters, O(sqrt(n)) hashes per stratum to place the split
cuts, and 8 bytes per distinct n-gram of the evaluation split (the one thing that grows, with
the evaluation split only: keep ``validation`` a small fraction of a huge corpus)."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmint.data.curate_config import CurateConfig
from modelmint.data.dedup import exact_key, signatures
from modelmint.data.errors import DataError
from modelmint.data.langid import LanguageFilter
from modelmint.data.pii import scrub_pii
from modelmint.data.quality import QualityFilter
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

if TYPE_CHECKING:  # pyarrow and the catalog, imported when a dataset is curated
    from modelmint.catalog import Catalog, DatasetRef
    from modelmint.data.readers import InputError
    from modelmint.data.report import DatasetReport


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
    """Every string of a kept document that reaches the dataset: the text or the chat turns,
    and the labels, names as well as values (a ``customer_email`` field is as personal as
    the text). Two names that scrub alike keep the first one's value."""
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
    labels: dict[str, str] = {}
    for name, value in doc["labels"].items():
        scrubbed_name, scrubbed_value = scrub_pii(name), scrub_pii(value)
        counts.update(scrubbed_name.counts)
        counts.update(scrubbed_value.counts)
        labels.setdefault(scrubbed_name.text, scrubbed_value.text)
    doc["labels"] = labels


def _scrub_id(doc: dict[str, Any], counts: Counter[str]) -> None:
    """An id that holds PII (a customer's e-mail address or phone number used as the record
    id) is replaced by the record's place in its input, ``file:line``: the id a record without
    one gets. That id is stable (the same input gives the same id, so the same version), unique
    within a file, and ``source`` still leads back to the record. A placeholder such as
    ``<EMAIL>`` would give many records one id, and ``duplicate_of`` and the cluster lists name
    documents by id; a hash of the address is no better, since hashing a list of known
    addresses reverses it. Splits and de-duplication go by the text, never the id, so a
    replaced id moves no document. Runs on dropped documents too: drops.parquet names them."""
    res = scrub_pii(doc["id"])
    if res.counts:
        counts.update(res.counts)
        doc["id"] = scrub_pii(doc["place_id"]).text  # a file named by an address is scrubbed


Processed = tuple[dict[str, Any], str | None, bytes, Any]


def _process(docs: list[dict[str, Any]]) -> list[Processed]:
    """Each document -> (document as changed, drop reason or None, exact key, MinHash
    signature or None). Everything per-document happens here, in the workers."""
    config: CurateConfig = _worker["config"]
    out: list[Processed] = []
    for doc in docs:
        reason, doc["lang"] = None, None
        pii: Counter[str] = Counter()
        if config.scrub_pii:
            _scrub_id(doc, pii)
        if _worker["quality"] is not None:
            # Length first: it needs no language, and a record far over the limit is dropped
            # before language identification reads all of it.
            reason = _worker["quality"].check_length(doc["text"])
        if reason is None and _worker["lang"] is not None:
            guess, reason = _worker["lang"].check(doc["text"])
            doc["lang"] = guess.lang
        if reason is None and _worker["quality"] is not None:
            verdict = _worker["quality"].check(doc["text"], doc["lang"])
            reason = verdict.reason
            if reason is None and doc["messages"] is None:
                doc["text"] = verdict.text  # line-level rules edit plain text, not chat turns
        if reason is None and config.scrub_pii:
            _scrub(doc, pii)
            doc["pii"] = dict(pii)
        out.append((doc, reason, exact_key(doc["text"]) if reason is None else b"", None))
    if config.near_dedup is not None:
        kept = [i for i, (_, reason, _, _) in enumerate(out) if reason is None]
        sigs = signatures([out[i][0]["text"] for i in kept], config.near_dedup)
        for i, sig in zip(kept, sigs, strict=True):
            out[i] = (*out[i][:3], sig)
    return out


def curate_batch(docs: list[dict[str, Any]], config: CurateConfig) -> list[Processed]:
    """Pass 1's per-document work on one batch, in this process: what each worker runs on
    the documents it is given (language, quality rules, PII scrubbing, key and signature)."""
    _init_worker(config)
    return _process(docs)


# the pipeline -----------------------------------------------------------------------------
# Settings that change how fast or in how much memory, never what comes out (tests check).
_NOT_IN_HASH = ("num_proc", "batch_size", "memory_mb")


def content_hash(files: Sequence[Path], config: CurateConfig) -> str:
    """Same files (bytes) and same settings -> same hash -> same dataset version."""
    h = hashlib.blake2b(digest_size=32)
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_IN_HASH}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for f in files:
        h.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 18):
                h.update(chunk)
    return h.hexdigest()


def _batches(
    files: Sequence[Path], config: CurateConfig, errors: list[InputError]
) -> Iterator[list[dict[str, Any]]]:
    from modelmint.data.readers import InputError, read_documents

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
        "pii": json.dumps(doc.get("pii", {})),
    }


def curate(
    catalog: Catalog,
    paths: Sequence[str | Path],
    name: str,
    config: CurateConfig = CurateConfig(),
    progress: ProgressFn = no_progress,
) -> CurateResult:
    from modelmint.data.readers import InputError, expand_paths

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
    from modelmint.data.assemble import DROPS_SCHEMA, SCRATCH_SCHEMA, RowWriter, assemble_dataset
    from modelmint.data.duplicates import DuplicateFinder
    from modelmint.data.report import DatasetReport

    report = DatasetReport(files=[str(f) for f in files], config=asdict(config))
    errors: list[InputError] = []
    work = out / "_work"
    work.mkdir()
    finder = (
        DuplicateFinder(work / "dedup", config.near_dedup, config.exact_dedup, config.memory_mb)
        if config.exact_dedup or config.near_dedup
        else None
    )
    drops = RowWriter(out / "drops.parquet", DROPS_SCHEMA)
    scratch = RowWriter(work / "candidates.parquet", SCRATCH_SCHEMA)
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
            ids, keys, sigs = [], [], []
            for doc, reason, key, sig in processed:
                seen += 1
                report.read += 1
                if reason is not None:
                    report.observe_drop(reason)
                    drops.add({"id": doc["id"], "source": doc["source"], "reason": reason})
                    continue
                scratch.add(_row(doc) | {"key": key})
                ids.append(doc["id"])
                keys.append(key)
                sigs.append(sig)
            if finder is not None and ids:
                finder.add(ids, keys, sigs)
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
    progress(ProgressEvent("deduplicate", scratch.count, scratch.count, {}))
    dups = finder.resolve() if finder is not None else None
    try:
        assemble_dataset(out, work, config, report, dups, drops)
        if dups is not None:
            report.clusters = dups.clusters()
    finally:
        if dups is not None:
            dups.close()
    drops.close()
    shutil.rmtree(work)
    report.write(out)
    return report


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
