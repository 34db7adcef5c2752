"""Alembic migrations: they build exactly the schema the models describe, on SQLite and PostgreSQL.

If `test_migrations_match_models` fails, a model changed without a revision: run
`ocop-sync db revision -m "what changed"`, review the file under connector/store/migrations/versions
and commit it with the model change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from connector.cli import app
from connector.store import make_engine, upgrade
from connector.store.migrate import current_revision, head_revision, migrate_only, schema_drift


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    engine = make_engine(any_db_url)
    yield engine
    engine.dispose()


def test_migrations_match_models(engine: Engine) -> None:
    migrate_only(engine)
    with engine.connect() as conn:
        drift = schema_drift(conn)
    assert not drift, "models changed without a migration revision: " + ", ".join(drift.describe())


def test_upgrade_is_idempotent_and_reaches_head(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() is not None
        assert not schema_drift(conn)
        assert {"product", "producer", "shop", "binding", "action", "alembic_version"} <= set(
            inspect(conn).get_table_names()
        )


def test_upgrade_adds_what_a_revision_is_missing(engine: Engine) -> None:
    """A model change without a revision still runs (tables and columns added), until the test above fails."""
    migrate_only(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE lease"))
        conn.execute(text("ALTER TABLE binding DROP COLUMN qc_since"))
        conn.execute(text("ALTER TABLE shop DROP COLUMN last_error"))  # NOT NULL with a Python default
    with engine.connect() as conn:
        assert {d for d in schema_drift(conn).describe()} >= {"add_table lease", "add_column binding.qc_since"}
    upgrade(engine)
    with engine.connect() as conn:
        assert not schema_drift(conn)


def test_version_table_lives_in_the_test_schema(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar_one()
            assert schema.startswith("t_")
            where = conn.execute(
                text("select table_schema from information_schema.tables where table_name = 'alembic_version'")
            ).scalars()
            assert schema in set(where)
            assert "alembic_version" in inspect(conn).get_table_names(schema=schema)
    finally:
        engine.dispose()


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", f"sqlite:///{db}")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()
