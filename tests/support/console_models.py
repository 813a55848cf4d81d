"""A catalog world for the console's models, data and labeling routes and pages: the tiny
tickets dataset (with a curation report), a pretraining run with logged metrics that made
``micro:1``, ``micro:2`` made from it by a compression run, a running run, an evaluation
with a report, a label project with a few labels, feedback on ``micro:1``, and a gateway
serving ``micro@production`` (on v1) and ``micro:2`` with real micro-model engines."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from modelmint.catalog import Catalog, DatasetRef, ModelRef
from modelmint.commerce import PLATFORM, Scope
from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
from modelmint.gateway import GatewayContext, ServedModel, build_gateway, create_app
from modelmint.labeling import Annotations, LabelProjects
from modelmint.serving import Engine
from modelmint.store import ApiKey, Feedback, LabelItem, Store
from support.gateway import gateway_settings
from support.helpers import build_micro_model
from support.labeling import register_tiny

PEPPER = b"console-models-pepper"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RUN_LOSSES = [3.2, 2.9, 2.5, 2.2]  # steps 1..4, one second apart
REPORT_TEXT = "Curation report of tickets"


class StepClock:
    """A clock the test moves by hand (metric times, so speed and ETA are exact)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class ModelsWorld:
    store: Store
    app: FastAPI
    context: GatewayContext
    catalog: Catalog
    clock: StepClock
    dataset: DatasetRef
    v1: ModelRef
    v2: ModelRef
    train_run: int
    compress_run: int
    live_run: int
    evaluation_id: int
    platform_key: str
    channel_key: str
    api_key: str


def _log_steps(catalog: Catalog, clock: StepClock, run_id: int, losses: list[float]) -> None:
    for step, loss in enumerate(losses, start=1):
        catalog.log_metrics(run_id, step, {"loss": loss, "learning_rate": 0.001 * step})
        clock.tick()


def _recipe(max_steps: int) -> dict[str, object]:
    return {
        "recipe": {
            "recipe": "pretrain-clm",
            "name": "micro",
            "dataset": "tickets",
            "block_size": 16,
            "training": {"max_steps": max_steps, "batch_size": 2, "grad_accum": 1},
        },
        "base": None,
    }


def _evaluation(catalog: Catalog, model: ModelRef, ds: DatasetRef) -> int:
    staged = catalog.staging_dir("evaluation")
    (staged / "report.html").write_text("<html><body><h1>perplexity of micro:1</h1></body></html>")
    (staged / "details.json").write_text("{}")
    record = catalog.evaluations.add(
        model.id,
        staged,
        suite="perplexity",
        dataset=ds.label,
        dataset_id=ds.id,
        dataset_hash=ds.content_hash,
        split="test",
        options={"block_size": 16},
        metrics={"perplexity": 12.5, "loss": 2.526},
    )
    return record.id


def _labels(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create(
        "intents", "tickets", kind="classification", labels=["refund", "shipping", "account"]
    )
    notes = Annotations(store)
    with store.session() as s:
        items = {i.position: i.id for i in s.scalars(select(LabelItem).order_by(LabelItem.id))}
    notes.set_suggestion(items[0], "refund", 0.9, "classifier")
    notes.submit("intents", items[0], "li", "refund")  # accepts the suggestion
    notes.submit("intents", items[1], "li", "refund")


def _feedback(store: Store, model_version_id: int, key_prefix: str) -> None:
    with store.session() as s:
        key = s.scalars(select(ApiKey).where(ApiKey.prefix == key_prefix)).one()
        for n, status in enumerate(("new", "new", "accepted")):
            s.add(
                Feedback(
                    request_id=f"req-{n}",
                    choice=0,
                    tenant_id=key.tenant_id,
                    api_key_id=key.id,
                    model_version_id=model_version_id,
                    rating=5,
                    tags=[],
                    comment="",
                    status=status,
                    created_at=T0,
                )
            )


def models_world(store: Store, tmp_path: Path, *, engines: bool = True) -> ModelsWorld:
    artifacts = tmp_path / "artifacts"
    clock = StepClock(T0)
    catalog = Catalog(store, artifacts, clock)
    ds = register_tiny(catalog)
    (ds.path / "report.html").write_text(f"<html><body>{REPORT_TEXT}</body></html>")
    (ds.path / "report.json").write_text(json.dumps({"kept": 6}))

    train = catalog.start_run("train:pretrain-clm", dataset_id=ds.id, config=_recipe(4))
    _log_steps(catalog, clock, train, RUN_LOSSES)
    catalog.log_metrics(train, 4, {"eval_loss": 2.4})
    micro_dir = build_micro_model(tmp_path / "micro-model")
    v1 = catalog.add_model_version(
        "micro", catalog.staging_dir("model"), run_id=train, kind="causal-lm",
        num_parameters=100_000, metrics={},
    )  # fmt: skip
    catalog.finish_run(train, metrics={"train_loss": 2.7}, output_path=v1.path)
    compress = catalog.start_run("compress:int8-dynamic", dataset_id=ds.id, config={})
    v2 = catalog.add_model_version(
        "micro", catalog.staging_dir("model"), run_id=compress, kind="causal-lm",
        num_parameters=100_000, metrics={"size_bytes": 1234}, parent_id=v1.id,
    )  # fmt: skip
    catalog.finish_run(compress, metrics={}, output_path=v2.path)
    catalog.aliases.promote("micro", "production", v1.version, actor="test:setup")
    evaluation_id = _evaluation(catalog, v1, ds)
    live = catalog.start_run("train:pretrain-clm", dataset_id=ds.id, config=_recipe(10))
    _log_steps(catalog, clock, live, [3.0, 2.8, 2.6, 2.5])

    Tenants(store).create("acme")
    keys = ApiKeys(store, PEPPER)
    created = keys.create("acme")
    _labels(store, catalog)
    _feedback(store, v1.id, created.prefix)

    models: dict[str, ServedModel] = {}
    if engines:
        e1, e2 = Engine.load(micro_dir), Engine.load(micro_dir)
        models = {
            "micro@production": ServedModel("micro@production", v1.label, v1.id, engine=e1),
            "micro:2": ServedModel("micro:2", v2.label, v2.id, engine=e2),
        }
    settings = gateway_settings(tmp_path, PEPPER)
    parts = build_gateway(settings, models=models, store=store, draw=random.Random(0))
    context, app = parts.context, create_app(parts)
    admin = AdminKeys(store, PEPPER)
    channel = Channels(store).create(PLATFORM, "north")
    channel_key = admin.create(Scope(channel_id=channel.id, actor="test"), "north").key
    return ModelsWorld(
        store=store,
        app=app,
        context=context,
        catalog=catalog,
        clock=clock,
        dataset=ds,
        v1=v1,
        v2=v2,
        train_run=train,
        compress_run=compress,
        live_run=live,
        evaluation_id=evaluation_id,
        platform_key=admin.create(Scope(actor="test"), "root").key,
        channel_key=channel_key,
        api_key=created.key,
    )
