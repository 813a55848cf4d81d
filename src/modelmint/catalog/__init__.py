"""Datasets, runs, model versions, aliases and lineage; artifacts on disk."""

from modelmint.catalog.catalog import (
    Catalog,
    CatalogError,
    DatasetRef,
    ModelListing,
    ModelRef,
    RunInfo,
)
from modelmint.catalog.evaluations import EvaluationRecord, latest_by_key

__all__ = [
    "Catalog",
    "CatalogError",
    "DatasetRef",
    "EvaluationRecord",
    "ModelListing",
    "ModelRef",
    "RunInfo",
    "latest_by_key",
]
