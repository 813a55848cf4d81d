"""Time comes from a clock passed in, so budget resets and invoices are testable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import overload

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@overload
def utc(at: datetime) -> datetime: ...
@overload
def utc(at: None) -> None: ...
def utc(at: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands them back without their zone
    (they were stored as UTC), PostgreSQL with it."""
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)
