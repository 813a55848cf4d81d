"""Datasets, runs, model versions, aliases and lineage; artifacts on disk."""

from modelmint.catalog.catalog import (
    Catalog,
    CatalogError,
    DatasetRef,
    ModelListing,
    ModelRef,
    RunInfo,
)

__all__ = ["Catalog", "CatalogError", "DatasetRef", "ModelListing", "ModelRef", "RunInfo"]
