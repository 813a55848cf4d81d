"""SQLAlchemy tables, sessions and Alembic migrations."""

from modelmint.store.db import Store, make_engine, migrate
from modelmint.store.tables import (
    ApiKey,
    Base,
    Dataset,
    Evaluation,
    ModelAlias,
    ModelVersion,
    Run,
    RunMetric,
    Tenant,
    UsageEvent,
)

__all__ = [
    "ApiKey",
    "Base",
    "Dataset",
    "Evaluation",
    "ModelAlias",
    "ModelVersion",
    "Run",
    "RunMetric",
    "Store",
    "Tenant",
    "UsageEvent",
    "make_engine",
    "migrate",
]
