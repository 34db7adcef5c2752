"""`ocop-sync status` and `runs` tell the truth and stay readable at 80 columns (issue #15 items 2 and D).

Run as a real subprocess with COLUMNS set, over a store whose runs are relative to the real clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len

from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ActionRow, ShopRow, SyncRunRow

NOW = datetime.now(UTC).replace(microsecond=0)  # set again by each test's world: a long suite must not age it
SHOPS = {  # id -> (marketplace, outcomes of its runs, oldest first, with their errors)
    "voso-angiang-ocop": ("voso", [("converged", ""), ("dead_actions", "")]),
    "lazada-hkd01-angiang": (
        "lazada",
        [("converged", ""), ("failed", "AuthFailed: lazada/token: IllegalRefreshToken")],
    ),
    "tiki-ag": ("tiki", [("failed", "TransientError: tiki/listings: 503"), ("converged", "")]),
}
TZ = "Asia/Ho_Chi_Minh"


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)  # runs "a few minutes ago" relative to this test, not to import
    url = f"sqlite:///{tmp_path / 'ocop-sync.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        for shop_id, (market, _) in SHOPS.items():
            s.add(ShopRow(id=shop_id, marketplace=market, seller_id=shop_id.upper()))
        s.flush()
        for shop_id, (market, outcomes) in SHOPS.items():
            for i, (outcome, error) in enumerate(outcomes):
                start = NOW - timedelta(minutes=4 - 2 * i)
                s.add(
                    SyncRunRow(
                        shop_id=shop_id,
                        marketplace=market,
                        kind="incremental",
                        trigger="schedule",
                        worker="host-with-a-long-name:12345",
                        started_at=start,
                        finished_at=start + timedelta(seconds=30),
                        outcome=outcome,
                        error=error,
                        counters={"reads": 12, "writes": 3, "updated": 3},
                    )
                )
        s.add(
            ActionRow(
                shop_id="voso-angiang-ocop",
                sku="AG-0001",
                kind="create",
                reason="test",
                idempotency_key="k",
                state="dead",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    engine.dispose()
    lines = ["[database]", f'url = "{url}"', "[scheduler]", f'timezone = "{TZ}"']
    for shop_id, (market, _) in SHOPS.items():
        lines += ["[[shops]]", f'id = "{shop_id}"', f'marketplace = "{market}"', f'seller_id = "{shop_id.upper()}"']
    path = tmp_path / "settings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ocop_sync(settings_file: Path, columns: int, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_SYNC")}
    env.update(OCOP_SYNC_SETTINGS=str(settings_file), COLUMNS=str(columns), TERM="dumb", NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "connector", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def local(moment: datetime) -> str:
    return (moment + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M")  # Asia/Ho_Chi_Minh has no DST


@pytest.mark.parametrize("command", ["status", "runs"])
def test_tables_fit_80_columns_without_cutting_ids_or_outcomes(settings_file: Path, command: str) -> None:
    out = ocop_sync(settings_file, 80, command)
    assert "…" not in out and "..." not in out
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    words = {w for line in out.splitlines() for w in line.replace("│", " ").split()}
    assert set(SHOPS) <= words  # every shop id whole on one line
    if command == "runs":
        assert {"converged", "dead_actions", "failed"} <= words


def test_status_never_calls_a_failing_shop_ok_and_says_how_to_reconnect(settings_file: Path) -> None:
    out = ocop_sync(settings_file, 240, "status")
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ") and line.split()[1] in SHOPS}
    assert "cần kết nối lại / needs reconnect" in " ".join(out.split())
    assert "ổn / ok" in rows["tiki-ag"]  # failed once, then converged: ok again
    assert "chưa trọn vẹn / degraded" in rows["voso-angiang-ocop"]  # a dead action waits for a person
    assert "ổn" not in rows["lazada-hkd01-angiang"]
    hint = " ".join(out.split())
    assert "OCOP_SYNC_SHOP_LAZADA_HKD01_ANGIANG_REFRESH_TOKEN" in hint
    assert "ocop-sync resync --shop lazada-hkd01-angiang" in hint


@pytest.mark.parametrize("command", ["status", "runs"])
def test_every_time_is_in_the_settings_time_zone_and_says_so(settings_file: Path, command: str) -> None:
    out = ocop_sync(settings_file, 240, command)
    assert out.splitlines()[0] == "giờ / times: Asia/Ho_Chi_Minh (UTC+07:00)"
    last = NOW - timedelta(minutes=2) + timedelta(seconds=30)
    shown = last if command == "status" else NOW - timedelta(minutes=2)
    assert local(shown) in out
    assert (shown.strftime("%Y-%m-%d %H:%M") not in out) or local(shown) == shown.strftime("%Y-%m-%d %H:%M")
