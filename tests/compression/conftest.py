"""Fixtures for compression tests: a curated catalog and a registered micro causal LM that
every compression starts from (trained a few steps, so its distributions are not flat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelmint.catalog import Catalog, ModelRef
from modelmint.training import parse_recipe, start_training
from support.training import curated_catalog, micro_clm


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compression-home")


@pytest.fixture(scope="session")
def catalog(home: Path) -> Catalog:
    return curated_catalog(home)


@pytest.fixture(scope="session")
def base(catalog: Catalog) -> ModelRef:
    outcome = start_training(catalog, parse_recipe(micro_clm("base", steps=30)))
    assert outcome.model is not None
    return outcome.model


@pytest.fixture(scope="session")
def validation_texts(catalog: Catalog) -> list[str]:
    return [r["text"] for r in catalog.get_dataset("support").read_split("validation")[:24]]
