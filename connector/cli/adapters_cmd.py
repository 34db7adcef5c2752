"""`ocop-sync adapters list` and `ocop-sync sandbox serve`: the registered marketplaces and their simulators."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.table import Table

from adapters.base import AdapterFactory, AdapterRegistry
from adapters.errors import ConfigError
from adapters.sandbox import FaultSpec, Sandbox, SandboxOptions, SellerAccount
from connector.cli.common import EXIT_BAD_CONFIG, console, err_console, settings_or_exit
from connector.settings import Settings

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8701
DEFAULT_SELLER = "SANDBOX-SELLER"


def registry_or_exit(settings: Settings | None = None) -> AdapterRegistry:
    """The registered adapters; exit 2 when one cannot be loaded or settings name an unknown one."""
    try:
        registry = AdapterRegistry.from_entry_points()
        if settings is not None:
            registry.require(s.marketplace for s in settings.shops)
    except ConfigError as exc:
        err_console.print(f"[red]Sàn không được hỗ trợ / unknown marketplace:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
    except (ImportError, AttributeError) as exc:
        err_console.print(f"[red]Không nạp được adapter / cannot load an adapter:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
    return registry


def _yes(flag: bool) -> str:
    return "✓" if flag else "-"


def adapters_table(registry: AdapterRegistry, settings: Settings) -> Table:
    """One column per registered adapter: its capabilities and how many configured shops use it."""
    table = Table(title="Sàn TMĐT đã đăng ký / registered marketplaces", caption="✓ có / yes   - không / no")
    table.add_column("Khả năng / capability")
    names = registry.names()
    for name in names:
        table.add_column(name)
    factories = [registry.get(n) for n in names]
    caps = [f.capabilities for f in factories]
    rows: list[tuple[str, list[str]]] = [
        ("Cỡ trang / page size", [str(c.page_size) for c in caps]),
        ("Lô ghi giá-tồn / write batch", [str(c.write_batch_size) for c in caps]),
        ("Lọc thời gian / listing since", [_yes(c.listing_since) for c in caps]),
        ("Duyệt khi tạo / reviewed creates", [_yes(c.reviewed_creates) for c in caps]),
        ("Duyệt nội dung / reviewed content", [_yes(c.reviewed_content_updates) for c in caps]),
        ("Đơn hàng / orders", [_yes(c.orders) for c in caps]),
        ("Yêu cầu/giây / requests/s", [f"{c.requests_per_second:g}" for c in caps]),
        ("Thông tin đăng nhập / credentials", ["\n".join(f.credential_names) for f in factories]),
        (
            "Gian hàng cấu hình / configured shops",
            [str(sum(s.marketplace == n for s in settings.shops)) for n in names],
        ),
    ]
    for label, values in rows:
        table.add_row(label, *values)
    return table


@dataclass(frozen=True)
class ServedSandbox:
    """One simulator bound to a loopback socket."""

    marketplace: str
    factory: AdapterFactory
    sandbox: Sandbox
    sock: socket.socket

    @property
    def base_url(self) -> str:
        """Where clients reach this simulator: the base URL a real client of that marketplace is configured with."""
        return f"http://{LOOPBACK}:{self.sock.getsockname()[1]}{self.sandbox.api_base_path}"


def sellers_for(marketplace: str, settings: Settings, explicit: Sequence[str]) -> list[str]:
    """The seller ids a simulator accepts: those given, else the configured shops', else a demo seller."""
    configured = [s.seller_id for s in settings.shops if s.marketplace == marketplace]
    return list(dict.fromkeys(explicit or configured or [DEFAULT_SELLER]))


def bind_loopback(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:`port` (0 picks a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_sandboxes` (several servers, one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Do not install per-server signal handlers."""
        yield


async def serve_sandboxes(served: Sequence[ServedSandbox]) -> None:
    """Serve every simulator until SIGINT/SIGTERM, then shut all of them down cleanly."""
    servers = [
        _QuietServer(uvicorn.Config(s.sandbox.app, log_level="warning", lifespan="off", access_log=False))
        for s in served
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        tasks = [asyncio.create_task(server.serve(sockets=[s.sock])) for server, s in zip(servers, served, strict=True)]
        while not all(server.started for server in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.05)
        else:
            console.print("[green]Sẵn sàng / ready[/green] — Ctrl-C để dừng / to stop", highlight=False)
        await asyncio.gather(*tasks)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def served_lines(served: Sequence[ServedSandbox]) -> list[str]:
    """Base URL, sellers and the sandbox-only credentials each simulator accepts, one fact per line."""
    lines: list[str] = []
    for s in served:
        lines.append(f"{s.marketplace}  {s.base_url}")
        for seller in s.sandbox.options.sellers:
            creds = " ".join(f"{k}={v}" for k, v in sorted(seller.credentials.items()))
            lines.append(f"    seller {seller.seller_id}: {creds}")
    return lines


def register(app: typer.Typer) -> None:
    """Attach the `adapters` and `sandbox` groups."""
    adapters_group = typer.Typer(help="Sàn TMĐT được hỗ trợ / marketplace adapters", no_args_is_help=True)
    sandbox_group = typer.Typer(help="Sàn mô phỏng để thử / marketplace simulators", no_args_is_help=True)

    @adapters_group.command("list")
    def list_adapters() -> None:
        """Liệt kê các sàn và khả năng / list registered marketplaces and their capabilities."""
        settings = settings_or_exit()
        registry = registry_or_exit(settings)
        console.print(adapters_table(registry, settings))

    @sandbox_group.command("serve")
    def serve(
        marketplace: Annotated[
            str | None, typer.Option("--marketplace", "-m", help="chỉ một sàn / only this marketplace")
        ] = None,
        port: Annotated[
            int, typer.Option(help="cổng đầu tiên; N, N+1, ... khi chạy nhiều sàn; 0 = tự chọn / first port")
        ] = DEFAULT_PORT,
        faults: Annotated[
            str, typer.Option(help='lỗi giả lập / injected faults, e.g. "error=0.1,throttle=0.05,seed=1"')
        ] = "",
        seller: Annotated[
            list[str] | None, typer.Option("--seller", help="mã người bán (lặp lại được) / seller id, repeatable")
        ] = None,
        qc_delay_s: Annotated[float, typer.Option(help="giây duyệt / review delay, seconds")] = 30.0,
        buyers_per_minute: Annotated[float, typer.Option(help="đơn mua giả lập / simulated orders per minute")] = 0.0,
    ) -> None:
        """Chạy sàn mô phỏng trên 127.0.0.1 / serve the marketplace simulators on loopback."""
        settings = settings_or_exit()
        registry = registry_or_exit(settings)
        try:
            names = [registry.get(marketplace).name] if marketplace else registry.names()
            spec = FaultSpec.parse(faults)
        except ConfigError as exc:
            err_console.print(f"[red]Sàn không được hỗ trợ / unknown marketplace:[/red] {exc}")
            raise typer.Exit(EXIT_BAD_CONFIG) from exc
        except (ValueError, ValidationError) as exc:
            err_console.print(f"[red]Chuỗi lỗi giả lập sai / bad --faults:[/red] {exc}")
            raise typer.Exit(EXIT_BAD_CONFIG) from exc
        served: list[ServedSandbox] = []
        try:
            for offset, name in enumerate(names):
                factory = registry.get(name)
                sellers = tuple(
                    SellerAccount(seller_id=sid, credentials=factory.sandbox_credentials(sid))
                    for sid in sellers_for(name, settings, seller or [])
                )
                options = SandboxOptions(
                    sellers=sellers, faults=spec, qc_delay_s=qc_delay_s, buyers_per_minute=buyers_per_minute
                )
                served.append(ServedSandbox(name, factory, factory.create_sandbox(options), _bind(port, offset)))
            console.print("Sandbox (chỉ để thử / for testing only):", highlight=False)
            for line in served_lines(served):
                console.print(line, highlight=False, soft_wrap=True, markup=False)
            console.print(
                "Thông tin đăng nhập trên chỉ dùng cho sandbox, không phải bí mật / "
                "the logins above are sandbox-only, not secrets.",
                highlight=False,
            )
            asyncio.run(serve_sandboxes(served))
        finally:
            for s in served:
                s.sock.close()
        console.print("Đã dừng / stopped.")

    app.add_typer(adapters_group, name="adapters")
    app.add_typer(sandbox_group, name="sandbox")


def _bind(port: int, offset: int) -> socket.socket:
    try:
        return bind_loopback(port + offset if port else 0)
    except OSError as exc:
        err_console.print(f"[red]Không mở được cổng / cannot listen on {LOOPBACK}:{port + offset}:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
