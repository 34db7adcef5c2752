"""Fixtures shared by every test: databases (SQLite and, when reachable, PostgreSQL)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from connector.store import make_engine, upgrade

PG_URL_ENV = "OCOP_SYNC_TEST_PG_URL"
THREAD_GRACE_S = 10.0
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    """The PostgreSQL server tests use; in CI an unreachable server fails the test instead of skipping."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def _pg_reachable(url: str) -> str | None:
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001  (any failure means "not reachable"; reported verbatim)
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test; dropped afterwards."""
    admin = postgres_admin_url()
    problem = _pg_reachable(admin)
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {admin} is unreachable in CI: {problem}")
        pytest.skip(f"PostgreSQL at {admin} is unreachable: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in admin else "?"
    yield f"{admin}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'ocop-sync.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ocop-sync.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite engine."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# Whole suites that run processes, served sandboxes, a browser or long property runs: part of `make test`,
# left out of the inner loop (`make test-fast`, which deselects the `slow` mark).
SLOW_SUITES = (
    "tests/reliability/",
    "tests/daemon/",
    "tests/api/test_browser.py",
    "tests/api/test_openapi_fuzz.py",
    "tests/adapters/test_adapters_cli.py",
    "tests/engine/test_cli_served.py",
    "tests/engine/test_sync_sandboxes.py",
    "tests/engine/test_observation_cost.py",
    "tests/engine/test_order_lifecycle.py",
    "tests/engine/test_push_events.py",
    "tests/engine/test_connect.py",
    "tests/engine/test_shop_cmd.py",
    "tests/store/test_busy_database.py",
    "tests/reports/test_synced_demo.py",
    "tests/reports/test_cli_tables.py",
    "tests/reports/test_delivery.py",
    "tests/reports/test_token_cli.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of a slow suite `slow` (see SLOW_SUITES)."""
    root = Path(str(config.rootpath))
    for item in items:
        relative = Path(str(item.path)).relative_to(root).as_posix()
        if relative.startswith(SLOW_SUITES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def no_thread_left_running() -> Iterator[None]:
    """Fail the test that leaves a non-daemon thread running: at exit Python waits for it, and a CI run
    whose tests all passed would hang until its time limit (seen once: 55 minutes after the summary)."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and not t.daemon and t.is_alive()]
    for thread in left:
        thread.join(THREAD_GRACE_S / len(left))
    still = [t.name for t in left if t.is_alive()]
    if still:
        pytest.fail(f"the test left non-daemon threads running: {', '.join(still)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Name any non-daemon thread still alive when the run ends (the interpreter would wait for it)."""
    alive = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if alive:
        print(f"\nnon-daemon threads alive at the end of the run: {', '.join(alive)}")
