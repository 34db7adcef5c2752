"""Bringing a database's schema up to date with Alembic, at start and by `ocop-sync db upgrade`.

The migration scripts live in `connector/store/migrations` and ship inside the package, so no
alembic.ini is needed. The version table goes into the connection's current schema (on
PostgreSQL, the first entry of `search_path`).

Changing `connector/store/models.py` needs a revision: `ocop-sync db revision -m "what changed"`
autogenerates one against a scratch SQLite database; review it, then commit it with the model
change. Until then `upgrade` adds the missing tables and nullable/defaulted columns itself (with a
warning) so work in progress keeps running, and `tests/store/test_migrations.py` fails.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata, produce_migrations
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations, ops
from alembic.script import ScriptDirectory
from sqlalchemy import Column, DefaultClause, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from connector.store import models  # noqa: F401  (registers the tables)
from connector.store.db import make_engine, read_only

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemaDrift:
    """Differences between the models and a migrated database, as Alembic's autogenerate sees them."""

    diffs: tuple[Any, ...]

    def __bool__(self) -> bool:
        return bool(self.diffs)

    def describe(self) -> list[str]:
        """One readable line per difference (e.g. "add_column product.origin")."""
        return [_describe(diff) for diff in self.diffs]


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # modify_* entries come grouped in a list
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    if kind == "add_table" or kind == "remove_table":
        return f"{kind} {rest[0].name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {rest[1]}.{rest[2].name}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        return f"{kind} {getattr(rest[0], 'name', rest[0])}"
    return f"{kind} {rest[:3]}"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations (and `connection`, when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision id among the packaged migrations."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for a database never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_drift(connection: Connection) -> SchemaDrift:
    """What the models have that the database lacks (or the other way round), ignoring type details."""
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return SchemaDrift(tuple(compare_metadata(context, SQLModel.metadata)))


def migrate_only(engine: Engine) -> None:
    """Apply the packaged migrations up to head, nothing else (used to check and write revisions)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def upgrade(engine: Engine) -> None:
    """Create or migrate every table so the schema matches `connector.store.models`.

    Checked first without the write lock: when the database is already at head and has no
    unmigrated model change, nothing is locked (a command can start while another writes).
    """
    if is_up_to_date(engine):
        return
    with engine.begin() as connection:
        config = alembic_config(connection)
        if current_revision(connection) is None and inspect(connection).has_table("product"):
            # a database made before migrations existed (plain create_all): adopt it at the first revision
            command.stamp(config, ScriptDirectory.from_config(config).get_base() or "base")
        command.upgrade(config, "head")
        _add_unmigrated(connection)


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the head revision and matches the models, read without any write lock."""
    with read_only(engine).connect() as connection:
        if current_revision(connection) != head_revision():
            return False
        return not _additive_ops(connection)


def _additive_ops(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    script = produce_migrations(context, SQLModel.metadata)
    found = script.upgrade_ops.ops if script.upgrade_ops is not None else []
    return [op for op in _flatten(found) if _is_additive(op)]


def _add_unmigrated(connection: Connection) -> None:
    """Stopgap for a model change that has no revision yet: add its new tables and columns."""
    additive = _additive_ops(connection)
    if not additive:
        return
    log.warning(
        "schema: the models have changes with no migration revision (%s); adding them now. "
        "Run `ocop-sync db revision -m MSG` and commit the revision.",
        ", ".join(type(op).__name__ for op in additive),
    )
    operations = Operations(MigrationContext.configure(connection, opts={"compare_type": False}))
    for op in additive:
        operations.invoke(_with_server_default(op))


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        flat += _flatten(item.ops) if isinstance(item, ops.ModifyTableOps) else [item]
    return flat


def _is_additive(op: Any) -> bool:
    if isinstance(op, ops.CreateTableOp | ops.CreateIndexOp):
        return True
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        return bool(column.nullable or column.server_default is not None or _scalar_default(column) is not None)
    return False


def _scalar_default(column: Column[Any]) -> str | None:
    """The SQL literal for a column's plain Python default (bool, int, float, str), if it has one."""
    default = column.default
    value = getattr(default, "arg", None) if default is not None and default.is_scalar else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def _with_server_default(op: Any) -> Any:
    """A NOT NULL column added to existing rows needs a server default: take it from the Python default."""
    if not isinstance(op, ops.AddColumnOp) or op.column.nullable or op.column.server_default is not None:
        return op
    literal = _scalar_default(op.column)
    column = op.column._copy()
    column.server_default = DefaultClause(text(literal or "NULL"))
    return ops.AddColumnOp(op.table_name, column, schema=op.schema)


def write_revision(message: str) -> Path:
    """Autogenerate a revision for the model changes the migrations lack; return its file."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'revision.db'}")
        try:
            migrate_only(engine)
            with engine.begin() as connection:
                script = command.revision(alembic_config(connection), message=message, autogenerate=True)
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic did not produce exactly one revision")
    return Path(script.path)
