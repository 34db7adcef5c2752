"""What every scenario shares: figures with targets, the cost-model floor, the results table.

The cost-model floor of one marketplace is the fewest calls any sync can make with that
marketplace's API to read every listing and write what changed (`floor_calls`), computed
from the marketplace's *published* limits (`PUBLISHED_LIMITS`: largest page, largest batch),
never from the sizes our adapters chose; the rate-limit floor is that many calls at the
marketplace's published rate (`rate_floor_s`). A judged figure counts only when the run it
measures converged: `Figure.void` names what went wrong, and its verdict is then FAIL.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PUBLISHED_LIMITS",
    "Figure",
    "FloorTerms",
    "PublishedLimits",
    "floor_calls",
    "format_table",
    "rate_floor_s",
    "write_results",
]


@dataclass(frozen=True)
class PublishedLimits:
    """What one marketplace's API allows per call, with where that is written."""

    page_size: int  # listings per read page
    write_batch: int  # SKUs per price/stock call
    request_scans: int  # unfiltered request-list scans a run needs before it may create (Tiki)
    source: str


# Section numbers refer to /work/shared/marketplace-apis.md (the team's notes on the published APIs).
PUBLISHED_LIMITS: dict[str, PublishedLimits] = {
    # Lazada: GET /products/get `limit` is at most 50 (error 19 "should not exceed a maximum of 50",
    # §1.4 notes on /products/get, [V]); POST /product/price_quantity/update takes at most 50 SKUs
    # (20 recommended, §1.4 notes on price_quantity/update, [V]). The floor uses the maximum, 50.
    "lazada": PublishedLimits(50, 50, 0, "§1.4: /products/get limit <= 50; price_quantity/update <= 50 SKUs"),
    # Tiki: GET /integration/v2/products pages by `page` + `limit` (default 20, §2.2 notes); no maximum
    # is published, the simulator enforces 100 (TikiSandbox.max_page_size) and that stands for it.
    # PUT /integration/v2.1/products/updateSkus: maximum batch "not captured" (§2.2, §7 item 10); the
    # simulator's update_skus_limit, 50, stands for it. GET /integration/v2/requests takes `state` as an
    # optional filter (§2.2 "Manage requests"), so one unfiltered scan (at least one page) is all the
    # API makes unavoidable to learn which SKUs are already under review, not one scan per state.
    "tiki": PublishedLimits(
        100, 50, 1, "§2.2: products limit (no published max; simulator 100); updateSkus (not published; simulator 50)"
    ),
    # Voso: no public API exists (§3, §7 item 1); its simulator is our own assumed spec with
    # MAX_PAGE = 100 listings per page and MAX_BATCH = 100 items per price/stock call.
    "voso": PublishedLimits(100, 100, 0, "§3: no public API; assumed spec page <= 100, batch <= 100"),
}


@dataclass(frozen=True)
class Figure:
    """One measured figure, with the target it is judged against (None: reported, not judged)."""

    key: str
    label: str
    value: float
    unit: str = ""
    target: float | None = None
    better: str = "le"  # "le": at most the target passes; "ge": at least the target passes
    note: str = ""
    void: str = ""  # why the measured run does not count (did not converge, failed): verdict FAIL

    def unless(self, problem: str) -> Figure:
        """This figure, voided by `problem` when it is not empty."""
        return self if not problem or self.target is None else Figure(**{**asdict(self), "void": problem})

    @property
    def ratio(self) -> float | None:
        """Value over target (None when there is no target or it is zero)."""
        if self.target is None or self.target == 0:
            return None
        return self.value / self.target

    @property
    def verdict(self) -> str:
        """PASS, MISS, FAIL when the measured run did not converge, or INFO for a figure without a target."""
        if self.target is None:
            return "INFO"
        if self.void:
            return "FAIL"
        ok = self.value <= self.target if self.better == "le" else self.value >= self.target
        return "PASS" if ok else "MISS"

    def as_json(self) -> dict[str, Any]:
        """The figure as a JSON object (with its ratio and verdict)."""
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict}


@dataclass(frozen=True)
class FloorTerms:
    """The terms of one marketplace's cost-model floor for one sync run, and their sum."""

    marketplace: str
    auth: int
    request_scans: int
    reads: int
    orders: int
    writes: int
    creates: int
    terms: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every call of the floor."""
        return self.auth + self.request_scans + self.reads + self.orders + self.writes + self.creates


def floor_calls(
    marketplace: str,
    *,
    listed: int,
    changed: int,
    creates: int,
    requests: int = 0,
    limits: PublishedLimits | None = None,
) -> FloorTerms:
    """The fewest calls a full resync can make on one marketplace at its published limits.

    - auth: one token call per run (Lazada refresh, Tiki client_credentials, Voso login);
    - request scans (Tiki only): one unfiltered scan of review requests, at least one page:
      max(1, ceil(requests / page size)) - a SKU under review must not be created twice;
    - reads: ceil(listed / largest page) listing pages (at least one);
    - orders: one page of new orders, since sales must lower stock before stock is pushed;
    - writes: ceil(changed / largest batch) price/stock calls;
    - creates: one call per missing listing (no marketplace here has a batch create).

    `limits` defaults to `PUBLISHED_LIMITS[marketplace]`; pass an adapter's own sizes only to
    report what the floor would be at the sizes it chose.
    """
    lim = limits or PUBLISHED_LIMITS[marketplace]
    reads = max(1, math.ceil(listed / lim.page_size))
    writes = math.ceil(changed / lim.write_batch) if changed else 0
    scans = lim.request_scans * max(1, math.ceil(requests / lim.page_size)) if lim.request_scans else 0
    return FloorTerms(
        marketplace=marketplace,
        auth=1,
        request_scans=scans,
        reads=reads,
        orders=1,
        writes=writes,
        creates=creates,
        terms={
            "reads": f"ceil({listed}/{lim.page_size})",
            "writes": f"ceil({changed}/{lim.write_batch})",
            "creates": f"{creates} x 1",
            "request_scans": f"{lim.request_scans} x max(1, ceil({requests}/{lim.page_size}))",
        },
    )


def rate_floor_s(calls: int, rate_per_s: float) -> float:
    """Seconds `calls` need at `rate_per_s` calls per second (the first call is free)."""
    return max(0, calls - 1) / rate_per_s


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_table(figures: list[Figure]) -> str:
    """A plain-text table: figure, value, target, ratio, verdict."""
    rows = [("figure", "value", "target", "ratio", "verdict")]
    for f in figures:
        target = "-" if f.target is None else (("<= " if f.better == "le" else ">= ") + _fmt(f.target))
        rows.append(
            (
                f.label,
                f"{_fmt(f.value)} {f.unit}".strip(),
                f"{target} {f.unit}".strip() if f.target is not None else "-",
                "-" if f.ratio is None else f"{f.ratio:.2f}",
                f.verdict + (f" ({f.void})" if f.void else ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_results(path: Path, figures: list[Figure], details: dict[str, Any]) -> None:
    """Write every figure and the scenario details as JSON."""
    body = {"figures": [f.as_json() for f in figures], "details": details}
    path.write_text(json.dumps(body, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
