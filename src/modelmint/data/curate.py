"""The curation pipeline: raw files in, an immutable, clean, de-duplicated, PII-scrubbed,
split dataset version out, with a record of every document dropped and why.

It runs as datatrove runs a pipeline: independent tasks, then global steps that read the
tasks' outputs in task order (:mod:`modelmint.data.executors` decides where tasks run).

1. Shard tasks (:mod:`modelmint.data.shards`), one per run of input files: read ->
   language -> quality rules -> PII scrub -> exact key and MinHash signature; documents
   that pass go to the shard's candidates file, their keys and signatures to its duplicate
   finder inputs.
2. The duplicate finder (:mod:`modelmint.data.duplicates`) spreads every shard's keys and
   band hashes into hash partitions; each partition is sorted by a task of its own; one
   pass in document order then decides every duplicate.
3. Assembly (:mod:`modelmint.data.assemble`) reads the candidates back, a column set at a
   time: duplicates recorded and kept documents described; strata and split hashes; the
   evaluation documents' n-grams; the split files, with training documents that overlap
   evaluation ones removed.

Memory is bounded, not proportional to the corpus: batches in flight, the finder's
``memory_mb``, a length histogram, counters, O(sqrt(n)) hashes per stratum to place the split
cuts, and 8 bytes per distinct n-gram of the evaluation split (the one thing that grows, with
the evaluation split only: keep ``validation`` a small fraction of a huge corpus)."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmint.data.curate_config import CurateConfig
from modelmint.data.errors import DataError
from modelmint.data.executors import Executor, LocalExecutor
from modelmint.data.shards import (
    ShardJob,
    ShardResult,
    ShardTask,
    plan_shards,
    run_shard,
    run_shards_here,
)
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

if TYPE_CHECKING:  # pyarrow and the catalog, imported when a dataset is curated
    from modelmint.catalog import Catalog, DatasetRef
    from modelmint.data.report import DatasetReport


@dataclass(frozen=True)
class CurateResult:
    dataset: DatasetRef
    created: bool
    report: dict[str, Any]


# the pipeline -----------------------------------------------------------------------------
# Settings that change how fast or in how much memory, never what comes out (tests check).
_NOT_IN_HASH = ("num_proc", "batch_size", "memory_mb", "shard_mb")


def version_settings(config: CurateConfig) -> dict[str, Any]:
    """The settings that decide what a dataset version holds: hashed into its identity and
    recorded in its report."""
    return {k: v for k, v in asdict(config).items() if k not in _NOT_IN_HASH}


def content_hash(files: Sequence[Path], config: CurateConfig) -> str:
    """Same files (bytes) and same settings -> same hash -> same dataset version."""
    h = hashlib.blake2b(digest_size=32)
    h.update(json.dumps(version_settings(config), sort_keys=True, default=str).encode())
    for f in files:
        h.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 18):
                h.update(chunk)
    return h.hexdigest()


def curate(
    catalog: Catalog,
    paths: Sequence[str | Path],
    name: str,
    config: CurateConfig = CurateConfig(),
    progress: ProgressFn = no_progress,
    executor: Executor | None = None,
) -> CurateResult:
    """Curates ``paths`` into dataset ``name``: a new version, or the existing one when the
    same files and settings made it before. ``executor`` runs the tasks (this machine's
    processes by default, or :class:`~modelmint.data.executors.RayExecutor`). A run that
    fails keeps its finished shards, and the next run of the same inputs and settings
    picks up from them."""
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
    shards_dir = catalog.work_dir(f"curate-{digest[:32]}")
    try:
        report = _run(files, config, staged, shards_dir, executor or LocalExecutor(), progress)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    shutil.rmtree(shards_dir, ignore_errors=True)
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
    files: Sequence[Path],
    config: CurateConfig,
    out: Path,
    shards_dir: Path,
    executor: Executor,
    progress: ProgressFn,
) -> DatasetReport:
    import pyarrow.parquet as pq

    from modelmint.data.assemble import DROPS_SCHEMA, RowWriter, assemble_dataset
    from modelmint.data.duplicates import DuplicateFinder
    from modelmint.data.report import DatasetReport

    report = DatasetReport(files=[str(f) for f in files], config=version_settings(config))
    shards = plan_shards(files, config.shard_mb)
    _forget_other_plans(shards_dir, shards)
    results = _run_shards(shards, config, shards_dir, executor, progress)
    drops = RowWriter(out / "drops.parquet", DROPS_SCHEMA)
    rejects: list[str] = []
    for r in results:  # in shard order, so in input order
        report.read += r.read
        report.drops.update(r.drops)  # first seen first, as if one process had read it all
        for batch in pq.ParquetFile(Path(r.path) / "drops.parquet").iter_batches():
            for row in batch.to_pylist():
                drops.add(row)
        rejects += (Path(r.path) / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
    if rejects:
        (out / "rejects.jsonl").write_text("".join(f"{line}\n" for line in rejects))
        report.rejected = len(rejects)
    work = out / "_work"
    work.mkdir()
    candidates = [Path(r.path) / "candidates.parquet" for r in results]
    n = sum(r.candidates for r in results)
    progress(ProgressEvent("deduplicate", n, n, {}))
    dups = (
        DuplicateFinder(
            work / "dedup",
            [Path(r.path) / "dedup" for r in results],
            config.near_dedup,
            config.exact_dedup,
            config.memory_mb,
        ).resolve(executor, progress)
        if config.exact_dedup or config.near_dedup
        else None
    )
    progress(ProgressEvent("assemble", 0, None, {}))
    try:
        assemble_dataset(out, work, candidates, config, report, dups, drops)
        if dups is not None:
            report.clusters = dups.clusters()
    finally:
        if dups is not None:
            dups.close()
    drops.close()
    shutil.rmtree(work)
    report.write(out)
    return report


def _run_shards(
    shards: list[ShardTask],
    config: CurateConfig,
    shards_dir: Path,
    executor: Executor,
    progress: ProgressFn,
) -> list[ShardResult]:
    """Every shard's task: here, as one stream of batches through ``num_proc`` processes,
    when the executor runs tasks in this process; else one executor task per shard.
    Progress per batch here, per shard elsewhere."""
    start, seen = time.perf_counter(), 0

    def report(docs: int) -> None:
        nonlocal seen
        seen += docs
        rate = seen / max(time.perf_counter() - start, 1e-9)
        progress(ProgressEvent("curate", seen, None, {"docs_per_s": rate}))

    if executor.in_process:  # one stream of batches through this machine's processes
        job = ShardJob(config, str(shards_dir))
        return list(run_shards_here(shards, job, report))
    # one process per task: the executor's workers are the parallelism
    job = ShardJob(replace(config, num_proc=1), str(shards_dir))
    results = []
    for result in executor.map(partial(run_shard, job=job), shards):
        report(result.read)
        results.append(result)
    return results


def _forget_other_plans(shards_dir: Path, shards: list[ShardTask]) -> None:
    """Finished shards are reused only under the same plan: ``shard_mb`` can change
    between runs of the same inputs and settings, and with it what each shard holds."""
    plan = json.dumps([list(s.files) for s in shards])
    recorded = shards_dir / "plan.json"
    if recorded.exists() and recorded.read_text() != plan:
        for child in shards_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    recorded.write_text(plan)
