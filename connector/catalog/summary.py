"""Counting the catalog: products by stars, group, producer type and certificate state (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from schemas.catalog import CertificateState, Producer, ProducerType, Product, ProductGroup

STAR_LABELS: dict[str, str] = {
    "5": "5 sao / 5 stars",
    "4+": "4 sao, tiềm năng 5 sao / 4 stars, potential 5",
    "4": "4 sao / 4 stars",
    "3": "3 sao / 3 stars",
}
GROUP_LABELS: dict[ProductGroup, str] = {
    ProductGroup.FOOD: "Thực phẩm / Food",
    ProductGroup.BEVERAGES: "Đồ uống / Beverages",
    ProductGroup.HERBAL: "Dược liệu, thảo dược / Herbal",
    ProductGroup.HANDICRAFTS: "Thủ công mỹ nghệ / Handicrafts",
    ProductGroup.ORNAMENTAL: "Sinh vật cảnh / Ornamental",
    ProductGroup.TOURISM: "Du lịch cộng đồng / Community tourism",
}
PRODUCER_TYPE_LABELS: dict[ProducerType, str] = {
    ProducerType.COOPERATIVE: "Hợp tác xã / Cooperative",
    ProducerType.COOPERATIVE_GROUP: "Tổ hợp tác / Cooperative group",
    ProducerType.ENTERPRISE: "Doanh nghiệp / Enterprise",
    ProducerType.HOUSEHOLD: "Hộ kinh doanh, cơ sở SX / Household business",
}
CERT_LABELS: dict[CertificateState, str] = {
    CertificateState.VALID: "Còn hiệu lực / Valid",
    CertificateState.EXPIRING: "Sắp hết hạn / Expiring soon",
    CertificateState.EXPIRED: "Đã hết hạn / Expired",
}


def star_class(product: Product) -> str:
    """ "5", "4+" (4 stars, potential 5), "4" or "3"."""
    return "4+" if product.potential_5 else str(product.stars)


@dataclass(frozen=True)
class CatalogSummary:
    """Counts describing a catalog on one day; each breakdown is (label, count) in a fixed order."""

    products: int
    producers: int
    by_stars: tuple[tuple[str, int], ...]
    by_group: tuple[tuple[str, int], ...]
    by_producer_type: tuple[tuple[str, int], ...]
    by_certificate: tuple[tuple[str, int], ...]
    today: date
    warn_days: int


def summarise(
    producers: Sequence[Producer], products: Sequence[Product], today: date, warn_days: int = 60
) -> CatalogSummary:
    """Count `products` and `producers` the way OCOP statistics are reported, as of `today`."""
    stars = Counter(star_class(p) for p in products)
    groups = Counter(p.group for p in products)
    kinds = Counter(p.type for p in producers)
    certs = Counter(p.certificate.state(today, warn_days) for p in products)
    return CatalogSummary(
        products=len(products),
        producers=len(producers),
        by_stars=tuple((label, stars[key]) for key, label in STAR_LABELS.items()),
        by_group=tuple((label, groups[key]) for key, label in GROUP_LABELS.items()),
        by_producer_type=tuple((label, kinds[key]) for key, label in PRODUCER_TYPE_LABELS.items()),
        by_certificate=tuple((label, certs[key]) for key, label in CERT_LABELS.items()),
        today=today,
        warn_days=warn_days,
    )
