"""Datasets, runs, model versions, aliases and lineage; artifacts on disk; the files tenants
upload.

``Catalog`` is the front door; its parts are ``catalog.evaluations``, ``catalog.aliases``
(every alias move, locked and audited) and ``catalog.queries`` (the console's read models).
``UploadedFiles`` keeps the Files API's uploads, each checked before it is kept."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.catalog.aliases import (
        AliasEntry,
        Aliases,
        AliasMove,
        AliasStatus,
        rollback_target,
    )
    from modelmint.catalog.catalog import Catalog
    from modelmint.catalog.datasets import DatasetRef
    from modelmint.catalog.documents import DOCUMENT_SCHEMA
    from modelmint.catalog.errors import (
        CatalogError,
        FileNotFound,
        FileRejected,
        FileTooLarge,
        NothingToRollBack,
    )
    from modelmint.catalog.evaluations import EvaluationRecord, Evaluations, latest_by_key
    from modelmint.catalog.files import (
        MAX_LISTED_FILES,
        PURPOSES,
        FilePage,
        FileRecord,
        UploadedFiles,
        too_large_message,
    )
    from modelmint.catalog.models import ModelListing, ModelRef
    from modelmint.catalog.names import MODEL_SPEC_RE, NAME_RE
    from modelmint.catalog.queries import (
        CatalogQueries,
        ModelGraph,
        RunBrief,
        RunProgress,
        RunTimeline,
        VersionNode,
    )
    from modelmint.catalog.runs import RunInfo

__all__ = [
    "DOCUMENT_SCHEMA",
    "MAX_LISTED_FILES",
    "MODEL_SPEC_RE",
    "NAME_RE",
    "PURPOSES",
    "AliasEntry",
    "AliasMove",
    "AliasStatus",
    "Aliases",
    "Catalog",
    "CatalogError",
    "CatalogQueries",
    "DatasetRef",
    "EvaluationRecord",
    "Evaluations",
    "FileNotFound",
    "FilePage",
    "FileRecord",
    "FileRejected",
    "FileTooLarge",
    "ModelGraph",
    "ModelListing",
    "ModelRef",
    "NothingToRollBack",
    "RunBrief",
    "RunInfo",
    "RunProgress",
    "RunTimeline",
    "UploadedFiles",
    "VersionNode",
    "latest_by_key",
    "rollback_target",
    "too_large_message",
]

lazy_exports(__name__)
