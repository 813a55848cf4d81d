"""Economics: cost, revenue and margin per model version and over time, from the ledger."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.economics.series import (
        Bucket,
        Group,
        Point,
        UsageSeries,
        usage_series,
    )
    from modelmint.commerce.economics.unit_economics import EconomicsReport, economics

__all__ = [
    "Bucket",
    "EconomicsReport",
    "Group",
    "Point",
    "UsageSeries",
    "economics",
    "usage_series",
]

lazy_exports(__name__)
