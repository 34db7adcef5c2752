"""A deterministic demo catalog: An Giang's OCOP products as counted at the end of October 2023.

92 products from 62 producers (5 cooperatives, 1 cooperative group, 21 enterprises, 35 household
businesses); 2 five-star, 3 potential five-star (rated 4 stars), 15 other four-star and 72
three-star; 66 food, 22 beverages, 3 handicrafts and one community-tourism service
(ocop-domain C8). Names and places are realistic but the records are illustrative, not the
official register. Certificate dates are placed relative to a reference day so that a few are
already expired and a few expire within 60 days whenever the demo runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from connector.catalog.demo_tables import (
    CRITERIA_148_FROM,
    DISTRICTS_ABOLISHED,
    EXPIRED_SKUS,
    EXPIRING_SKUS,
    PLACES,
    PRODUCERS,
    PROVINCE,
    Item,
)
from connector.catalog.store import UpsertCounts, upsert_catalog
from connector.store.models import ProducerRow, ProductRow
from schemas.catalog import (
    Address,
    Compliance,
    CriteriaVersion,
    IssuingLevel,
    OcopCertificate,
    Producer,
    ProducerType,
    Product,
    add_months,
)

__all__ = ["EXPIRED_SKUS", "EXPIRING_SKUS", "PROVINCE", "DemoCatalog", "demo_catalog", "gtin13", "seed_demo"]


def gtin13(body12: str) -> str:
    """Append the GTIN check digit to a 12-digit body."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class DemoCatalog:
    """The demo producers and products, ready to upsert."""

    producers: tuple[Producer, ...]
    products: tuple[Product, ...]


def _producer(index: int, entry: tuple[str, ProducerType, str, str, str, tuple[Item, ...]]) -> Producer:
    pid, kind, name, place, contact, _items = entry
    commune, district, current = PLACES[place]
    return Producer(
        id=pid,
        name=name,
        type=kind,
        registration_no=f"1601{(index * 7919) % 1_000_000:06d}",
        address_certified=Address(street=f"Số {index * 3 + 12}", commune=commune, district=district, province=PROVINCE),
        address_current=Address(street=f"Số {index * 3 + 12}", commune=current, province=PROVINCE),
        contact_name=contact,
        contact_phone=f"0296 3{(index * 4567) % 1000:03d} {(index * 89) % 1000:03d}",
        contact_email=f"hoso+{pid.lower()}@example.vn",
    )


def _decision_date(sku: str, index: int, reference: date) -> date:
    if sku in EXPIRED_SKUS:
        return add_months(reference - timedelta(days=3 + 9 * (EXPIRED_SKUS.index(sku))), -36)
    if sku in EXPIRING_SKUS:
        return add_months(reference + timedelta(days=12 + 11 * (EXPIRING_SKUS.index(sku))), -36)
    return reference - timedelta(days=90 + (index * 37) % 900)


def _certificate(sku: str, index: int, stars: int, district: str, reference: date) -> OcopCertificate:
    decided = _decision_date(sku, index, reference)
    if stars == 5:
        level, issuer = IssuingLevel.CENTRAL, "Bộ Nông nghiệp và Phát triển nông thôn"
        number = f"{3000 + index}/QĐ-BNN-VPĐP"
    elif stars == 3 and CRITERIA_148_FROM <= decided < DISTRICTS_ABOLISHED:
        level, issuer = IssuingLevel.DISTRICT, f"UBND {district}"
        number = f"{1200 + index}/QĐ-UBND"
    else:
        level, issuer = IssuingLevel.PROVINCE, "UBND tỉnh An Giang"
        number = f"{80 + index}/QĐ-UBND"
    return OcopCertificate(decision_no=number, decision_date=decided, issuing_level=level, issuer=issuer)


def _compliance(index: int, product_set: int, producer_id: str, decided: date) -> Compliance:
    if product_set > 17:
        return Compliance()
    cert = index % 3 == 0
    return Compliance(
        self_declaration_ref=f"{index:02d}/{decided.year}/TCB-{producer_id}",
        lab_test_date=decided - timedelta(days=45),
        food_safety_cert_no=f"{index:03d}/{decided.year}/ATTP-CNĐK" if cert else "",
        food_safety_cert_expires=add_months(decided, 36) if cert else None,
        food_safety_exemption="" if cert else "Cơ sở sản xuất nhỏ lẻ (Điều 12 NĐ 15/2018/NĐ-CP)",
        alcohol=product_set in (14, 15),
    )


def _product(index: int, producer: Producer, item: Item, reference: date) -> Product:
    name, product_set, stars_code, unit, price, weight = item
    sku = f"AG-{index + 1:04d}"
    stars = int(stars_code[0])
    certificate = _certificate(sku, index, stars, producer.address_certified.district, reference)
    decided = certificate.decision_date
    barcode = gtin13(f"893{8_000_000 + (index + 1) * 131:09d}") if index % 3 == 0 else None
    slug = sku.lower()
    return Product(
        sku=sku,
        ocop_code=f"AG-OCOP-{decided.year}-{index + 1:03d}",
        producer_id=producer.id,
        name=name,
        product_set=product_set,
        criteria_version=CriteriaVersion.QD_148_2023 if decided >= CRITERIA_148_FROM else CriteriaVersion.QD_1048_2019,
        score={3: 55, 4: 75, 5: 91}[stars] + (index * 7) % 9,
        stars=stars,
        potential_5=stars_code.endswith("+"),
        certificate=certificate,
        compliance=_compliance(index, product_set, producer.id, decided),
        traceability_code=f"TX-{sku}" if index % 2 == 0 else "",
        traceability_url=f"https://truyxuat.angiang.example.vn/sp/{slug}" if index % 2 == 0 else "",
        price_vnd=price,
        stock=5 + (index * 17) % 120,
        unit=unit,
        weight_g=weight,
        description=f"{name}: sản phẩm OCOP {stars} sao của {producer.name}, {producer.address_certified.district}, "
        f"tỉnh An Giang.",
        images=(f"https://images.example.vn/ocop/ag/{slug}-1.jpg", f"https://images.example.vn/ocop/ag/{slug}-2.jpg"),
        barcode=barcode,
    )


def demo_catalog(reference: date) -> DemoCatalog:
    """The demo catalog with certificate dates placed relative to `reference` (the demo's "today")."""
    producers: list[Producer] = []
    products: list[Product] = []
    for p_index, entry in enumerate(PRODUCERS):
        producer = _producer(p_index + 1, entry)
        producers.append(producer)
        for item in entry[5]:
            products.append(_product(len(products), producer, item, reference))
    return DemoCatalog(tuple(producers), tuple(products))


def seed_demo(session: Session, reference: date, now: datetime) -> UpsertCounts:
    """Add the demo producers and products that are missing; records already present are left as they are.

    Existing rows are never overwritten, so seeding again (even on another day) changes nothing and
    keeps stock moved by sales.
    """
    catalog = demo_catalog(reference)
    have_producers = set(session.exec(select(col(ProducerRow.id))))
    have_products = set(session.exec(select(col(ProductRow.sku))))
    counts = upsert_catalog(
        session,
        [p for p in catalog.producers if p.id not in have_producers],
        [p for p in catalog.products if p.sku not in have_products],
        now,
    )
    skipped = len(have_producers & {p.id for p in catalog.producers}) + len(
        have_products & {p.sku for p in catalog.products}
    )
    return UpsertCounts(counts.inserted, counts.updated, counts.unchanged + skipped)
