from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.serving import Engine
from modelmint.store import Store
from support.gateway import gateway_settings
from support.helpers import build_micro_model


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("micro"))


@pytest.fixture
def gateway(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[dict]:
    catalog = Catalog(store, tmp_path / "artifacts")
    staged = catalog.staging_dir("model")
    ref = catalog.add_model_version(
        "micro", staged, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    Tenants(store).create("acme")
    keys = ApiKeys(store, pepper=b"test")
    key = keys.create("acme").key
    engine = Engine.load(micro_model_dir)
    served = ServedModel(id="micro", label=ref.label, model_version_id=ref.id, engine=engine)
    settings = gateway_settings(tmp_path, b"test")
    parts = build_gateway(settings, models={"micro": served}, store=store)
    ledger = parts.context.ledger
    with TestClient(create_app(parts)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield {"client": client, "ledger": ledger, "key": key, "context_length": 128}
