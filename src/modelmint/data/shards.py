"""Curation's first pass as tasks: one per shard of the input files.

A shard is a run of whole input files in their sorted order, cut where it passes
``shard_mb``. Its task reads them in batches and does everything per document (language,
quality rules, PII scrubbing, exact key and MinHash signature), and writes to its own
directory: the documents that passed (``candidates.parquet``), the ones a rule dropped
(``drops.parquet``), the duplicate finder's inputs, the records it could not read
(``rejects.jsonl``) and, last, its counts (``done.json``), the completion marker. The
directory is written under a temporary name and renamed when complete, so a task that dies
leaves nothing, a rerun skips a finished shard, and a retried task cannot add to another's
output.

The global steps read the shards back in shard order, and documents keep their input order
within a shard, so the whole is the input order whatever ran the tasks and however many
workers it had: the same inputs and settings give the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmint.data.curate_config import CurateConfig
from modelmint.data.dedup import exact_key, signatures
from modelmint.data.errors import DataError
from modelmint.data.langid import LanguageFilter
from modelmint.data.pii import scrub_pii
from modelmint.data.quality import QualityFilter

if TYPE_CHECKING:
    from modelmint.data.readers import InputError

MARKER = "done.json"


@dataclass(frozen=True)
class ShardTask:
    index: int
    files: tuple[str, ...]


def plan_shards(files: Sequence[Path], shard_mb: float) -> list[ShardTask]:
    """Whole files in order, a shard closed once its files reach ``shard_mb``: a big file
    is a shard of its own, small ones are grouped so that each task is worth its start."""
    shards: list[ShardTask] = []
    group: list[str] = []
    size = 0
    for f in files:
        group.append(str(f))
        size += f.stat().st_size
        if size >= shard_mb * (1 << 20):
            shards.append(ShardTask(len(shards), tuple(group)))
            group, size = [], 0
    if group or not shards:
        shards.append(ShardTask(len(shards), tuple(group)))
    return shards


@dataclass
class ShardResult:
    """A finished shard's counts, as its marker records them."""

    index: int
    path: str
    read: int = 0
    candidates: int = 0
    rejected: int = 0
    drops: Counter[str] = field(default_factory=Counter)

    @classmethod
    def load(cls, directory: Path) -> ShardResult:
        data = json.loads((directory / MARKER).read_text())
        return cls(**data | {"path": str(directory), "drops": Counter(data["drops"])})

    def save(self, directory: Path) -> None:
        """The marker: everything but the path, which is wherever the directory is."""
        data = {k: v for k, v in vars(self).items() if k != "path"}
        (directory / MARKER).write_text(json.dumps(data))


def shard_dir(shards_dir: Path, index: int) -> Path:
    return shards_dir / f"{index:05d}"


class _ShardWriter:
    """One shard's outputs, written in a directory of its own under a temporary name and
    renamed into place, marker included, by :meth:`finish`."""

    def __init__(self, task: ShardTask, config: CurateConfig, final: Path) -> None:
        from modelmint.data.assemble import DROPS_SCHEMA, SCRATCH_SCHEMA, RowWriter
        from modelmint.data.duplicates import DuplicateInputs

        self.task, self.final = task, final
        self.out = final.with_name(f"{final.name}.{uuid.uuid4().hex}.tmp")
        self.out.mkdir(parents=True)
        self.result = ShardResult(task.index, str(final))
        self.errors: list[InputError] = []
        self.finder = DuplicateInputs(self.out / "dedup", config.near_dedup)
        self.drops = RowWriter(self.out / "drops.parquet", DROPS_SCHEMA)
        self.candidates = RowWriter(self.out / "candidates.parquet", SCRATCH_SCHEMA)

    def add(self, processed: list[Processed]) -> None:
        ids, keys, sigs = [], [], []
        for doc, reason, key, sig in processed:
            self.result.read += 1
            if reason is not None:
                self.result.drops[reason] += 1
                self.drops.add({"id": doc["id"], "source": doc["source"], "reason": reason})
                continue
            self.candidates.add(_row(doc) | {"key": key})
            ids.append(doc["id"])
            keys.append(key)
            sigs.append(sig)
        self.finder.add(ids, keys, sigs)

    def _close(self) -> None:
        self.finder.close()
        self.drops.close()
        self.candidates.close()

    def finish(self) -> ShardResult:
        self._close()
        self.result.candidates = self.candidates.count
        self.result.rejected = len(self.errors)
        with (self.out / "rejects.jsonl").open("w", encoding="utf-8") as f:
            for e in self.errors:
                line = {"source": e.source, "problem": e.problem}
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.result.save(self.out)
        try:
            os.rename(self.out, self.final)
        except OSError:  # another try of this task finished first: its output stands
            if not (self.final / MARKER).exists():
                raise
            shutil.rmtree(self.out, ignore_errors=True)
        return ShardResult.load(self.final)

    def abandon(self) -> None:
        self._close()
        shutil.rmtree(self.out, ignore_errors=True)


def run_shard(task: ShardTask, job: ShardJob) -> ShardResult:
    """One shard's task, in this process: its outputs, made now or found from an earlier
    run (its marker). What an executor runs, wherever it runs it."""
    final = shard_dir(Path(job.shards_dir), task.index)
    if (final / MARKER).exists():
        return ShardResult.load(final)
    writer = _ShardWriter(task, job.config, final)
    try:
        _init_worker(job.config)
        for processed in map(_process, _batches(task.files, job.config, writer.errors)):
            writer.add(processed)
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


@dataclass(frozen=True)
class ShardJob:
    """What a shard task needs besides its shard: picklable, so any executor can run it."""

    config: CurateConfig
    shards_dir: str


def run_shards_here(
    tasks: Sequence[ShardTask], job: ShardJob, batch_done: Callable[[int], None]
) -> Iterator[ShardResult]:
    """Every shard's task in this process, in order, with the batches of all of them in one
    stream through ``num_proc`` worker processes: the next shard's batches start while the
    last ones of the shard before are still being worked on, so the workers never wait at
    a shard's end. The outputs are those of :func:`run_shard`, shard by shard."""
    config = job.config
    open_writers: list[_ShardWriter] = []

    def items() -> Iterator[tuple[_ShardWriter | ShardResult, list[dict[str, Any]] | None]]:
        """(owner, batch) for each batch, and (owner, None) when a shard has no more."""
        for task in tasks:
            final = shard_dir(Path(job.shards_dir), task.index)
            if (final / MARKER).exists():
                yield ShardResult.load(final), None
                continue
            writer = _ShardWriter(task, config, final)
            open_writers.append(writer)
            for batch in _batches(task.files, config, writer.errors):
                yield writer, batch
            yield writer, None

    pool = (
        ProcessPoolExecutor(config.num_proc, initializer=_init_worker, initargs=(config,))
        if config.num_proc > 1
        else None
    )
    if pool is None:
        _init_worker(config)
    try:
        for owner, processed in _in_order(pool, items(), 2 * config.num_proc):
            if isinstance(owner, ShardResult):
                yield owner
            elif processed is not None:
                owner.add(processed)
                batch_done(len(processed))
            else:
                open_writers.remove(owner)
                yield owner.finish()
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        for writer in open_writers:  # a run that stops leaves its finished shards only
            writer.abandon()


Owned = tuple[_ShardWriter | ShardResult, list[dict[str, Any]] | None]


def _in_order(
    pool: ProcessPoolExecutor | None, items: Iterator[Owned], ahead: int
) -> Iterator[tuple[_ShardWriter | ShardResult, list[Processed] | None]]:
    """Each batch processed (in ``pool``, at most ``ahead`` in flight: ``Executor.map``
    would submit the whole input at once, and hold a larger-than-memory corpus), yielded
    in order with its owner; an end-of-shard item passes through in its place."""
    if pool is None:
        for owner, batch in items:
            yield owner, None if batch is None else _process(batch)
        return
    pending: deque[tuple[_ShardWriter | ShardResult, Future[list[Processed]] | None]] = deque()
    in_flight = 0
    for owner, batch in items:
        if batch is None:
            pending.append((owner, None))
        else:
            pending.append((owner, pool.submit(_process, batch)))
            in_flight += 1
        while pending and (pending[0][1] is None or in_flight >= ahead):
            first, future = pending.popleft()
            if future is not None:
                in_flight -= 1
            yield first, None if future is None else future.result()
    while pending:
        first, future = pending.popleft()
        yield first, None if future is None else future.result()


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


def _batches(
    files: Sequence[str], config: CurateConfig, errors: list[InputError]
) -> Iterator[list[dict[str, Any]]]:
    from modelmint.data.readers import InputError, read_documents

    batch: list[dict[str, Any]] = []
    for path in files:
        for item in read_documents(Path(path), config.format, config.text_field):
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
