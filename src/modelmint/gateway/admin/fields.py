"""Field types shared by the admin request and response bodies. Bounds are checked here,
before a service or the database sees a value: an id or an amount beyond a 64-bit column,
or a NUL character PostgreSQL cannot store, is a 400 that names the field, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field, StringConstraints

from modelmint.config.clock import utc

# a name as the catalog allows it (tenants, channels, price books)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]

MAX_MICROS = 10**15  # a billion dollars: far above any real amount, far below 2**63
MAX_LIMIT = 2**31 - 1  # rpm/tpm limits and percentages live in 32-bit columns

Micros = Annotated[int, Field(ge=-MAX_MICROS, le=MAX_MICROS)]
PositiveMicros = Annotated[int, Field(ge=1, le=MAX_MICROS)]
NonNegativeMicros = Annotated[int, Field(ge=0, le=MAX_MICROS)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text cannot contain NUL characters")
    return text


Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]

# path parameters: what a record is found by
NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description="A name: letters, digits, . _ -")]
PrefixPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{1,32}$", description="The key's visible prefix.")
]
IdPath = Annotated[int, Path(ge=1, le=MAX_LIMIT)]
# a month YYYY-MM (years from 1000: what a date can hold)
PERIOD_PATTERN = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"


# stored times as aware UTC datetimes (SQLite returns them without their zone)
aware = utc
