"""Replies that depart from the published samples fail only with the typed error tree.

Every leaf of the main golden replies is replaced in turn by a value of the wrong kind
(null, garbage text, an object, a boolean) and the adapter method that reads the
reply is run over it. It must either cope (the field is optional or lenient) or raise an
`AdapterError` (in practice `ResponseShapeError` naming the field) — never a raw
ValidationError, KeyError, ValueError, TypeError or JSON error.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from golden_kit import Replay, Route, first_page_only, golden
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.errors import AdapterError
from adapters.lazada import LazadaAdapter
from adapters.tiki import TikiAdapter
from schemas.listing import ListingContent, ListingDraft

pytestmark = pytest.mark.timeout(120)

WRONG: tuple[Any, ...] = (None, "not-a-value", {"x": 1}, True)
Run = Callable[[dict[str, Route]], Awaitable[object]]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every leaf (and every empty container) of a JSON value."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from leaves(inner, (*path, key))
    elif isinstance(value, list) and value:
        for index, inner in enumerate(value):
            yield from leaves(inner, (*path, index))
    else:
        yield path


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the leaf at `path` set to `new`."""
    out = copy.deepcopy(value)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


async def lazada_run(routes: dict[str, Route], method: Callable[[LazadaAdapter], Awaitable[object]]) -> None:
    replay = Replay({"/auth/token/refresh": (200, golden("lazada", "token_refresh.json")), **routes})
    async with replay.client("https://api.lazada.vn/rest") as http:
        creds = {k: SecretStr(v) for k, v in {"app_key": "1", "app_secret": "s", "refresh_token": "r"}.items()}
        config = AdapterConfig(
            marketplace="lazada", shop_id="m", seller_id="1", base_url="https://api.lazada.vn/rest", credentials=creds
        )
        await method(LazadaAdapter.from_config(config, http))


async def tiki_run(routes: dict[str, Route], method: Callable[[TikiAdapter], Awaitable[object]]) -> None:
    defaults: dict[str, Route] = {
        "/sc/oauth2/token": (200, golden("tiki", "token.json")),
        "/integration/v2/requests": first_page_only(golden("tiki", "requests_list.v2.json")),
        "/integration/v2/products/": (200, golden("tiki", "product_detail.v1.json")),
    }
    replay = Replay({**defaults, **routes})
    async with replay.client("https://api.tiki.vn") as http:
        creds = {"client_id": SecretStr("i"), "client_secret": SecretStr("s")}
        config = AdapterConfig(
            marketplace="tiki", shop_id="m", seller_id="1", base_url="https://api.tiki.vn", credentials=creds
        )
        await method(TikiAdapter.from_config(config, http))


async def _listings(adapter: LazadaAdapter | TikiAdapter) -> None:
    [page async for page in adapter.list_listings()]


async def _orders(adapter: LazadaAdapter | TikiAdapter) -> None:
    [page async for page in adapter.list_orders()]


async def _create(adapter: LazadaAdapter | TikiAdapter) -> None:
    content = ListingContent(title="t", brand="b")
    await adapter.create(ListingDraft(seller_sku="test2022 03", content=content, price_vnd=1, stock=1))


async def _refresh(adapter: LazadaAdapter | TikiAdapter) -> None:
    await adapter.refresh_auth()


CASES: list[tuple[str, str, str, str, Callable[..., Awaitable[None]], dict[str, Route]]] = [
    ("lazada", "token_refresh.json", "/auth/token/refresh", "refresh", _refresh, {}),
    ("lazada", "products_get.json", "/products/get", "listings", _listings, {}),
    ("lazada", "product_create.json", "/product/create", "create", _create, {}),
    (
        "lazada",
        "orders_get.lazada_time.json",
        "/orders/get",
        "orders",
        _orders,
        {"/order/items/get": (200, golden("lazada", "order_items_get.json"))},
    ),
    (
        "lazada",
        "order_items_get.json",
        "/order/items/get",
        "orders",
        _orders,
        {"/orders/get": (200, golden("lazada", "orders_get.iso_time.json"))},
    ),
    ("tiki", "token.json", "/sc/oauth2/token", "refresh", _refresh, {}),
    ("tiki", "products_list.v2.json", "/integration/v2/products", "listings", _listings, {}),
    (
        "tiki",
        "product_detail.v1.json",
        "/integration/v2/products/",
        "listings",
        _listings,
        {"/integration/v2/products": (200, golden("tiki", "products_list.v1.json"))},
    ),
    ("tiki", "orders_list.v2.json", "/integration/v2/orders", "orders", _orders, {}),
    ("tiki", "orders_list.v1.json", "/integration/v2/orders", "orders", _orders, {}),
    ("tiki", "product_request_create.json", "/integration/v2.1/requests", "create", _create, {}),
]


@pytest.mark.parametrize(
    ("marketplace", "name", "path", "label", "method", "others"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
async def test_every_wrong_value_in_a_reply_is_a_typed_error_or_tolerated(
    marketplace: str, name: str, path: str, label: str, method: Callable[..., Awaitable[None]], others: dict[str, Route]
) -> None:
    reply = golden(marketplace, name)
    run = lazada_run if marketplace == "lazada" else tiki_run
    untyped: list[str] = []
    for leaf in leaves(reply):
        if not leaf:
            continue
        for wrong in WRONG:
            routes: dict[str, Route] = {**others, path: (200, replaced(reply, leaf, wrong))}
            try:
                await run(routes, method)
            except AdapterError:
                continue
            except Exception as exc:  # noqa: BLE001 - the point is to catch anything untyped
                untyped.append(f"{'.'.join(map(str, leaf))} = {wrong!r}: {type(exc).__name__}: {exc}")
    assert not untyped, "\n".join(untyped[:20])


async def test_a_reply_that_is_not_a_json_object_is_a_typed_error() -> None:
    def garbage(request: httpx.Request) -> tuple[int, Any]:
        return 200, "<html>maintenance</html>"

    with pytest.raises(AdapterError):
        await lazada_run({"/products/get": garbage}, _listings)
    with pytest.raises(AdapterError):
        await tiki_run({"/integration/v2/orders": garbage}, _orders)
