"""Serve marketplace sandboxes with uvicorn on 127.0.0.1 from a background thread.

The sandboxes live in this process (tests and benchmarks inspect `sandbox.store` and
`sandbox.log` directly) and outlive any child process that syncs against them, which is
what a SIGKILL test or a daemon benchmark needs. Built on `connector.cli.adapters_cmd`
(`bind_loopback`, the same quiet uvicorn server `ocop-sync sandbox serve` uses).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from adapters.base import AdapterRegistry
from adapters.sandbox import Sandbox, SandboxOptions, SellerAccount
from connector.cli.adapters_cmd import _QuietServer, bind_loopback
from connector.settings import ShopSettings


@dataclass
class Served:
    """Sandboxes being served, by marketplace, with their base URLs."""

    sandboxes: dict[str, Sandbox]
    urls: dict[str, str]
    servers: list[uvicorn.Server] = field(default_factory=list)


def make_sandboxes(
    shops: tuple[ShopSettings, ...], options: SandboxOptions, registry: AdapterRegistry | None = None
) -> dict[str, Sandbox]:
    """One sandbox per marketplace of `shops`, accepting each shop's seller with its sandbox credentials."""
    registry = registry or AdapterRegistry.from_entry_points()
    out: dict[str, Sandbox] = {}
    for marketplace in sorted({s.marketplace for s in shops}):
        factory = registry.get(marketplace)
        sellers = tuple(
            SellerAccount(seller_id=s.seller_id, credentials=factory.sandbox_credentials(s.seller_id))
            for s in shops
            if s.marketplace == marketplace
        )
        out[marketplace] = factory.create_sandbox(options.model_copy(update={"sellers": sellers}))
    return out


@contextmanager
def serve(sandboxes: Mapping[str, Sandbox], timeout_s: float = 20.0) -> Iterator[Served]:
    """Serve every sandbox on its own loopback port until the block exits."""
    socks = {m: bind_loopback(0) for m in sandboxes}
    servers = [
        _QuietServer(uvicorn.Config(box.app, log_level="warning", lifespan="off", access_log=False))
        for box in sandboxes.values()
    ]
    loop = asyncio.new_event_loop()

    async def main() -> None:
        await asyncio.gather(*(srv.serve(sockets=[socks[m]]) for srv, m in zip(servers, sandboxes, strict=True)))

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True, name="sandboxes")
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not all(s.started for s in servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("sandboxes did not start serving")
        time.sleep(0.02)
    urls = {m: f"http://127.0.0.1:{sock.getsockname()[1]}" for m, sock in socks.items()}
    try:
        yield Served(dict(sandboxes), urls, list(servers))
    finally:
        for srv in servers:
            srv.should_exit = True
        thread.join(timeout=10)
        for sock in socks.values():
            sock.close()


def credentials_env(shops: tuple[ShopSettings, ...], registry: AdapterRegistry | None = None) -> dict[str, str]:
    """`OCOP_SYNC_SHOP_<ID>_<NAME>` variables holding each shop's sandbox credentials (real-credential path)."""
    registry = registry or AdapterRegistry.from_entry_points()
    env: dict[str, str] = {}
    for shop in shops:
        for name, value in registry.get(shop.marketplace).sandbox_credentials(shop.seller_id).items():
            env[shop.credential_env(name)] = value
    return env


def settings_toml(db_url: str, data_dir: Path, shops: tuple[ShopSettings, ...], **sections: dict[str, Any]) -> str:
    """A settings.toml for a child `ocop-sync` process: database, shops and extra sections."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[database]", f"url = {value(db_url)}", f"data_dir = {value(data_dir)}", ""]
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {value(v)}" for k, v in body.items()]
        lines.append("")
    for shop in shops:
        lines.append("[[shops]]")
        data = shop.model_dump(exclude_defaults=True)
        for key in ("id", "marketplace", "seller_id"):
            data[key] = getattr(shop, key)
        lines += [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict)]
        lines.append("")
    return "\n".join(lines)
