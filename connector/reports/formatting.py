"""Value formatting shared by every report format: dates, đồng, ages, drift kinds, page links, CSV cells."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from connector.reports.i18n import Lang, Translator
from schemas.report import ListingLine

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class PageLinks:
    """Navigation links of a served page (None for a report saved to a file or e-mailed)."""

    lang_url: str = ""
    logout: str = ""
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
        """Whole đồng with thousands separators (`85.000` in vi, `85,000` in en); `—` when unknown."""
        if amount is None:
            return "—"
        text = f"{amount:,}"
        return text.replace(",", ".") if self.lang == "vi" else text

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
        t = Translator(self.lang)
        return t(f"drift.{kind}") if t.has(f"drift.{kind}") else kind


def lines_by_sku(lines: Sequence[ListingLine]) -> dict[str, list[ListingLine]]:
    """Listing lines grouped by product SKU, in their order."""
    result: dict[str, list[ListingLine]] = defaultdict(list)
    for line in lines:
        result[line.sku].append(line)
    return dict(result)
