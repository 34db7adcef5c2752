"""`shop connect` end to end over loopback HTTP: each marketplace's real onboarding, then a sync on the stored tokens.

The sandboxes implement the same onboarding as the marketplaces: Lazada's and Tiki's authorise
pages redirect the "browser" (an httpx client that does not follow redirects) back with a code
and our state; Tiki in-house apps use client credentials and Voso its login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session

from adapters.errors import AuthFailed
from adapters.sandbox import SandboxOptions
from connector.context import AppContext
from connector.engine.connect import (
    ConnectError,
    StateBook,
    begin_connect,
    connect_with_credentials,
    disconnect,
    finish_connect,
)
from connector.engine.run import sync_shops
from connector.engine.tokens import SECRET_KEY_ENV, TokenVault, connections, load_tokens
from connector.settings import ShopSettings
from connector.testing.loopback import Served, credentials_env, make_sandboxes, serve
from connector.testing.world import seed_synthetic, settings_for, shops
from schemas.sync import RunKind

REDIRECT = "https://ops.example.vn/oauth/callback"


def real_shops(urls: dict[str, str]) -> tuple[ShopSettings, ...]:
    """The reliability shops on the served sandboxes; Tiki as a partner app (authorization-code grant)."""
    out = []
    for shop in shops(urls):
        options: dict[str, str] = {"redirect_uri": REDIRECT}
        if shop.marketplace == "tiki":
            options["grant"] = "authorization_code"
        out.append(shop.model_copy(update={"options": options}))
    return tuple(out)


@pytest.fixture
def served() -> Iterator[Served]:
    boxes = make_sandboxes(shops(), SandboxOptions(rate_limit_per_s=100_000, seed=5))
    with serve(boxes) as srv:
        yield srv


@pytest.fixture
def world(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """An AppContext over real loopback HTTP; Lazada has only app key and secret (no refresh token)."""
    shop_list = real_shops(served.urls)
    for name, value in credentials_env(shop_list).items():
        if not name.endswith("_REFRESH_TOKEN"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv(SECRET_KEY_ENV, Fernet.generate_key().decode())
    settings = settings_for(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, shop_list)
    from connector.store.migrate import upgrade

    ctx = AppContext.build(settings)
    upgrade(ctx.engine)
    return ctx


def browser(url: str) -> str:
    """What a seller's browser does: open the page, agree, and land on the redirect (not followed)."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def vault() -> TokenVault:
    found = TokenVault.from_env()
    assert found is not None
    return found


async def connect(ctx: AppContext, shop: ShopSettings) -> None:
    book = StateBook()
    start = await begin_connect(ctx, shop, book)
    if start.url:
        await finish_connect(ctx, shop, vault(), start, browser(start.url), book)
    else:
        await connect_with_credentials(ctx, shop, vault())


@pytest.mark.slow
async def test_connect_every_marketplace_then_sync_on_stored_tokens(world: AppContext, served: Served) -> None:
    by_market = {s.marketplace: s for s in world.settings.shops}
    book = StateBook()
    lazada = await begin_connect(world, by_market["lazada"], book)
    assert lazada.url.startswith(served.urls["lazada"] + "/oauth/authorize?")
    assert f"state={lazada.state}" in lazada.url and "client_id=sbx-lzd-REL-LAZADA" in lazada.url
    done = await finish_connect(world, by_market["lazada"], vault(), lazada, browser(lazada.url), book)
    assert done.account == "rel-lazada@sandbox.lazada.vn"
    assert done.refresh_expires_at is not None and done.access_expires_at is not None

    tiki = await begin_connect(world, by_market["tiki"], book)
    assert "code_challenge_method=S256" in tiki.url and tiki.pkce is not None
    await finish_connect(world, by_market["tiki"], vault(), tiki, browser(tiki.url), book)
    assert (await begin_connect(world, by_market["voso"], book)).url == ""
    await connect_with_credentials(world, by_market["voso"], vault())

    with Session(world.engine) as session:
        stored = {s.id: load_tokens(session, vault(), s.id) for s in world.settings.shops}
    assert stored["lazada-rel"] and stored["lazada-rel"]["refresh_token"].startswith("sbx-lzd-rt-")
    assert stored["tiki-rel"] and stored["tiki-rel"]["refresh_token"].startswith("sbx-tiki-rt-")
    assert stored["voso-rel"] and stored["voso-rel"]["token"]
    states = connections(world.engine, [s.id for s in world.settings.shops])
    assert [c.stored_tokens for c in states] == [True, True, True]

    seed_synthetic(world.engine, 3)
    summaries = await sync_shops(world, [s.id for s in world.settings.shops], kind=RunKind.FULL)
    assert {s.shop_id: s.counters.created for s in summaries} == {"lazada-rel": 3, "tiki-rel": 3, "voso-rel": 3}
    assert {s.shop_id: s.counters.failed for s in summaries} == {"lazada-rel": 0, "tiki-rel": 0, "voso-rel": 0}
    assert len(served.sandboxes["lazada"].store.shop("REL-LAZADA")) == 3


async def test_wrong_or_replayed_state_is_refused_and_no_token_is_stored(world: AppContext) -> None:
    shop = next(s for s in world.settings.shops if s.marketplace == "lazada")
    book = StateBook()
    start = await begin_connect(world, shop, book)
    landed = browser(start.url)
    forged = landed.replace(f"state={start.state}", "state=forged")
    with pytest.raises(ConnectError, match="unknown or already used state"):
        await finish_connect(world, shop, vault(), start, forged, book)
    assert connections(world.engine, [shop.id])[0].stored_tokens is False

    second = await begin_connect(world, shop, book)
    await finish_connect(world, shop, vault(), second, browser(second.url), book)
    replay = browser(second.url)  # a fresh code, but the state was already redeemed
    with pytest.raises(ConnectError, match="unknown or already used state"):
        await finish_connect(world, shop, vault(), second, replay, book)


async def test_a_state_issued_for_another_shop_is_refused(world: AppContext) -> None:
    lazada = next(s for s in world.settings.shops if s.marketplace == "lazada")
    tiki = next(s for s in world.settings.shops if s.marketplace == "tiki")
    book = StateBook()
    start = await begin_connect(world, tiki, book)
    with pytest.raises(ConnectError, match="another shop"):
        await finish_connect(world, lazada, vault(), start, f"{REDIRECT}?code=x&state={start.state}", book)


async def test_tiki_refuses_a_code_without_the_matching_pkce_verifier(world: AppContext) -> None:
    shop = next(s for s in world.settings.shops if s.marketplace == "tiki")
    book = StateBook()
    start = await begin_connect(world, shop, book)
    assert start.pkce is not None
    tampered = start.__class__(start.shop_id, start.url, start.state, start.redirect_uri, start.pkce.new())
    with pytest.raises(AuthFailed):
        await finish_connect(world, shop, vault(), tampered, browser(start.url), book)


async def test_tiki_in_house_app_connects_with_client_credentials(world: AppContext) -> None:
    shop = next(s for s in world.settings.shops if s.marketplace == "tiki").model_copy(update={"options": {}})
    book = StateBook()
    assert (await begin_connect(world, shop, book)).url == ""
    done = await connect_with_credentials(world, shop, vault())
    assert done.access_expires_at is not None and done.refresh_expires_at is None


async def test_disconnect_removes_stored_tokens(world: AppContext) -> None:
    shop = next(s for s in world.settings.shops if s.marketplace == "voso")
    await connect(world, shop)
    assert await disconnect(world, shop) is True
    assert connections(world.engine, [shop.id])[0].stored_tokens is False
    assert await disconnect(world, shop) is False


# -- the daemon's callback route: /oauth/lazada/start and /oauth/lazada/callback ---------------------


def operator_token(ctx: AppContext) -> str:
    from connector.store import session_scope
    from connector.web.auth import Role, create_token

    with session_scope(ctx.engine) as session:
        return create_token(session, role=Role.OPERATOR, now=ctx.clock(), label="ops")[1]


def token_creates(served: Served) -> int:
    """`/auth/token/create` calls the Lazada sandbox received."""
    return sum(1 for e in served.sandboxes["lazada"].log if e.operation == "/auth/token/create")


def resync_requests(ctx: AppContext) -> list[str | None]:
    from sqlmodel import select

    from connector.store.models import ResyncRequestRow

    with Session(ctx.engine) as session:
        return [r.shop_id for r in session.exec(select(ResyncRequestRow))]


def test_callback_route_connects_once_and_refuses_wrong_or_replayed_state(world: AppContext, served: Served) -> None:
    from fastapi.testclient import TestClient

    from connector.web.app import build_api

    operator = {"Authorization": f"Bearer {operator_token(world)}"}
    with TestClient(build_api(world)) as client:
        started = client.get(
            "/oauth/lazada/start", params={"shop": "lazada-rel"}, headers=operator, follow_redirects=False
        )
        assert started.status_code == 303, started.text
        assert started.headers["location"].startswith(served.urls["lazada"] + "/oauth/authorize?")
        landed = httpx.URL(browser(started.headers["location"]))  # the sandbox seller agrees
        callback = f"/oauth/lazada/callback?{landed.query.decode()}"
        forged = callback.replace(f"state={landed.params['state']}", "state=forged")

        anonymous = client.get(callback)  # no session: the sign-in form, which comes back here
        assert anonymous.status_code == 401 and 'name="next"' in anonymous.text
        assert client.get(forged, headers=operator).status_code == 400
        assert connections(world.engine, ["lazada-rel"])[0].stored_tokens is False
        assert resync_requests(world) == [] and token_creates(served) == 0

        done = client.get(callback, headers=operator)
        assert done.status_code == 200, done.text
        assert "rel-lazada@sandbox.lazada.vn" in done.text
        replay = client.get(callback, headers=operator)
        assert replay.status_code == 400 and "unknown or already used state" in replay.text

    assert token_creates(served) == 1
    assert resync_requests(world) == ["lazada-rel"]
    with Session(world.engine) as session:
        stored = load_tokens(session, vault(), "lazada-rel")
    assert stored and stored["refresh_token"].startswith("sbx-lzd-rt-")


def test_callback_route_is_operator_only(world: AppContext) -> None:
    from fastapi.testclient import TestClient

    from connector.store import session_scope
    from connector.web.app import build_api
    from connector.web.auth import Role, create_token

    producer_id = seed_synthetic(world.engine, 1)[0].producer_id
    with session_scope(world.engine) as session:
        producer = create_token(session, role=Role.PRODUCER, producer_id=producer_id, now=world.clock())[1]
    with TestClient(build_api(world)) as client:
        for path in ("/oauth/lazada/start?shop=lazada-rel", "/oauth/lazada/callback?code=c&state=s"):
            assert client.get(path, headers={"Authorization": f"Bearer {producer}"}).status_code == 403
            assert client.get(path).status_code == 401
    assert connections(world.engine, ["lazada-rel"])[0].stored_tokens is False
    assert resync_requests(world) == []
