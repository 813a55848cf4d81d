"""Curation's tasks give the same bytes whatever runs them: one process, a process pool,
or a Ray cluster started here, and a Ray worker killed mid-task loses nothing. A run that
stops partway keeps its finished shards for the next run."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from modelmint.catalog import Catalog
from modelmint.data import CurateConfig, DataError, curate
from modelmint.data.executors import LocalExecutor, RayExecutor
from modelmint.data.shards import MARKER
from modelmint.observability import ProgressEvent
from modelmint.samples import write_sample_corpus
from modelmint.store import Store

pytestmark = pytest.mark.slow

T = TypeVar("T")
R = TypeVar("R")

# Each file is a shard of its own, and seeds share template dialogues, so duplicates cross
# shard boundaries; a bad record per file leaves a reject in every shard.
SHARDED = CurateConfig(shard_mb=0.01, batch_size=150, on_error="skip")
FILES = 5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for seed in range(FILES):
        path = root / f"part-{seed}.jsonl"
        write_sample_corpus(path, n_dialogues=300, seed=seed)
        with path.open("a", encoding="utf-8") as f:
            f.write("{not json\n")
        path.with_suffix(".truth.json").unlink()
    return root


def fresh_catalog(home: Path) -> Catalog:
    home.mkdir(parents=True, exist_ok=True)
    return Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")


def dataset_bytes(catalog: Catalog, name: str) -> dict[str, str]:
    """Every file of the dataset version, by name, as a digest of its bytes."""
    ref = catalog.get_dataset(name)
    return {
        f.name: hashlib.blake2b(f.read_bytes()).hexdigest()
        for f in sorted(ref.path.iterdir())
        if f.is_file()
    }


@pytest.fixture(scope="module")
def one_process(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    catalog = fresh_catalog(tmp_path_factory.mktemp("one"))
    res = curate(catalog, [corpus], "cs", SHARDED)
    assert res.report["rejected"] == FILES
    assert res.report["drops"]["exact_duplicate"] and res.report["drops"]["near_duplicate"]
    return dataset_bytes(catalog, "cs")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_process_pool_writes_the_bytes_of_one_process(
    corpus: Path, one_process: dict[str, str], tmp_path: Path
) -> None:
    catalog = fresh_catalog(tmp_path)
    curate(catalog, [corpus], "cs", replace(SHARDED, num_proc=2))
    assert dataset_bytes(catalog, "cs") == one_process
    assert {"train.parquet", "drops.parquet", "report.json"} <= set(one_process)


def test_ray_writes_the_bytes_of_one_process(
    corpus: Path, one_process: dict[str, str], tmp_path: Path, ray_cluster: None
) -> None:
    catalog = fresh_catalog(tmp_path)
    executor = RayExecutor()
    assert executor.workers == 2
    res = curate(catalog, [corpus], "cs", SHARDED, executor=executor)
    assert res.created
    assert dataset_bytes(catalog, "cs") == one_process


def test_a_ray_worker_killed_mid_task_loses_nothing(
    corpus: Path, one_process: dict[str, str], tmp_path: Path, ray_cluster: None
) -> None:
    killed: list[int] = []
    stop = threading.Event()

    def kill_the_first_task() -> None:
        """SIGKILLs the first Ray worker seen running a task (its process title says so)."""
        while not stop.is_set() and not killed:
            for entry in Path("/proc").iterdir():
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"ray::run_task"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed.append(int(entry.name))
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_first_task)
    killer.start()
    catalog = fresh_catalog(tmp_path)
    try:
        curate(catalog, [corpus], "cs", SHARDED, executor=RayExecutor())
    finally:
        stop.set()
        killer.join()
    assert killed, "no Ray worker was seen running a task"
    assert dataset_bytes(catalog, "cs") == one_process


def test_a_stopped_run_resumes_from_its_finished_shards(
    corpus: Path, one_process: dict[str, str], tmp_path: Path
) -> None:
    catalog = fresh_catalog(tmp_path)
    batches = 0

    def stop_in_the_third_shard(event: ProgressEvent) -> None:
        """Each shard is 300 documents in batches of 150: the 5th batch is the third shard's."""
        nonlocal batches
        if event.task == "curate":
            batches += 1
            if batches == 5:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        curate(catalog, [corpus], "cs", SHARDED, progress=stop_in_the_third_shard)
    work = catalog.artifacts_dir / "work"
    markers = sorted(work.glob(f"curate-*/*/{MARKER}"))
    assert [m.parent.name for m in markers] == ["00000", "00001"]
    assert not list(work.glob("curate-*/*.tmp"))  # the shard it was in left nothing
    before = {m: m.stat().st_mtime_ns for m in markers}
    assert catalog.list_datasets() == []

    class LocalExecutorThatWatchesMarkers(LocalExecutor):
        """Notes the shard markers' times when the first tasks it is given (the partition
        sorts, after every shard is done) finish."""

        after: dict[Path, int] | None = None

        def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
            yield from super().map(fn, tasks)
            if self.after is None:
                found = (catalog.artifacts_dir / "work").glob(f"curate-*/*/{MARKER}")
                self.after = {m: m.stat().st_mtime_ns for m in found}

    watcher = LocalExecutorThatWatchesMarkers()
    res = curate(catalog, [corpus], "cs", SHARDED, executor=watcher)
    assert res.created and res.report["read"] == one_process_read(corpus)
    assert watcher.after is not None and len(watcher.after) == FILES
    assert {m: watcher.after[m] for m in markers} == before  # finished shards were not rerun
    assert dataset_bytes(catalog, "cs") == one_process
    assert not list((catalog.artifacts_dir / "work").iterdir())  # removed once it succeeded


def one_process_read(corpus: Path) -> int:
    """Records read: every line of the corpus but the bad one in each file."""
    return sum(len(f.read_text().splitlines()) - 1 for f in corpus.glob("*.jsonl"))


def test_a_bad_record_under_ray_is_the_same_error_as_here(
    corpus: Path, tmp_path: Path, ray_cluster: None
) -> None:
    """An input error is the user's to fix: raised as itself, naming the file and line,
    and not retried."""
    strict = replace(SHARDED, on_error="fail")
    with pytest.raises(DataError) as here:
        curate(fresh_catalog(tmp_path / "here"), [corpus], "cs", strict)
    with pytest.raises(DataError) as there:
        curate(fresh_catalog(tmp_path / "ray"), [corpus], "cs", strict, executor=RayExecutor())
    assert "part-0.jsonl:301" in str(here.value)
    assert str(here.value) in str(there.value)
