"""Data stage: read raw files, filter, scrub, de-duplicate, split and version them."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.data.curate import CurateResult, curate
    from modelmint.data.curate_config import CurateConfig
    from modelmint.data.dedup import NearDupConfig, exact_key, normalize_text
    from modelmint.data.duplicates import DuplicateFinder, Duplicates, find_duplicates
    from modelmint.data.errors import DataError
    from modelmint.data.langid import LanguageFilter, LanguageGuess, detect_language
    from modelmint.data.pii import PII_TYPES, ScrubResult, scrub_pii
    from modelmint.data.quality import QualityFilter, QualityVerdict
    from modelmint.data.quality_config import QualityConfig
    from modelmint.data.readers import InputError, read_documents
    from modelmint.data.splits import SplitConfig

__all__ = [
    "PII_TYPES",
    "CurateConfig",
    "CurateResult",
    "DataError",
    "DuplicateFinder",
    "Duplicates",
    "InputError",
    "LanguageFilter",
    "LanguageGuess",
    "NearDupConfig",
    "QualityConfig",
    "QualityFilter",
    "QualityVerdict",
    "ScrubResult",
    "SplitConfig",
    "curate",
    "detect_language",
    "exact_key",
    "find_duplicates",
    "normalize_text",
    "read_documents",
    "scrub_pii",
]

lazy_exports(__name__)
