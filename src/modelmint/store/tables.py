"""The declarative base every table derives from, with the naming convention its constraints
follow. The tables are in ``catalog_tables``, ``commerce_tables``, ``labeling_tables`` and
``web_tables``; ``modelmint.store`` imports them all, so ``Base.metadata`` holds every one and
the Alembic migrations in ``store/migrations`` create exactly these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


def core_table(model: type[Base]) -> Table:
    """A mapped class's table, for the hot paths that write with Core statements: an ORM
    insert or delete builds and runs through the unit-of-work machinery, several times the
    cost of the same statement on the table."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
