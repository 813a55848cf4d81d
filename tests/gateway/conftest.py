from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers import build_micro_model
from modelmint.catalog import Catalog
from modelmint.commerce import ApiKeys, Tenants, UsageLedger
from modelmint.gateway import GatewayContext, ServedModel, create_app
from modelmint.serving import Engine
from modelmint.store import Store


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
    ledger = UsageLedger(store)
    engine = Engine.load(micro_model_dir)
    served = ServedModel(id="micro", label=ref.label, model_version_id=ref.id, engine=engine)
    app = create_app(GatewayContext(keys=keys, ledger=ledger, models={"micro": served}))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield {"client": client, "ledger": ledger, "key": key, "context_length": 128}
