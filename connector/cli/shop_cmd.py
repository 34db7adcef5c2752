"""`ocop-sync shop`: connect a real seller account, list connections, disconnect.

`shop connect SHOP` runs the marketplace's own onboarding: for Lazada (and Tiki partner apps) it
prints the seller-authorisation address, then reads back the address the browser was sent to
(or the bare code) without echoing it, checks the `state`, exchanges the code and stores the
tokens encrypted; Tiki in-house apps and Voso log in with the shop's credentials. No token is
ever printed. Exit codes: 0 connected, 1 the marketplace or the handshake refused, 2 bad configuration.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer

from adapters.categories import Category, CategoryReader, search
from adapters.errors import AdapterError, ConfigError
from connector.cli.common import EXIT_BAD_CONFIG, console, err_console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.context import AppContext
from connector.engine.categories import refresh_categories
from connector.engine.connect import (
    Connected,
    ConnectError,
    StateBook,
    begin_connect,
    connect_with_credentials,
    disconnect,
    finish_connect,
    require_vault,
)
from connector.engine.tokens import SecretKeyError, TokenVault, connections, load_stored_tokens
from connector.settings import SANDBOX_URL, Settings, ShopSettings

EXIT_REFUSED = 1


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _context(settings: Settings, shop_id: str) -> tuple[AppContext, ShopSettings]:
    try:
        shop = settings.shop(shop_id)
    except KeyError as exc:
        err_console.print(f"[red]Không có gian hàng / unknown shop:[/red] {shop_id}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
    migrated_engine(settings).dispose()
    try:
        return AppContext.build(settings), shop
    except ConfigError as exc:
        err_console.print(f"[red]Cấu hình không hợp lệ / invalid configuration:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc


def _vault() -> TokenVault:
    try:
        return require_vault(TokenVault.from_env())
    except (ConnectError, SecretKeyError) as exc:
        err_console.print(f"[red]Không lưu được token / cannot store tokens:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc


def _show(done: Connected) -> None:
    console.print(f"[green]Đã kết nối / connected:[/green] {done.shop_id}")
    console.print(f"  tài khoản / account: {done.account or '-'}")
    console.print(f"  token hết hạn / access token expires: {_when(done.access_expires_at)}")
    console.print(f"  cần cấp quyền lại / re-authorise by: {_when(done.refresh_expires_at)}")


async def _connect(ctx: AppContext, shop: ShopSettings, vault: TokenVault, code: str | None) -> Connected:
    book = StateBook()
    start = await begin_connect(ctx, shop, book)
    if not start.url:
        return await connect_with_credentials(ctx, shop, vault)
    console.print(
        "Mở địa chỉ này, đăng nhập tài khoản người bán và đồng ý / open this address, log in as the seller "
        "and authorise the app:"
    )
    console.print(start.url, soft_wrap=True, highlight=False)
    pasted = code or typer.prompt(
        "Dán địa chỉ trình duyệt được chuyển tới (hoặc mã) / paste the address the browser was sent to (or the code)",
        hide_input=True,
    )
    return await finish_connect(ctx, shop, vault, start, pasted, book)


def register(app: typer.Typer) -> None:
    """Attach the `shop` group."""
    group = typer.Typer(help="Kết nối gian hàng thật / connect real seller accounts", no_args_is_help=True)

    @group.command("connect")
    def connect_cmd(
        shop_id: str = typer.Argument(..., help="mã gian hàng trong cấu hình / the shop id from settings"),
        code: str | None = typer.Option(None, "--code", help="địa chỉ chuyển về hoặc mã / redirect address or code"),
    ) -> None:
        """Kết nối gian hàng / connect a shop through the marketplace's own onboarding."""
        settings = settings_or_exit()
        vault = _vault()
        ctx, shop = _context(settings, shop_id)
        try:
            done = asyncio.run(_connect(ctx, shop, vault, code))
        except (ConnectError, AdapterError) as exc:
            err_console.print(f"[red]Không kết nối được / not connected:[/red] {exc}")
            raise typer.Exit(EXIT_REFUSED) from None
        finally:
            ctx.engine.dispose()
        _show(done)

    @group.command("disconnect")
    def disconnect_cmd(shop_id: str = typer.Argument(..., help="mã gian hàng / the shop id")) -> None:
        """Xoá token đã lưu / remove a shop's stored tokens."""
        settings = settings_or_exit()
        ctx, shop = _context(settings, shop_id)
        try:
            removed = asyncio.run(disconnect(ctx, shop))
        finally:
            ctx.engine.dispose()
        if removed:
            console.print(f"Đã xoá token / tokens removed: {shop.id}")
        else:
            console.print(f"Không có token đã lưu / no stored tokens: {shop.id}")

    @group.command("list")
    def list_cmd() -> None:
        """Liệt kê gian hàng và trạng thái kết nối / list shops with connection state and token expiry."""
        settings = settings_or_exit()
        engine = migrated_engine(settings)
        try:
            states = {c.shop_id: c for c in connections(engine, [s.id for s in settings.shops])}
        finally:
            engine.dispose()
        for shop in settings.shops:
            state = states[shop.id]
            if shop.base_url == SANDBOX_URL:
                label = "sandbox"
            elif state.stored_tokens:
                label = "đã kết nối / connected"
            else:
                label = "chưa kết nối / not connected"
            console.print(
                f"{shop.id}  {shop.marketplace}  {shop.seller_id}  {label}  "
                f"token: {_when(state.access_expires_at)}  cấp lại / re-auth: {_when(state.refresh_expires_at)}",
                soft_wrap=True,
                highlight=False,
            )

    @group.command("categories")
    def categories_cmd(
        shop_id: str = typer.Argument(..., help="mã gian hàng / the shop id"),
        search_text: str = typer.Option("", "--search", help="tìm theo tên, không cần dấu / name, diacritics optional"),
    ) -> None:
        """Tìm mã ngành hàng của sàn / find the marketplace's category ids (e.g. --search "mat ong")."""
        settings = settings_or_exit()
        ctx, shop = _context(settings, shop_id)
        try:
            found = asyncio.run(_categories(ctx, shop, search_text))
        except AdapterError as exc:
            err_console.print(f"[red]Không đọc được ngành hàng / cannot read categories:[/red] {exc}")
            raise typer.Exit(EXIT_REFUSED) from None
        finally:
            ctx.engine.dispose()
        for category in found:
            leaf = "" if category.leaf else "  (nhóm / branch)"
            console.print(f"{category.id}  {' / '.join(category.path)}{leaf}", soft_wrap=True, highlight=False)

    app.add_typer(group, name="shop")


async def _categories(ctx: AppContext, shop: ShopSettings, text: str) -> list[Category]:
    async with ctx.http_client(shop) as http:
        adapter = ctx.adapter(shop, http)
        if not isinstance(adapter, CategoryReader):
            err_console.print(f"[red]Sàn chưa hỗ trợ đọc ngành hàng / not supported for:[/red] {shop.marketplace}")
            raise typer.Exit(EXIT_BAD_CONFIG)
        await load_stored_tokens(ctx, shop, adapter)
        cached = await refresh_categories(ctx, shop, adapter, strict=True)
    tree = list(cached.categories) if cached is not None else []
    return search(tree, text) if text else tree
