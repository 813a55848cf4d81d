"""Billing periods: a UTC calendar month written ``YYYY-MM``. Invoices and credit notes
belong to one; the usage events of a period are those created in ``[start, end)``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from modelmint.commerce.errors import CommerceError

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class BillingPeriod:
    text: str  # YYYY-MM
    start: datetime  # first instant of the month, UTC
    end: datetime  # first instant of the next month, UTC (exclusive)

    @property
    def compact(self) -> str:
        """``YYYYMM``, as used inside invoice and credit note numbers."""
        return self.text.replace("-", "")


def parse_period(text: str) -> BillingPeriod:
    m = PERIOD_RE.match(text.strip())
    if not m or not 1 <= int(m[2]) <= 12 or not 1 <= int(m[1]) <= 9998:
        raise CommerceError(f"invalid period {text!r}: write a month as YYYY-MM, e.g. 2025-03")
    year, month = int(m[1]), int(m[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return BillingPeriod(f"{year:04d}-{month:02d}", start, end)
