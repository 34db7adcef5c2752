"""Reading the Lazada simulator's requests: parameters, JSON and XML payloads, and their validation.

Pure helpers for `sandbox.py`; each invalid input raises `LzError` with the code Lazada uses.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from adapters.lazada.mapping import BARCODE_ATTRIBUTE, UNIT_ATTRIBUTE
from adapters.lazada.sandbox_shapes import LzError, category_key, grams_of, whole
from adapters.sandbox.store import SandboxListing


@dataclass(frozen=True)
class XmlSku:
    """One <Sku> of a price/quantity payload."""

    item_id: str
    sku_id: str
    seller_sku: str
    price: str | None
    quantity: str | None


def parse_xml(text: str) -> ET.Element:
    """An XML payload's root element, or LzError 5 (Invalid Request Format)."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise LzError("5", f"E005: Invalid Request Format ({exc})") from exc


def _text(node: ET.Element, path: str) -> str | None:
    found = node.find(path)
    return found.text.strip() if found is not None and found.text is not None else None


def price_quantity_skus(root: ET.Element) -> list[XmlSku]:
    """The <Sku> entries of a /product/price_quantity/update payload."""
    skus = []
    for node in root.findall("./Product/Skus/Sku"):
        quantity = _text(node, "Quantity")
        if quantity is None:
            parts = [_text(w, "Quantity") for w in node.findall("./MultiWarehouseInventories/MultiWarehouseInventory")]
            numbers = [whole(p) for p in parts if p is not None]
            quantity = str(sum(n for n in numbers if n is not None)) if numbers else None
        skus.append(
            XmlSku(
                item_id=_text(node, "ItemId") or "",
                sku_id=_text(node, "SkuId") or "",
                seller_sku=_text(node, "SellerSku") or "",
                price=_text(node, "Price"),
                quantity=quantity,
            )
        )
    return skus


def deactivate_targets(root: ET.Element) -> tuple[str, list[str], bool]:
    """(ItemId, SkuIds, whether SellerSku was used) of a /product/deactivate body."""
    item_id = _text(root, "./Product/ItemId") or ""
    sku_ids = [n.text.strip() for n in root.findall("./Product/Skus/SkuId") if n.text]
    by_seller_sku = bool(root.findall("./Product/Skus/SellerSku"))
    return item_id, sku_ids, by_seller_sku


def json_array(value: Any, path: str) -> list[Any]:
    """A JSON payload member that Lazada requires to be an array (1001 otherwise)."""
    if not isinstance(value, list):
        raise LzError(
            "1001", f"{path} must be an array", detail=[{"field": path, "message": f"{path} must be an array"}]
        )
    return value


async def request_params(request: Request) -> dict[str, str]:
    """All parameters of a request: the query string, plus the form body of a POST."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.multi_items() if isinstance(v, str)})
    return params


def without_member(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The body without the member at `path` (a success envelope missing a required field)."""
    if len(path) == 1:
        return {k: v for k, v in body.items() if k != path[0]}
    inner = body.get(path[0])
    if not isinstance(inner, dict):
        return {k: v for k, v in body.items() if k != path[0]}
    return {**body, path[0]: without_member(inner, path[1:])}


def bounded_int(value: str, low: int, high: int, code: str, message: str) -> int:
    """An integer parameter within [low, high], or the Lazada error `code`."""
    number = int(value) if value.strip().lstrip("-").isdigit() else None
    if number is None or not low <= number <= high:
        raise LzError(code, f"{message} ({value!r})")
    return number


def iso_date(value: str) -> datetime:
    """An ISO-8601 date parameter as an aware datetime, or error 17."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LzError("17", f'E017: "{value}" Invalid Date Format') from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sku_list(value: str | None) -> set[str] | None:
    """The `sku_seller_list` JSON array as a set (None when absent), or error 70."""
    if not value:
        return None
    try:
        skus = json.loads(value)
    except ValueError:
        raise LzError("70", "E070: You have corrupt data in your sku seller list") from None
    if not isinstance(skus, list) or len(skus) > 100 or not all(isinstance(s, str) for s in skus):
        raise LzError("70", "E070: You have corrupt data in your sku seller list")
    return set(skus)


def product_in_bounds(product: list[SandboxListing], bounds: dict[str, datetime]) -> bool:
    """Whether a product's create/update times satisfy the date filters."""
    created = min(x.created_at for x in product)
    updated = max(x.updated_at for x in product)
    checks = {
        "create_after": lambda b: created >= b,
        "create_before": lambda b: created <= b,
        "update_after": lambda b: updated >= b,
        "update_before": lambda b: updated <= b,
    }
    return all(checks[key](bound) for key, bound in bounds.items())


def order_in_bounds(created: datetime, updated: datetime, bounds: dict[str, datetime]) -> bool:
    """Whether an order's creation and update times satisfy the created_*/update_* filters (to the second)."""
    created, updated = created.replace(microsecond=0), updated.replace(microsecond=0)
    checks = {
        "created_after": lambda b: created >= b,
        "created_before": lambda b: created <= b,
        "update_after": lambda b: updated >= b,
        "update_before": lambda b: updated <= b,
    }
    return all(checks[key](bound) for key, bound in bounds.items())


def json_product(payload: str | None) -> dict[str, Any]:
    """`Request.Product` of a JSON payload, or MissingParameter / error 5."""
    if not payload:
        raise LzError("MissingParameter", "The input parameter “payload” that is mandatory is not supplied")
    try:
        body = json.loads(payload)
    except ValueError:
        raise LzError("5", "E005: Invalid Request Format (payload is not JSON)") from None
    product = body.get("Request", {}).get("Product") if isinstance(body, dict) else None
    if not isinstance(product, dict):
        raise LzError("5", "E005: Invalid Request Format (Request.Product missing)")
    return product


def apply_attributes(listing: SandboxListing, attributes: dict[str, Any]) -> None:
    """Set the listing's content from Lazada `Attributes` (only the keys present change)."""
    for key, field in (("name", "title"), ("description", "description"), ("brand", "brand"), (UNIT_ATTRIBUTE, "unit")):
        if key in attributes:
            setattr(listing, field, str(attributes[key]))
    if BARCODE_ATTRIBUTE in attributes:
        listing.barcode = str(attributes[BARCODE_ATTRIBUTE]) or None
    own = {"name", "description", "brand", UNIT_ATTRIBUTE, BARCODE_ATTRIBUTE}
    listing.attributes.update({k: str(v) for k, v in attributes.items() if k not in own})


def apply_update(listing: SandboxListing, product: dict[str, Any], sku: dict[str, Any]) -> None:
    """Apply the members of a /product/update payload that were sent to one listing."""
    attributes = product.get("Attributes")
    if isinstance(attributes, dict):
        apply_attributes(listing, attributes)
    images = (product.get("Images") or {}).get("Image")
    if isinstance(images, list):
        listing.images = [str(i) for i in images]
    if product.get("PrimaryCategory"):
        listing.category = category_key(product["PrimaryCategory"])
    status = str(sku.get("Status", "")).lower()
    if status in ("active", "inactive", "deleted"):
        listing.status = status
    if "package_weight" in sku:
        listing.weight_g = grams_of(sku["package_weight"])
    price, quantity = whole(sku.get("price")), whole(sku.get("quantity"))
    if price is not None and price > 0:
        listing.price = price
    if quantity is not None and quantity >= 0:
        listing.stock = quantity


def price_quantity_problem(listing: SandboxListing | None, sku: Any) -> tuple[str, str, str] | None:
    """Why one <Sku> of a price/quantity call cannot be applied: (code, field, message), or None."""
    if listing is None:
        return "207", "SkuId", "E207: SKU not exist"
    quantity = whole(sku.quantity) if sku.quantity is not None else None
    price = whole(sku.price) if sku.price is not None else None
    if sku.quantity is not None and quantity is None:
        return "501", "Quantity", "Quantity is not a number"
    if quantity is not None and quantity < 0:
        return "501", "Quantity", "Số lượng phải ≥ 0 / quantity must be >= 0"
    if quantity is not None and quantity < listing.reserved:
        return "501", "Quantity", f"Quantity below the {listing.reserved} units locked by orders or campaigns"
    if sku.price is not None and (price is None or price <= 0):
        return "4118", "Price", "Price is 0 or invalid"
    return None
