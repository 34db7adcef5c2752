"""The sandboxes' indexed store: derived views follow every change, and a page does not cost the whole shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.sandbox.store import SandboxListing, SandboxStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _listing(i: int) -> SandboxListing:
    return SandboxListing(
        seller_id="S",
        seller_sku=f"SKU-{i:05d}",
        item_id=str(1_000 + i),
        sku_id=str(5_000 + i),
        title=f"Trà {i}",
        price=10_000,
        stock=5,
        created_at=T0,
        updated_at=T0 + timedelta(seconds=i),
    )


def _by_update(shelf: dict[str, SandboxListing]) -> list[str]:
    return [x.seller_sku for x in sorted(shelf.values(), key=lambda x: x.updated_at)]


def test_views_are_rebuilt_after_any_change_and_only_then() -> None:
    store = SandboxStore()
    for i in range(5):
        store.record_create(_listing(i))
    builds: list[int] = []

    def build(shelf: dict[str, SandboxListing]) -> list[str]:
        builds.append(1)
        return _by_update(shelf)

    assert store.view("S", "order", build)[0] == "SKU-00000"
    assert store.view("S", "order", build)[0] == "SKU-00000"
    assert len(builds) == 1
    store.find("S", "SKU-00000").updated_at = T0 + timedelta(days=1)  # type: ignore[union-attr]
    assert store.view("S", "order", build)[-1] == "SKU-00000"
    del store.shop("S")["SKU-00001"]
    assert "SKU-00001" not in store.view("S", "order", build)
    store.listings["S"] = {"X": _listing(9)}  # a whole shelf replaced, as a test might
    assert store.view("S", "order", build) == ["SKU-00009"]
    assert len(builds) == 4


def test_id_indexes_follow_creates_and_id_changes_but_not_price_writes() -> None:
    store = SandboxStore()
    for i in range(3):
        store.record_create(_listing(i))
    assert store.by_sku_id("S", "5001") is store.find("S", "SKU-00001")
    assert [x.seller_sku for x in store.by_item("S", "1002")] == ["SKU-00002"]
    store.record_create(_listing(7))
    assert store.find_by_item("S", "1007") is store.find("S", "SKU-00007")
    listing = store.find("S", "SKU-00000")
    assert listing is not None
    listing.item_id = "1002"  # grouped under another item
    assert {x.seller_sku for x in store.by_item("S", "1002")} == {"SKU-00000", "SKU-00002"}
    assert store.by_item("S", "1000") == []
    assert store.by_sku_id("S", "nope") is None
