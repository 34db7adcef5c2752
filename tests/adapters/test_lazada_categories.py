"""Lazada categories: the published samples read, the sandbox's Vietnamese tree, folded search."""

from __future__ import annotations

import httpx

from adapters.base import AdapterConfig
from adapters.categories import Category, fold, search
from adapters.lazada.adapter import LazadaAdapter
from adapters.lazada.categories import LzAttributes, LzCategoryTree, attributes_of, flatten
from adapters.lazada.sandbox import LazadaSandbox, sandbox_credentials
from adapters.sandbox import SandboxOptions, SellerAccount
from adapters.sandbox.transport import SandboxTransport
from tests.adapters.golden_kit import golden


def test_published_tree_and_attributes_samples_are_read() -> None:
    tree = flatten(LzCategoryTree.model_validate(golden("lazada", "category_tree_get.json")).data)
    assert [(c.id, c.path, c.leaf) for c in tree] == [
        (6588, ("Socks & Tights",), False),
        (7436, ("Socks & Tights", "Socks"), True),
        (7435, ("Socks & Tights", "Underwear"), True),
    ]
    attrs = attributes_of(LzAttributes.model_validate(golden("lazada", "category_attributes_get.json")))
    assert [(a.name, a.label, a.mandatory) for a in attrs] == [("mattress_size", "Size", True)]


def test_search_ignores_case_and_diacritics() -> None:
    cats = [
        Category(id=1, name="Mật ong", path=("Bách hóa online", "Thực phẩm khô", "Mật ong"), leaf=True),
        Category(id=2, name="Đồ mây tre đan", path=("Nhà cửa & Đời sống", "Đồ mây tre đan"), leaf=True),
    ]
    assert fold("Đồ mây tre ĐAN") == "do may tre dan"
    assert [c.id for c in search(cats, "mat ong")] == [1]
    assert [c.id for c in search(cats, "do may")] == [2]
    assert search(cats, "ca phe") == []


async def test_adapter_reads_the_sandbox_tree_and_required_attributes() -> None:
    box = LazadaSandbox(SandboxOptions(sellers=(SellerAccount(seller_id="S1", credentials=sandbox_credentials("S1")),)))
    async with httpx.AsyncClient(transport=SandboxTransport(box.app), base_url="http://sandbox.local") as http:
        config = AdapterConfig(
            marketplace="lazada",
            shop_id="lz",
            seller_id="S1",
            base_url="http://sandbox.local",
            credentials=sandbox_credentials("S1"),
        )
        adapter = LazadaAdapter.from_config(config, http)
        tree = await adapter.categories()
        honey = search(tree, "mat ong")
        assert [(c.id, c.path) for c in honey] == [(10023, ("Bách hóa online", "Thực phẩm khô", "Mật ong"))]
        attrs = await adapter.category_attributes(10023)
        assert [a.name for a in attrs if a.mandatory] == ["brand", "shelf_life", "origin"]
