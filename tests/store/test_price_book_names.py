"""A platform price book's name is unique (its channel_id is NULL, which a plain unique
constraint never compares), on SQLite and PostgreSQL; migration 0008 renames duplicates
made before it, keeping the oldest book's name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from modelmint.store import Channel, PriceBook, Store, make_engine, migrate
from modelmint.store.db import alembic_config

AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_two_platform_books_cannot_share_a_name(store: Store) -> None:
    with store.session() as s:
        north, south = Channel(name="north", created_at=AT), Channel(name="south", created_at=AT)
        s.add_all([north, south])
        s.flush()
        # a name per owner: the platform's, and each channel's own, may coincide
        s.add_all(
            PriceBook(name="standard", channel_id=c, created_at=AT)
            for c in (None, north.id, south.id)
        )
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(PriceBook(name="standard", channel_id=None, created_at=AT))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(PriceBook(name="standard", channel_id=north.id, created_at=AT))
    with store.session() as s:
        assert len(s.scalars(select(PriceBook)).all()) == 3


def test_migration_renames_platform_books_duplicated_before_it(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        command.upgrade(alembic_config(engine), "0007")
        with engine.begin() as c:
            for name in ("standard", "standard", "pro", "standard"):
                c.execute(
                    text(
                        "INSERT INTO price_books (name, channel_id, created_at) "
                        "VALUES (:n, NULL, :at)"
                    ),
                    {"n": name, "at": AT},
                )
        migrate(engine)
        with engine.connect() as c:
            rows = c.execute(text("SELECT id, name FROM price_books ORDER BY id")).all()
    finally:
        engine.dispose()
    (first, second, pro, third) = rows
    assert [r.name for r in rows] == [
        "standard",
        f"standard-duplicate-{second.id}",
        "pro",
        f"standard-duplicate-{third.id}",
    ]
    assert first.id < second.id and pro.name == "pro"
