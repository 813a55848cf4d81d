"""Fixtures for training tests: a curated catalog and a registered micro base model."""

from __future__ import annotations

import pytest

from modelmint.catalog import Catalog
from modelmint.training import parse_recipe, start_training
from support.training import curated_catalog, micro_clm


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return curated_catalog(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def micro_base(catalog: Catalog) -> str:
    """A registered micro causal LM to fine-tune from."""
    outcome = start_training(catalog, parse_recipe(micro_clm("base", steps=10)))
    assert outcome.model is not None
    return outcome.model.label
