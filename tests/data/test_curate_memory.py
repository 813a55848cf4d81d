"""Curation's memory does not grow with the corpus: every per-document thing lives in files.

Measured with tracemalloc (Python objects and numpy buffers), which is exact and immune to
allocator caching, on 600 and 2,400 documents with the block sizes made small so that both
runs are many blocks long. The peak is taken up to the report: drawing the report's plots
costs a fixed ~4.5 MiB (matplotlib), more than the whole pipeline here. The old in-memory
LSH index held ~2 KB per document, which would show as ~3.6 MB of growth; what remains is
noise of the order of one block (~100 KB)."""

from __future__ import annotations

import importlib
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from modelmint.catalog import Catalog
from modelmint.data import CurateConfig, curate
from modelmint.data.quality_config import QualityConfig
from modelmint.data.report import DatasetReport
from modelmint.samples import write_sample_corpus
from modelmint.store import Store

assemble_module = importlib.import_module("modelmint.data.assemble")
duplicates_module = importlib.import_module("modelmint.data.duplicates")


def pipeline_peak(tmp: Path, n: int, seen: list[int]) -> tuple[int, dict[str, Any]]:
    corpus = tmp / f"corpus-{n}.jsonl"
    write_sample_corpus(corpus, n_dialogues=n, seed=11)
    catalog = Catalog(Store.open(f"sqlite:///{tmp}/c-{n}.db"), tmp / f"home-{n}")
    config = CurateConfig(
        batch_size=100,
        memory_mb=0.05,  # many sort partitions
        quality=QualityConfig(),
        identify_language=False,
        languages=None,
        # the one documented growth: 8 bytes per distinct n-gram of the evaluation split
        decontaminate=False,
    )
    tracemalloc.start()
    try:
        report = curate(catalog, [corpus], "m", config).report
        return seen[-1], report
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assemble_module, "ROWS_PER_GROUP", 32)
    monkeypatch.setattr(duplicates_module, "_CHUNK", 64)
    seen: list[int] = []
    write = DatasetReport.write

    def peak_then_write(self: DatasetReport, out: Path) -> None:
        seen.append(tracemalloc.get_traced_memory()[1])
        write(self, out)

    monkeypatch.setattr(DatasetReport, "write", peak_then_write)
    pipeline_peak(tmp_path, 300, seen)  # first use builds caches (Unicode tables, regexes)
    small_peak, small = pipeline_peak(tmp_path, 600, seen)
    big_peak, big = pipeline_peak(tmp_path, 2400, seen)
    assert big["read"] == 2400 and big["drops"]["near_duplicate"] > small["drops"]["near_duplicate"]
    growth = big_peak - small_peak
    assert growth < 2**18, f"peak grew {growth / 2**10:.0f} KiB for 1,800 more documents"
