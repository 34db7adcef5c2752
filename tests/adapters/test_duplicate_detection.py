"""'No duplicate listing' is checked by each sandbox's create count; this shows where the check can fire.

Tiki creates through review requests and would accept a second request for a SKU that is
already listed or under review, so the count can exceed one there: a duplicate made on purpose
is caught. Lazada refuses a repeated SellerSku before counting it (THD_IC_ERR_F_IC_INFRA_PRODUCT_036)
and Voso's create is an upsert, both faithful to the marketplaces: on them a duplicate listing
cannot arise, and the suite's duplicate check there can only confirm it, never fire.
"""

from __future__ import annotations

from contract_kit import SELLER, Harness, draft

from adapters.errors import AdapterError


async def _create_twice(harness: Harness, sku: str) -> BaseException | None:
    await harness.adapter.create(draft(sku))
    try:
        await harness.adapter.create(draft(sku))
    except AdapterError as exc:
        return exc
    return None


# marketplace -> (second create refused?, duplicate_creates after two creates of one SKU)
EXPECTED = {
    "tiki": (False, {(SELLER, "OCOP-DUP-1"): 2}),  # the duplicate is made, and the check catches it
    "lazada": (True, {}),  # refused before it is counted: no duplicate can exist
    "voso": (False, {}),  # an upsert: the second create updates the first
}


async def test_a_duplicate_made_on_purpose_is_caught_where_the_marketplace_allows_one(
    adapter_name: str, harness: Harness
) -> None:
    refused = await _create_twice(harness, "OCOP-DUP-1")
    want_refused, want_duplicates = EXPECTED[adapter_name]
    assert (refused is not None, harness.sandbox.store.duplicate_creates()) == (want_refused, want_duplicates)
