"""The CLI against sandboxes served on loopback: `sync --full` converges, an immediate `sync` writes nothing.

The sandboxes run in this process under uvicorn (so they outlive each CLI command); each
`ocop-sync` command is a real child process reading a settings file whose shops point at the
served URLs, with the sandbox credentials given through the environment as real ones would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from adapters.sandbox import SandboxOptions
from connector.settings import ShopSettings
from connector.testing.loopback import credentials_env, make_sandboxes, serve, settings_toml

OCOP_SYNC = Path(sys.executable).with_name("ocop-sync")
MARKETPLACES = ("lazada", "tiki", "voso")


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one `ocop-sync` command to completion (bounded in time)."""
    return subprocess.run(
        [str(OCOP_SYNC), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_full_sync_then_an_immediate_sync_makes_no_write_call(tmp_path: Path) -> None:
    shops = tuple(ShopSettings(id=f"{m}-ag", marketplace=m, seller_id=f"AG-{m.upper()}") for m in MARKETPLACES)
    # Reviews take an hour here, as on real marketplaces: listings under review stay QC_PENDING.
    boxes = make_sandboxes(shops, SandboxOptions(seed=1, qc_delay_s=3600))
    with serve(boxes) as served:
        placed = tuple(s.model_copy(update={"base_url": served.urls[s.marketplace]}) for s in shops)
        settings = tmp_path / "settings.toml"
        settings.write_text(settings_toml(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path / "var", placed))
        env = {**os.environ, **credentials_env(placed), "OCOP_SYNC_SETTINGS": str(settings), "COLUMNS": "200"}
        seeded = run_cli(["demo", "seed"], tmp_path, env)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr

        first = run_cli(["sync", "--full"], tmp_path, env)
        writes_after_first = {m: sum(e.is_write for e in b.log) for m, b in boxes.items()}
        runs = latest_runs(tmp_path, env, 3)
        # a create waiting in a review queue is done as far as the run goes: every shop converges
        outcomes = {r["shop_id"]: r["outcome"] for r in runs}
        assert outcomes == {s.id: "converged" for s in shops}, outcomes
        assert first.returncode == 0, first.stdout + first.stderr  # 0: every shop converged
        created = {r["shop_id"]: r["counters"]["created"] for r in runs}
        assert created == {s.id: 87 for s in shops}, (created, first.stdout)  # 92 products, set 26 and 4 expired
        assert all(box.store.duplicate_creates() == {} for box in boxes.values())

        again = run_cli(["sync"], tmp_path, env)
        assert again.returncode == 0, again.stdout + again.stderr  # every shop converged
        assert {m: sum(e.is_write for e in b.log) for m, b in boxes.items()} == writes_after_first
        second = latest_runs(tmp_path, env, 3)
        assert {r["kind"] for r in second} == {"incremental"}
        assert all(r["counters"]["writes"] == 0 and r["outcome"] == "converged" for r in second), second
        assert "write calls made: 0" in again.stdout


def latest_runs(cwd: Path, env: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The newest `count` sync runs as `ocop-sync runs --json` reports them."""
    listed = run_cli(["runs", "--json", "--limit", str(count)], cwd, env)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)["runs"]
    return rows
