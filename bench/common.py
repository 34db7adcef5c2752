"""What every scenario shares: figures with targets, the cost-model floor, the results table.

The cost-model floor of one marketplace is the fewest calls any sync can make with that
marketplace's API to read every listing and write what changed (`floor_calls`); the
rate-limit floor is that many calls at the marketplace's published rate (`rate_floor_s`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters.tiki.mapping import SCANNED_REQUEST_STATES

__all__ = [
    "Figure",
    "FloorTerms",
    "floor_calls",
    "format_table",
    "rate_floor_s",
    "write_results",
]


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

    @property
    def ratio(self) -> float | None:
        """Value over target (None when there is no target or it is zero)."""
        if self.target is None or self.target == 0:
            return None
        return self.value / self.target

    @property
    def verdict(self) -> str:
        """PASS, MISS, or INFO for a figure without a target."""
        if self.target is None:
            return "INFO"
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
    marketplace: str, *, listed: int, changed: int, creates: int, page_size: int, write_batch: int, requests: int = 0
) -> FloorTerms:
    """The fewest calls a full resync can make on one marketplace.

    - auth: one token call per run (Lazada refresh, Tiki client_credentials, Voso login);
    - reads: ceil(listed / page size) listing pages (at least one);
    - request scans (Tiki only): Tiki lists review requests by state only, so knowing which
      SKUs are under review (never create those twice) takes one scan per open state, each at
      least one page: len(SCANNED_REQUEST_STATES) x max(1, ceil(requests / page size));
    - orders: one page of new orders, since sales must lower stock before stock is pushed;
    - writes: ceil(changed / write batch) price/stock calls;
    - creates: one call per missing listing (no marketplace here has a batch create).
    """
    reads = max(1, math.ceil(listed / page_size))
    writes = math.ceil(changed / write_batch) if changed else 0
    scans = len(SCANNED_REQUEST_STATES) * max(1, math.ceil(requests / page_size)) if marketplace == "tiki" else 0
    return FloorTerms(
        marketplace=marketplace,
        auth=1,
        request_scans=scans,
        reads=reads,
        orders=1,
        writes=writes,
        creates=creates,
        terms={
            "reads": f"ceil({listed}/{page_size})",
            "writes": f"ceil({changed}/{write_batch})",
            "creates": f"{creates} x 1",
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
                f.verdict,
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
