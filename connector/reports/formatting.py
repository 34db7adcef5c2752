"""Value formatting shared by every report format: dates, đồng, ages, drift kinds, page links, CSV cells."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from connector.reports.i18n import Lang, Translator
from schemas.report import ListingLine, ProducerReport, ProductSummary

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class PageLinks:
    """Navigation links of a served page (None for a report saved to a file or e-mailed)."""

    lang_url: str = ""
    logout: str = ""
    logout_csrf: str = ""
    home: str = "/"
    drift_url: str = "/drift"
    producer_base: str = "/producers/"

    def producer_url(self, producer_id: str) -> str:
        """The page of one producer."""
        return self.producer_base + quote(producer_id, safe="")


def csv_safe(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula (OWASP CSV injection guidance)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class Formatter:
    """Turns values into display text for one language and time zone."""

    lang: Lang = "vi"
    tz: str = DEFAULT_TZ

    def dt(self, moment: datetime | None) -> str:
        """A moment in local time, e.g. `2026-03-01 15:00`; `—` when unknown."""
        if moment is None:
            return "—"
        return moment.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%d %H:%M")

    def vnd(self, amount: int | None) -> str:
        """Whole đồng with thousands separators and the sign (`85.000 ₫` in vi, `85,000 ₫` in en); `—` if unknown."""
        if amount is None:
            return "—"
        text = f"{amount:,}"
        return (text.replace(",", ".") if self.lang == "vi" else text) + "\u00a0₫"

    def num(self, value: int | None) -> str:
        """An integer, or `—` when unknown."""
        return "—" if value is None else str(value)

    def age(self, seconds: int) -> str:
        """A duration in the largest whole unit (days, hours, minutes)."""
        t = Translator(self.lang)
        if seconds >= 86_400:
            return t("age.days", n=seconds // 86_400)
        if seconds >= 3_600:
            return t("age.hours", n=seconds // 3_600)
        return t("age.minutes", n=seconds // 60)

    def kind(self, kind: str) -> str:
        """A drift kind in words."""
        return Translator(self.lang).value("drift", kind)

    def value(self, prefix: str, value: object) -> str:
        """A coded value (run kind, trigger, outcome, action...) in words; `—` when empty."""
        return Translator(self.lang).value(prefix, value) or "—"

    def drift_value(self, kind: str, value: str) -> str:
        """An expected or observed drift value for people: prices in đồng, listing states in words."""
        if kind == "price" and value.isdigit():
            return self.vnd(int(value))
        return Translator(self.lang).value("value", value) if value else "—"


def lines_by_sku(lines: Sequence[ListingLine]) -> dict[str, list[ListingLine]]:
    """Listing lines grouped by product SKU, in their order."""
    result: dict[str, list[ListingLine]] = defaultdict(list)
    for line in lines:
        result[line.sku].append(line)
    return dict(result)


URGENCY = ("rejected", "cert_expired", "missing", "inactive", "pending_review", "live", "not_listed")
ACTION_STEPS = frozenset({"fix_rejected", "fix_rejected_nofield", "renew_cert", "contact_operator"})


def _urgency(state: str) -> int:
    return URGENCY.index(state) if state in URGENCY else len(URGENCY)


def products_by_urgency(report: ProducerReport) -> list[ProductSummary]:
    """The producer's products, those needing action first (rejected, certificate expired, missing...)."""
    by_sku = lines_by_sku(report.listings)
    position = {p.sku: i for i, p in enumerate(report.products)}

    def key(product: ProductSummary) -> tuple[int, int, int]:
        lines = by_sku.get(product.sku, [])
        needs = any(line.next_step_code in ACTION_STEPS for line in lines)
        worst = min((_urgency(line.state.value) for line in lines), default=len(URGENCY))
        return (0 if needs else 1, worst, position[product.sku])

    return sorted(report.products, key=key)


def needing_action(report: ProducerReport) -> list[str]:
    """SKUs of the products with a listing that needs the producer's (or operator's) action."""
    return sorted({line.sku for line in report.listings if line.next_step_code in ACTION_STEPS})


def first_sku_by_state(products: Sequence[ProductSummary], lines: Sequence[ListingLine]) -> dict[str, str]:
    """For each listing state, the first product (in page order) with a listing in that state."""
    by_sku = lines_by_sku(lines)
    first: dict[str, str] = {}
    for product in products:
        for line in by_sku.get(product.sku, []):
            first.setdefault(line.state.value, product.sku)
    return first
