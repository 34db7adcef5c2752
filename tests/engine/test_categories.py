"""Categories over loopback HTTP: the tree and required attributes cached, fed to pre-flight, checked at start.

A Lazada shop maps every OCOP product set to the sandbox's "Mật ong" category (10023), which
requires brand, shelf life and origin. A product without a shelf life is reported INVALID and
never sent (the sandbox counts the creates); once the catalog names it, the next sync creates it.
The sandbox itself refuses such a create (Lazada's 4110), so the pre-flight is what saves the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from typer.testing import CliRunner

from adapters.base import AdapterConfig
from adapters.errors import Rejected
from adapters.lazada import LazadaAdapter
from adapters.sandbox import SandboxOptions
from connector.catalog.store import read_products, set_product
from connector.cli import app
from connector.context import AppContext
from connector.engine.categories import cached_tree
from connector.engine.run import sync_shops
from connector.settings import ShopSettings
from connector.store import session_scope
from connector.store.migrate import upgrade
from connector.store.models import DriftRow
from connector.testing.loopback import Served, credentials_env, make_sandboxes, serve, settings_toml
from connector.testing.world import seed_synthetic, settings_for, shops
from schemas.listing import ListingContent, ListingDraft
from schemas.sync import RunKind

pytestmark = pytest.mark.slow  # served sandboxes (see SLOW_SUITES in tests/conftest.py)

HONEY = 10023
EVERY_SET = {str(key): HONEY for key in range(1, 27)}


@pytest.fixture
def served() -> Iterator[Served]:
    boxes = make_sandboxes(shops(marketplaces=("lazada",)), SandboxOptions(rate_limit_per_s=100_000, seed=6))
    with serve(boxes) as srv:
        yield srv


def lazada_shop(served: Served, category_map: dict[str, int]) -> ShopSettings:
    shop = shops(served.urls, marketplaces=("lazada",))[0]
    return shop.model_copy(update={"options": {"category_map": category_map}})


def calls(served: Served, operation: str) -> int:
    """Calls of one operation the Lazada sandbox received."""
    return sum(1 for e in served.sandboxes["lazada"].log if e.operation == operation)


async def test_missing_required_attribute_is_invalid_until_the_catalog_names_it(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = lazada_shop(served, EVERY_SET)
    for name, value in credentials_env((shop,)).items():
        monkeypatch.setenv(name, value)
    ctx = AppContext.build(settings_for(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, (shop,)))
    upgrade(ctx.engine)
    products = seed_synthetic(ctx.engine, 2)
    with session_scope(ctx.engine) as session:
        set_product(session, products[0].model_copy(update={"shelf_life": "12 tháng", "origin": "Cà Mau"}), _now())
        set_product(session, products[1].model_copy(update={"shelf_life": "", "origin": "Hà Giang"}), _now())

    first = await sync_shops(ctx, [shop.id], kind=RunKind.FULL)
    assert first[0].counters.created == 1 and calls(served, "/product/create") == 1
    with Session(ctx.engine) as session:
        drift = session.exec(select(DriftRow).where(DriftRow.kind == "invalid")).all()
        assert [(d.sku, d.observed) for d in drift] == [(products[1].sku, "missing: shelf_life")]
    assert cached_tree(ctx.engine, shop.id).required[HONEY] == ("brand", "shelf_life", "origin")

    with session_scope(ctx.engine) as session:
        fixed = read_products(session, [products[1].sku])[0].model_copy(update={"shelf_life": "6 tháng"})
        set_product(session, fixed, _now())
    second = await sync_shops(ctx, [shop.id], kind=RunKind.FULL)
    assert second[0].counters.created == 1 and calls(served, "/product/create") == 2
    # the tree and the attributes were read once: the cache is younger than sync.category_refresh_s
    assert calls(served, "/category/tree/get") == 1 and calls(served, "/category/attributes/get") == 1
    ctx.engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


async def test_lazada_sandbox_refuses_a_create_missing_a_mandatory_attribute(served: Served) -> None:
    creds = LazadaAdapter.sandbox_credentials("REL-LAZADA")
    async with httpx.AsyncClient(base_url=served.urls["lazada"]) as http:
        config = AdapterConfig(
            marketplace="lazada",
            shop_id="lazada-rel",
            seller_id="REL-LAZADA",
            base_url=served.urls["lazada"],
            credentials={k: SecretStr(v) for k, v in creds.items()},
            options={"category_map": {"1": HONEY}},
        )
        adapter = LazadaAdapter.from_config(config, http)
        content = ListingContent(
            title="Mật ong bạc hà",
            images=("https://img.example.vn/h.jpg",),
            brand="HTX Mèo Vạc",
            category_key=1,
            attributes={"origin": "Hà Giang"},
        )
        with pytest.raises(Rejected) as refused:
            await adapter.create(ListingDraft(seller_sku="H-1", content=content, price_vnd=150_000, stock=5))
    assert refused.value.code == "4110" and refused.value.field == "shelf_life"
    assert served.sandboxes["lazada"].store.shop("REL-LAZADA") == {}


def test_a_category_map_id_unknown_to_the_tree_is_refused_at_start(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = lazada_shop(served, {"3": 99999})
    settings_file = tmp_path / "settings.toml"
    text = settings_toml(f"sqlite:///{tmp_path / 's.db'}", tmp_path, (shop,))
    settings_file.write_text(text + '\n[shops.options.category_map]\n"3" = 99999\n', encoding="utf-8")
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(settings_file))
    for name, value in credentials_env((shop,)).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    for command in (["sync"], ["plan"]):
        done = runner.invoke(app, command)
        assert done.exit_code == 2, done.output
        assert 'options.category_map["3"] = 99999' in done.output and "lazada-rel" in done.output
    assert calls(served, "/product/create") == 0

    settings_file.write_text(text + f'\n[shops.options.category_map]\n"3" = {HONEY}\n', encoding="utf-8")
    assert runner.invoke(app, ["plan"]).exit_code == 0
