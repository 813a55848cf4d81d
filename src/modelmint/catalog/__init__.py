"""Datasets, runs, model versions, aliases and lineage; artifacts on disk."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.catalog.catalog import (
        Catalog,
        DatasetRef,
        ModelListing,
        ModelRef,
        RunInfo,
    )
    from modelmint.catalog.errors import CatalogError
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

lazy_exports(__name__)
