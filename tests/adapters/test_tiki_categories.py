"""Tiki categories: the published samples read, the sandbox's Vietnamese tree and category detail over HTTP."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.categories import search
from adapters.errors import NotFound
from adapters.sandbox import SandboxOptions, SellerAccount
from adapters.sandbox.transport import SandboxTransport
from adapters.tiki import TikiAdapter
from adapters.tiki.categories import TkCategories, TkCategoryDetail, attributes_of, tree_of
from tests.adapters.golden_kit import golden


def test_published_category_list_and_detail_samples_are_read() -> None:
    tree = tree_of(TkCategories.model_validate(golden("tiki", "categories.v1.json")).root)
    assert len(tree) == 7 and all(c.leaf for c in tree)  # every sample row is `primary`
    assert next(c for c in tree if c.id == 218).path == ("Medical Books",)  # parent 320 is not in the list
    detail = TkCategoryDetail.model_validate(golden("tiki", "category_detail.v1.json"))
    assert [(a.name, a.label, a.mandatory) for a in attributes_of(detail)] == [
        ("author", "Author", True),
        ("book_cover", "Cover type", False),
        ("bulky", "Is product bulky?", False),
    ]


def test_paths_follow_parents_and_only_primary_categories_are_leaves() -> None:
    rows = TkCategories.model_validate(
        [
            {"id": 3, "name": "Mật ong", "parent": 2, "primary": 1},
            {"id": 2, "name": "Thực phẩm khô", "parent": 1, "primary": 0},
            {"id": 1, "name": "Bách Hóa Online", "parent": 0, "primary": "0"},
        ]
    ).root
    assert [(c.id, c.path, c.leaf) for c in tree_of(rows)] == [
        (1, ("Bách Hóa Online",), False),
        (2, ("Bách Hóa Online", "Thực phẩm khô"), False),
        (3, ("Bách Hóa Online", "Thực phẩm khô", "Mật ong"), True),
    ]


async def test_adapter_reads_the_sandbox_tree_and_required_attributes() -> None:
    creds = TikiAdapter.sandbox_credentials("S1")
    box = TikiAdapter.create_sandbox(SandboxOptions(sellers=(SellerAccount(seller_id="S1", credentials=creds),)))
    async with httpx.AsyncClient(transport=SandboxTransport(box.app), base_url="http://sandbox.local") as http:
        config = AdapterConfig(
            marketplace="tiki",
            shop_id="tk",
            seller_id="S1",
            base_url="http://sandbox.local",
            credentials={k: SecretStr(v) for k, v in creds.items()},
        )
        adapter = TikiAdapter.from_config(config, http)
        tree = await adapter.categories()
        honey = search(tree, "mat ong")
        assert [(c.id, c.path, c.leaf) for c in honey] == [
            (4392, ("Bách Hóa Online", "Thực phẩm khô", "Mật ong"), True)
        ]
        attrs = await adapter.category_attributes(4392)
        assert [a.name for a in attrs if a.mandatory] == ["brand", "origin", "shelf_life"]
        assert [a.name for a in await adapter.category_attributes(1901) if a.mandatory] == ["brand", "material"]
        with pytest.raises(NotFound, match="Category not found id: 99"):
            await adapter.category_attributes(99)


async def test_sandbox_review_rejects_a_create_missing_a_required_attribute() -> None:
    from schemas.listing import ListingContent, ListingDraft, QcStatus

    creds = TikiAdapter.sandbox_credentials("S1")
    box = TikiAdapter.create_sandbox(
        SandboxOptions(sellers=(SellerAccount(seller_id="S1", credentials=creds),), qc_delay_s=60)
    )
    async with httpx.AsyncClient(transport=SandboxTransport(box.app), base_url="http://sandbox.local") as http:
        config = AdapterConfig(
            marketplace="tiki",
            shop_id="tk",
            seller_id="S1",
            base_url="http://sandbox.local",
            credentials={k: SecretStr(v) for k, v in creds.items()},
            options={"category_map": {"1": 4392}},
        )
        adapter = TikiAdapter.from_config(config, http)
        content = ListingContent(
            title="Mật ong rừng",
            images=("https://img.example.vn/m.jpg",),
            brand="HTX",
            category_key=1,
            attributes={"origin": "Hà Giang"},
        )
        full = content.model_copy(update={"attributes": {"origin": "Hà Giang", "shelf_life": "12 tháng"}})
        await adapter.create(ListingDraft(seller_sku="M-1", content=content, price_vnd=90_000, stock=3))
        await adapter.create(ListingDraft(seller_sku="M-2", content=full, price_vnd=90_000, stock=3))
        box.clock.advance(61)
        box.tick_reviews()
        missing, complete = await adapter.get_listing("M-1"), await adapter.get_listing("M-2")
    assert missing is not None and missing.qc_status is QcStatus.REJECTED and missing.qc_field == "shelf_life"
    assert complete is not None and complete.qc_status is not QcStatus.REJECTED
