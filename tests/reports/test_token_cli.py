"""`ocop-sync token create | list | revoke`: the token is printed once, stored hashed, never listed."""

from __future__ import annotations

import re
from pathlib import Path

from report_world import A
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from connector.cli import app as cli
from connector.store.models import ApiTokenRow
from connector.web.auth import authenticate, hash_token


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return {"OCOP_SYNC_SETTINGS": str(settings)}


def test_token_lifecycle(world_engine: Engine, world_url: str, tmp_path: Path) -> None:
    env, runner = _env(tmp_path, world_url), CliRunner()
    created = runner.invoke(cli, ["token", "create", "--producer", A, "--label", "HTX Phú Tân"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ocs_[A-Za-z0-9_-]{40,}", token)
    with Session(world_engine) as s:
        row = s.exec(select(ApiTokenRow)).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        principal = authenticate(s, token)
    assert principal is not None and principal.producer_id == A and not principal.is_operator

    operator = runner.invoke(cli, ["token", "create", "--operator"], env=env)
    assert operator.exit_code == 0
    listed = runner.invoke(cli, ["token", "list"], env=env)
    assert listed.exit_code == 0 and "HTX Phú Tân" in listed.stdout and A in listed.stdout
    assert token not in listed.stdout and hash_token(token) not in listed.stdout
    assert operator.stdout.strip().splitlines()[-1] not in listed.stdout

    assert runner.invoke(cli, ["token", "revoke", token], env=env).exit_code == 0
    with Session(world_engine) as s:
        assert authenticate(s, token) is None
    assert runner.invoke(cli, ["token", "revoke", "2"], env=env).exit_code == 0
    assert runner.invoke(cli, ["token", "revoke", "999"], env=env).exit_code == 1


def test_token_create_refuses_bad_combinations(world_engine: Engine, world_url: str, tmp_path: Path) -> None:
    env, runner = _env(tmp_path, world_url), CliRunner()
    assert runner.invoke(cli, ["token", "create"], env=env).exit_code == 2
    assert runner.invoke(cli, ["token", "create", "--operator", "--producer", A], env=env).exit_code == 2
    unknown = runner.invoke(cli, ["token", "create", "--producer", "NOPE"], env=env)
    assert unknown.exit_code == 1 and "ocs_" not in unknown.output
