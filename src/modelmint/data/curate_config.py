"""What a curation run is told to do: the settings of :func:`modelmint.data.curate.curate`.

They live apart from the pipeline because both of its halves read them: the first pass
(:mod:`modelmint.data.curate`) and the assembly of the dataset version from its candidates
(:mod:`modelmint.data.assemble`), which the first pass calls. Kept here, below both, the
imports point one way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from modelmint.data.dedup import NearDupConfig
from modelmint.data.quality_config import QualityConfig
from modelmint.data.splits import SplitConfig


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
    # Sort partitions of the duplicate finder are sized to fit this; per-document state
    # lives in files, so this, not the corpus, bounds the memory of de-duplication.
    memory_mb: float = 256
    # Input files are grouped into shards of at least this many MiB, one task each: a unit
    # of work for the executor, of restart after a failure, and never of what comes out.
    shard_mb: float = 16
