"""A curated catalog with a micro causal LM and a micro classifier trained on it, shared by
the evaluation tests (each trains in a few seconds on 2 cores). Tests that need a
model without evaluations train one of their own."""

from __future__ import annotations

import pytest

from modelmint.catalog import Catalog, ModelRef
from modelmint.training import parse_recipe, start_training
from support.training import curated_catalog, micro_clm


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return curated_catalog(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def clm(catalog: Catalog) -> ModelRef:
    outcome = start_training(catalog, parse_recipe(micro_clm("lm", steps=12)))
    assert outcome.model is not None
    return outcome.model


@pytest.fixture(scope="session")
def classifier(catalog: Catalog, clm: ModelRef) -> ModelRef:
    recipe = {
        "recipe": "classify",
        "name": "intent",
        "dataset": "support",
        "base": clm.label,
        "input": "first_user_turn",
        "max_length": 48,
        "training": {"max_steps": 6, "batch_size": 8, "warmup_steps": 0},
    }
    outcome = start_training(catalog, parse_recipe(recipe))
    assert outcome.model is not None
    return outcome.model
