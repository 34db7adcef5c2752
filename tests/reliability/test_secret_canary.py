"""Secret canaries: planted in every secret the service can hold, they must never come out.

The sandboxes are served on loopback and accept canary credentials, so the shops take the
real-credential path (`OCOP_SYNC_SHOP_<ID>_<NAME>` from the environment). The run syncs
under injected failures with DEBUG logging, renders every report in every format, runs
`config show`, `runs`, `status` and the report commands as a child process, then looks for
every canary in the captured logs, the CLI output, the reports, every row of every table
and the raw database file.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

from adapters.base import AdapterRegistry
from adapters.sandbox import FaultSpec, SandboxOptions, SellerAccount
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.engine.tokens import SECRET_KEY_ENV
from connector.reports.queries import drift_report, producer_ids, producer_report, run_history
from connector.reports.render import render_drift, render_producer, render_runs
from connector.settings import ShopSettings
from connector.store import session_scope
from connector.testing.loopback import serve, settings_toml
from connector.testing.world import MARKETPLACES, seed_synthetic, settings_for, shops
from schemas.sync import RunKind
from tests.daemon.daemon_kit import env_for

FORMATS = ("json", "csv", "md", "html")


@pytest.fixture(scope="session")
def canaries() -> dict[str, str]:
    """Canary values for every secret: the token key, SMTP password and every shop credential."""
    tag = uuid.uuid4().hex[:10]
    values = {SECRET_KEY_ENV: Fernet.generate_key().decode(), "OCOP_SYNC__REPORTS__SMTP_PASSWORD": f"smtp-{tag}"}
    registry = AdapterRegistry.from_entry_points()
    for shop in shops():
        for name in registry.get(shop.marketplace).credential_names:
            values[shop.credential_env(name)] = f"canary-{shop.marketplace}-{name}-{tag}"
    return values


def sellers_for(shop: ShopSettings, canaries: dict[str, str]) -> tuple[SellerAccount, ...]:
    """The sandbox seller, accepting exactly the canary credentials."""
    names = AdapterRegistry.from_entry_points().get(shop.marketplace).credential_names
    return (SellerAccount(seller_id=shop.seller_id, credentials={n: canaries[shop.credential_env(n)] for n in names}),)


@pytest.fixture
def secret_env(canaries: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The canaries set in this process's environment."""
    for key, value in canaries.items():
        monkeypatch.setenv(key, value)
    yield canaries


def leaks(haystack: str, canaries: dict[str, str], where: str) -> list[str]:
    """Which canaries appear in `haystack` (by variable name)."""
    return [f"{name} in {where}" for name, value in canaries.items() if value in haystack]


@pytest.mark.timeout(240)
async def test_no_secret_reaches_logs_reports_cli_or_database(
    tmp_path: Path, secret_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registry = AdapterRegistry.from_entry_points()
    base = shops()
    faults = FaultSpec(error_rate=0.1, throttle_rate=0.1, reset_rate=0.05, lost_response_rate=0.1, retry_after_s=0.01)
    boxes = {
        m: registry.get(m).create_sandbox(
            SandboxOptions(
                sellers=sellers_for(next(s for s in base if s.marketplace == m), secret_env),
                faults=faults,
                rate_limit_per_s=100_000,
                token_ttl_s=2,  # tokens expire and rotate during the run
                seed=3,
            )
        )
        for m in MARKETPLACES
    }
    db_file = tmp_path / "canary.db"
    db_url = f"sqlite:///{db_file}"
    found: list[str] = []
    with serve(boxes) as served:
        shop_list = shops(served.urls, rps=500)
        settings = settings_for(db_url, tmp_path, shop_list, timeout_s=2.0)
        ctx = AppContext.build(settings)
        seed_synthetic(ctx.engine, 15)
        for _ in range(3):
            await sync_shops(ctx, kind=RunKind.FULL)
            for box in boxes.values():
                box.tick_reviews()
        for box in boxes.values():  # an unauthorised run: wrong credentials must not echo the right ones
            box.sellers = {}
        await sync_shops(ctx, kind=RunKind.INCREMENTAL)
        with session_scope(ctx.engine) as session:
            now = ctx.clock()
            drift, runs = drift_report(session, settings, now=now), run_history(session, now=now)
            producers = [producer_report(session, settings, pid, now=now) for pid in producer_ids(session)]
        rendered = [render_drift(drift, f) for f in FORMATS] + [render_runs(runs, f) for f in FORMATS]  # type: ignore[arg-type]
        rendered += [render_producer(p, f) for p in producers[:3] for f in FORMATS]  # type: ignore[arg-type]
        found += leaks("\n".join(rendered), secret_env, "reports")
        settings_file = tmp_path / "settings.toml"
        settings_file.write_text(settings_toml(db_url, tmp_path, shop_list), encoding="utf-8")
        env = env_for(settings_file, **secret_env)
        commands = [
            ["config", "show"],
            ["runs"],
            ["status"],
            ["report", "drift", "-f", "json"],
            ["report", "runs", "-f", "csv"],
            ["resync", "--now"],
        ]
        exit_codes: dict[str, int] = {}
        for args in commands:
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "connector", *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            found += leaks(done.stdout + done.stderr, secret_env, f"`ocop-sync {' '.join(args)}`")
            # a command that crashed before printing anything would leak nothing: each must have done its job
            exit_codes[" ".join(args)] = done.returncode
            assert done.stdout.strip(), (args, done.stderr[-2000:])
        # every command succeeds (resync --now records and runs the request, whatever the run's outcome)
        assert exit_codes == {" ".join(a): 0 for a in commands}, exit_codes
        with ctx.engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()
                found += leaks("\n".join(map(repr, rows)), secret_env, f"table {table}")
        ctx.engine.dispose()
    log_text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records) + caplog.text
    found += leaks(log_text, secret_env, "logs")
    found += leaks(db_file.read_bytes().decode("latin-1"), secret_env, "database file")
    assert len(caplog.records) > 0 and any(r.levelno >= logging.WARNING for r in caplog.records)
    assert found == []


@pytest.mark.timeout(60)
def test_oauth_callback_leaks_no_secret(
    tmp_path: Path, secret_env: dict[str, str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connecting Lazada through the daemon's callback: no code, token or secret in logs, pages or the database."""
    import httpx
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from connector.engine.tokens import TokenVault, load_tokens
    from connector.store.migrate import upgrade
    from connector.web.app import build_api
    from connector.web.auth import Role, create_token

    caplog.set_level(logging.DEBUG)
    lazada = next(s for s in shops() if s.marketplace == "lazada")
    monkeypatch.delenv(lazada.credential_env("refresh_token"), raising=False)  # connecting is what yields it
    box = (
        AdapterRegistry.from_entry_points()
        .get("lazada")
        .create_sandbox(SandboxOptions(sellers=sellers_for(lazada, secret_env), rate_limit_per_s=100_000, seed=4))
    )
    db_file = tmp_path / "callback.db"
    with serve({"lazada": box}) as served:
        shop = shops(served.urls, marketplaces=("lazada",))[0].model_copy(
            update={"options": {"redirect_uri": "http://testserver/oauth/lazada/callback"}}
        )
        ctx = AppContext.build(settings_for(f"sqlite:///{db_file}", tmp_path, (shop,)))
        upgrade(ctx.engine)
        with session_scope(ctx.engine) as session:
            operator = create_token(session, role=Role.OPERATOR, now=ctx.clock())[1]
        header = {"Authorization": f"Bearer {operator}"}
        with TestClient(build_api(ctx)) as client:
            start = client.get(f"/oauth/lazada/start?shop={shop.id}", headers=header, follow_redirects=False)
            landed = httpx.URL(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
            code = str(landed.params["code"])
            callback = f"/oauth/lazada/callback?{landed.query.decode()}"
            pages = [client.get(callback.replace("state=", "state=x"), headers=header)]  # refused first
            pages += [client.get(callback, headers=header), client.get(callback, headers=header)]  # then once
        assert [p.status_code for p in pages] == [400, 200, 400]
        with Session(ctx.engine) as session:
            stored = load_tokens(session, TokenVault(secret_env[SECRET_KEY_ENV]), shop.id)
        assert stored is not None
        with ctx.engine.connect() as conn:
            rows = "\n".join(
                repr(conn.execute(text(f'SELECT * FROM "{t}"')).fetchall()) for t in inspect(conn).get_table_names()
            )
        ctx.engine.dispose()
    # the app key is public by design (it is the client_id of the authorisation address)
    planted = {k: v for k, v in secret_env.items() if not k.endswith("_APP_KEY")}
    planted |= {"code": code} | {f"stored {k}": v for k, v in stored.items() if k.endswith("token")}
    log_text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records) + caplog.text
    found = leaks(log_text, planted, "logs") + leaks("\n".join(p.text for p in pages), planted, "pages")
    found += leaks(rows, planted, "tables") + leaks(db_file.read_bytes().decode("latin-1"), planted, "database file")
    assert found == [], [r.getMessage() for r in caplog.records if code in r.getMessage()]
