from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from modelmint.store import Base, Store, migrate


def test_migrations_create_every_table(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_tables_and_migrations_agree(store: Store) -> None:
    """A column added to the models without a migration shows up here as a diff."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrating_twice_is_a_no_op(store: Store) -> None:
    migrate(store.engine)
    migrate(store.engine)
    assert "usage_events" in inspect(store.engine).get_table_names()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    s = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
