"""An app serving the annotator page over a store with label projects, for the route and
browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from modelmint.catalog import Catalog
from modelmint.gateway import build_gateway, create_app
from modelmint.gateway.routes.annotate import LabelServices
from modelmint.labeling import LabelProjects
from modelmint.store import Store
from support.gateway import gateway_settings
from support.labeling import register_tiny

PEPPER = b"test-pepper"
INTENTS = ["refund", "shipping", "account"]


@dataclass
class LabelSite:
    app: FastAPI
    services: LabelServices
    catalog: Catalog


def label_site(store: Store, tmp_path: Path) -> LabelSite:
    """The gateway app (no models) with the tiny tickets dataset and two projects:
    ``intents`` (classification of the six tickets) and ``other``."""
    catalog = Catalog(store, tmp_path / "artifacts")
    register_tiny(catalog)
    projects = LabelProjects(store, catalog)
    projects.create(
        "intents",
        "tickets",
        kind="classification",
        labels=INTENTS,
        guidelines="Pick the customer's intent. 选择客户的意图。",
    )
    projects.create("other", "tickets", kind="rating")
    parts = build_gateway(gateway_settings(tmp_path, PEPPER), models={}, store=store)
    return LabelSite(create_app(parts), parts.labels, catalog)
