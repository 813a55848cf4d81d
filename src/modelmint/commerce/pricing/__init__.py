"""Pricing: price books (plan tiers) with a price per million input and output tokens per
model, and the quote a request is admitted and billed at."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.pricing.prices import PriceBookRef, PriceBooks, PriceRow, Quote

__all__ = [
    "PriceBookRef",
    "PriceBooks",
    "PriceRow",
    "Quote",
]

lazy_exports(__name__)
