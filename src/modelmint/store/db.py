"""Opening the database: SQLite (WAL) by default, PostgreSQL by URL; migrations on open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # A gateway runs its SQL on up to 40 worker threads: a pool of 5 would close and
        # reopen the rest on every request, each reopening paying the pragmas below.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("modelmint.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest migration; a no-op when it is already there."""
    command.upgrade(alembic_config(engine), "head")


class Store:
    """The database handle every layer above is given explicitly (no module-level engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._writer = threading.Lock()

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Store:
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as s, s.begin():
            yield s

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work that reads and then writes with nobody writing in between.

        SQLite: the transaction starts with ``BEGIN IMMEDIATE``, which takes the database's
        write lock up front (waiting up to busy_timeout), so what it reads stays true until
        it commits; a deferred transaction that reads first could fail with SQLITE_BUSY
        when it later tries to write. pysqlite in its default mode sees the explicit BEGIN
        and issues no BEGIN of its own, and SQLAlchemy's commit ends it; doing this per
        transaction (rather than in an engine-wide ``begin`` event) leaves every other
        transaction as it was. PostgreSQL: a plain transaction; the caller locks the rows
        that serialize it (``SELECT ... FOR UPDATE``)."""
        if not self.is_sqlite:
            with self._sessions() as s, s.begin():
                yield s
            return
        with self._writer, self._sessions() as s, s.begin():
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield s

    def close(self) -> None:
        self.engine.dispose()
