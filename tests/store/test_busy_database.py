"""A busy SQLite database is not a crash: CLI commands wait a bounded time, then exit with one line and code 75.

Another connection holds the write lock (as the daemon does mid-transaction) while real
`ocop-sync` child processes run. Read-only commands never need that lock, and a command
whose migrations are all applied checks them without taking it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.cli.common import EXIT_DATABASE_BUSY

OCOP_SYNC = Path(sys.executable).with_name("ocop-sync")


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one `ocop-sync` command to completion (bounded in time)."""
    return subprocess.run(
        [str(OCOP_SYNC), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], Path]]:
    """A settings file, a migrated database seeded with the demo catalog, and that catalog exported to CSV."""
    db = tmp_path / "ocop.db"
    (tmp_path / "settings.toml").write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_SYNC")}
    env["OCOP_SYNC_SETTINGS"] = str(tmp_path / "settings.toml")
    assert run_cli(["demo", "seed"], tmp_path, env).returncode == 0
    exported = run_cli(["catalog", "export", "-o", str(tmp_path / "catalog.csv")], tmp_path, env)
    assert exported.returncode == 0, exported.stderr
    yield tmp_path, env, db


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another connection in the middle of a write transaction (it holds the write lock until it ends)."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE product SET stock = stock WHERE 0")
    return holder


@pytest.mark.slow
def test_an_import_into_a_locked_database_ends_with_one_line_and_code_75(
    workdir: tuple[Path, dict[str, str], Path],
) -> None:
    cwd, env, db = workdir
    holder = hold_write_lock(db)
    try:
        done = run_cli(
            ["catalog", "import", str(cwd / "catalog.csv")], cwd, {**env, "OCOP_SYNC__DATABASE__LOCK_TIMEOUT_S": "1"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == EXIT_DATABASE_BUSY == 75, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "Cơ sở dữ liệu đang bận (tiến trình khác đang ghi), chờ tối đa 1 giây… / "
        "database busy (another process is writing), waiting up to 1 s…",
        "Lỗi: cơ sở dữ liệu vẫn bị khóa sau 1 giây; hãy thử lại sau (database.lock_timeout_s) / "
        "error: the database is still locked after 1 s; try again later (database.lock_timeout_s)",
    ]
    again = run_cli(["catalog", "import", str(cwd / "catalog.csv")], cwd, env)  # the lock is gone: it works
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_read_only_commands_work_while_another_process_writes(workdir: tuple[Path, dict[str, str], Path]) -> None:
    cwd, env, db = workdir
    holder = hold_write_lock(db)
    try:
        fast = {**env, "OCOP_SYNC__DATABASE__LOCK_TIMEOUT_S": "1"}
        results = {
            " ".join(args): run_cli(args, cwd, fast)
            for args in (["status"], ["runs"], ["catalog", "summary"], ["report", "runs"], ["report", "drift"])
        }
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for command, done in results.items():
        assert done.returncode == 0, (command, done.stderr)
        assert "đang bận" not in done.stderr, command  # no wait: migrations were checked without the lock
    assert "OCOP" in results["catalog summary"].stdout
