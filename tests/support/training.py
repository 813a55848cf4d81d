"""Recipes and a curated catalog for training tests (micro models, a few steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelmint.catalog import Catalog
from modelmint.data import CurateConfig, SplitConfig, curate
from modelmint.samples import write_sample_corpus
from modelmint.store import Store

# A shape small enough that a few training steps take a second on 2 cores.
MICRO_ARCH = {
    "size": "tiny",
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 128,
    "context_length": 128,
}


def curated_catalog(home: Path) -> Catalog:
    corpus = home / "sample.jsonl"
    write_sample_corpus(corpus, n_dialogues=600, seed=3)
    catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
    curate(catalog, [corpus], "support", CurateConfig(splits=SplitConfig(validation=0.1)))
    return catalog


def micro_clm(name: str = "micro", steps: int = 6, **training: Any) -> dict[str, Any]:
    """A pretrain-clm recipe for a micro model on the shared dataset."""
    return {
        "recipe": "pretrain-clm",
        "name": name,
        "dataset": "support",
        "architecture": MICRO_ARCH,
        "tokenizer": {"vocab_size": 1000},
        "block_size": 64,
        "training": {"max_steps": steps, "batch_size": 4, "warmup_steps": 1, **training},
    }
