"""Shared fixtures. Stores run on SQLite always and also on PostgreSQL when
MINT_TEST_DATABASE_URL is set (each test in a fresh schema of its own); Redis tests run when
MINT_TEST_REDIS_URL is set (each under a key prefix of its own).

A test that takes a service's fixture is marked with that service, so `-m "not postgres"`
and `-m "not redis"` select by what a test really uses."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelmint.config import Settings
from modelmint.store import Store

# rich takes its width from COLUMNS once, when the CLI's consoles are made at import; which
# test imports the CLI first differs between runs and workers, so the width is set before any.
os.environ["COLUMNS"] = "250"
# Torch, and every server and trainer a test starts, takes all the machine's cores by default;
# xdist's workers then run twice as many OpenMP threads as there are cores, spinning against
# each other, and small models run several times slower (the suite took twice the CPU time).
# Each worker gets its share of the cores instead, unless OMP_NUM_THREADS says otherwise; no
# module above has loaded torch yet, so the setting holds for this process and its children.
# The few jobs that take every core on purpose (the quickstart trains the demo as a user's
# machine would, and the demo's judge) still share them with the other worker, and OpenMP's
# threads spin at each barrier waiting for a thread that has no core: the judge took 607 s
# beside one busy process, 111 s with threads that sleep when they wait (96 s alone).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _share)))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PG_URL = os.environ.get("MINT_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("MINT_TEST_REDIS_URL")
SERVICE_MARKS = {"pg_schema_url": "postgres", "redis_prefix": "redis"}

STORE_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", key_pepper="test-pepper", database_url=None)


@contextmanager
def private_schema() -> Iterator[str]:
    """A database URL whose every connection works in a fresh, private schema, dropped at
    the end."""
    if not PG_URL:
        pytest.skip("MINT_TEST_DATABASE_URL is not set")
    schema = f"mint_test_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    # Without waiting for the WAL flush at each commit, a schema's migrations take a quarter
    # of the time and its drop a tenth; a test database need not survive a server crash.
    no_flush = "-csynchronous_commit%3Doff"
    admin = create_engine(f"{PG_URL}{sep}options={no_flush}")
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}%20{no_flush}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A database URL whose every connection works in a fresh, private schema."""
    with private_schema() as url:
        yield url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis; its keys are deleted afterwards."""
    if not REDIS_URL:
        pytest.skip("MINT_TEST_REDIS_URL is not set")
    import redis

    prefix = f"mint-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for k in client.scan_iter(f"{prefix}*"):
        client.delete(k)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, mark in SERVICE_MARKS.items():
            if fixture in used:
                item.add_marker(mark)
    # xdist hands out modules in this order (make test keeps it: --no-loadscope-reorder); a
    # module that alone takes most of the run must start at once, or the run waits for it.
    items.sort(key=lambda i: i.get_closest_marker("first") is None)


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mint.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def module_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One store per backend for a module's tests that only read what they find there, so
    what they read is built once rather than before each of them."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mint.db'}"
        else:
            url = stack.enter_context(private_schema())
        s = Store.open(url)
        stack.callback(s.close)
        yield s
