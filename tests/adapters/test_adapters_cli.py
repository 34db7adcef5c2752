"""`ocop-sync adapters list` and `ocop-sync sandbox serve`, run as a user runs them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from contract_kit import draft
from pydantic import SecretStr
from typer.testing import CliRunner

from adapters.base import AdapterConfig
from adapters.lazada import LazadaAdapter
from adapters.lazada.signing import signed_params
from adapters.voso import VosoAdapter
from connector.cli import app

pytestmark = pytest.mark.timeout(60)
OCOP_SYNC = Path(sys.executable).with_name("ocop-sync")
URL_LINE = re.compile(r"^(\w+)\s+(http://127\.0\.0\.1:\d+(?:/\w+)?)$")


def settings_file(tmp_path: Path, marketplaces: dict[str, str]) -> Path:
    """A settings.toml with one sandbox shop per `{marketplace: seller_id}`."""
    shops = "".join(
        f'[[shops]]\nid = "{m}-t"\nmarketplace = "{m}"\nseller_id = "{seller}"\nbase_url = "sandbox"\n\n'
        for m, seller in marketplaces.items()
    )
    path = tmp_path / "settings.toml"
    path.write_text(f'[database]\ndata_dir = "{tmp_path}"\n\n{shops}', encoding="utf-8")
    return path


def test_adapters_list_shows_every_registered_marketplace(tmp_path: Path) -> None:
    """The table names lazada, tiki and voso with their capabilities and configured shops."""
    env = {"OCOP_SYNC_SETTINGS": str(settings_file(tmp_path, {"voso": "V1", "tiki": "T1"})), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["adapters", "list"], env=env)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "capability" in line)
    assert [n for n in ("lazada", "tiki", "voso") if n in header] == ["lazada", "tiki", "voso"]
    shops = next(line for line in result.output.splitlines() if "configured shops" in line)
    assert re.findall(r"\b\d+\b", shops) == ["0", "1", "1"]
    assert "requests/s" in result.output and "username" in result.output


@pytest.mark.parametrize("command", [["adapters", "list"], ["sandbox", "serve", "--port", "0"]])
def test_unknown_marketplace_in_settings_fails_at_start_listing_the_available_ones(
    tmp_path: Path, command: list[str]
) -> None:
    """A shop naming an adapter nobody registered stops the command with exit 2 and the known names."""
    env = {"OCOP_SYNC_SETTINGS": str(settings_file(tmp_path, {"shopee": "X1"})), "COLUMNS": "200"}
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2
    assert "'shopee'" in result.output and "lazada, tiki, voso" in result.output


def test_sandbox_serve_refuses_a_bad_fault_spec(tmp_path: Path) -> None:
    """A typo in --faults is reported before anything is served."""
    env = {"OCOP_SYNC_SETTINGS": str(settings_file(tmp_path, {})), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["sandbox", "serve", "--faults", "eror=0.1"], env=env)
    assert result.exit_code == 2 and "eror" in result.output


class Served:
    """A running `ocop-sync sandbox serve` subprocess and the base URLs it printed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.urls: dict[str, str] = {}
        self.output: list[str] = []

    async def wait_ready(self, deadline_s: float = 20.0) -> None:
        """Read output until the servers say they are ready."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(deadline_s):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"sandbox serve exited early: {self.output}")
                line = raw.decode().rstrip()
                self.output.append(line)
                if match := URL_LINE.match(line):
                    self.urls[match.group(1)] = match.group(2)
                if "ready" in line:
                    return


def free_port_run(count: int) -> int:
    """A loopback port N such that N .. N+count-1 are all free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first: int = probe.getsockname()[1]
        if first + count > 65535:
            continue
        socks = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no run of free loopback ports")


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Served]:
    """`ocop-sync sandbox serve` on a free loopback port, always stopped afterwards."""
    env = {
        **os.environ,
        "OCOP_SYNC_SETTINGS": str(settings_file(tmp_path, {"lazada": "LZ1", "voso": "VS1"})),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    port = free_port_run(3)
    proc = await asyncio.create_subprocess_exec(
        str(OCOP_SYNC),
        "sandbox",
        "serve",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    served = Served(proc)
    try:
        await served.wait_ready()
        yield served
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_served_lazada_accepts_a_signed_call_and_rejects_a_bad_signature(serve: Served) -> None:
    """Over real loopback HTTP: the Lazada adapter's signed /products/get works; a wrong sign is IncompleteSignature."""
    base = serve.urls["lazada"]
    assert base.endswith("/rest"), "printed as a Lazada client is configured: the gateway URL ends in /rest"
    creds = LazadaAdapter.sandbox_credentials("LZ1")
    assert any(creds["app_key"] in line for line in serve.output), "the sandbox login is printed"
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as http:
        config = AdapterConfig(
            marketplace="lazada",
            shop_id="lazada-t",
            seller_id="LZ1",
            base_url=base,
            credentials={k: SecretStr(v) for k, v in creds.items()},
        )
        adapter = LazadaAdapter.from_config(config, http)
        await adapter.refresh_auth()
        pages = [page async for page in adapter.list_listings()]
        assert pages and pages[0].listings == ()
        params = signed_params(
            "/products/get",
            {"filter": "all", "limit": "10"},
            app_key=creds["app_key"],
            app_secret=creds["app_secret"],
            now=datetime.now(UTC),
            access_token=adapter.export_tokens()["access_token"],
        )
        good = await http.get("/products/get", params=params)
        bad = await http.get("/products/get", params={**params, "sign": "0" * 64})
    assert good.json()["code"] == "0", good.json()
    assert bad.status_code == 200 and bad.json()["code"] == "IncompleteSignature"


async def test_served_voso_logs_in_with_the_printed_credentials_and_stops_on_ctrl_c(serve: Served) -> None:
    """The Voso sandbox accepts its printed login over loopback; SIGINT stops the server cleanly."""
    base = serve.urls["voso"]
    assert set(serve.urls) == {"lazada", "tiki", "voso"}
    ports = sorted(urlsplit(url).port or 0 for url in serve.urls.values())
    assert ports == [ports[0], ports[0] + 1, ports[0] + 2], "one port per marketplace: N, N+1, N+2"
    creds = VosoAdapter.sandbox_credentials("VS1")
    assert any(f"password={creds['password']}" in line for line in serve.output)
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as http:
        config = AdapterConfig(
            marketplace="voso",
            shop_id="voso-t",
            seller_id="VS1",
            base_url=base,
            credentials={k: SecretStr(v) for k, v in creds.items()},
        )
        adapter = VosoAdapter.from_config(config, http)
        created = await adapter.create(draft("SERVE-1"))
        assert created.ref.seller_sku == "SERVE-1"
        listing = await adapter.get_listing("SERVE-1")
        assert listing is not None
    serve.proc.send_signal(signal.SIGINT)
    async with asyncio.timeout(15):
        rest = (await serve.proc.communicate())[0].decode()
    assert serve.proc.returncode == 0, rest
    assert "stopped" in rest
