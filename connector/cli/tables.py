"""The operator tables of `ocop-sync status` and `ocop-sync runs`, readable from 80 columns up.

Columns have priorities: a narrow terminal drops the low-value ones (lease holder, worker,
trigger, token expiry...) instead of cutting values to `voso-… │ runni…`; every column folds
rather than truncates, and shop ids keep their full width. Every time is shown in the settings'
time zone, named above the table; every word comes from the i18n catalogue (vi / en).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from connector.reports.common import local_time, zone_label
from connector.reports.health import HealthState, ShopHealth
from connector.reports.i18n import bilingual

NARROW = 100  # below this many columns: only the columns that matter most, no side borders
WIDE = 140  # from this many columns: every column
STATE_STYLE: dict[HealthState, str] = {
    HealthState.OK: "green",
    HealthState.DEGRADED: "yellow",
    HealthState.FAILING: "red",
    HealthState.STALLED: "red",
    HealthState.NEEDS_RECONNECT: "bold red",
    HealthState.NEVER_RUN: "yellow",
    HealthState.DISABLED: "dim",
}
COUNTER_KEYS = (
    "reads",
    "writes",
    "created",
    "updated",
    "deactivated",
    "failed",
    "dead",
    "drift_opened",
    "drift_closed",
)
MAX_ERROR = 80


@dataclass(frozen=True)
class Col:
    """One column: its header key, its priority (0 = always shown) and its cell for a record."""

    key: str
    priority: int
    cell: Callable[[Any], str]
    justify: str = "left"
    ratio: int = 2  # its share of the width: every column folds within its share, the table never overflows


def _shown(columns: Sequence[Col], width: int) -> list[Col]:
    limit = 0 if width < NARROW else 1 if width < WIDE else 2
    return [c for c in columns if c.priority <= limit]


def _table(title: str, columns: Sequence[Col], width: int, min_widths: Mapping[str, int]) -> Table:
    narrow = width < NARROW
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        pad_edge=not narrow,
        expand=True,
    )
    for c in columns:
        words = bilingual(c.key) if c.key.startswith("cli.") else c.key
        header = words.split(" / ")[-1] if narrow else words
        table.add_column(
            header,
            overflow="fold",
            justify=c.justify,  # type: ignore[arg-type]
            width=min_widths.get(c.key),  # with a ratio, rich takes `width` as the column's minimum
            ratio=c.ratio,
        )
    return table


def times_line(now: datetime, tz: str) -> str:
    """The line naming the time zone of every time shown: "giờ / times: Asia/Ho_Chi_Minh (UTC+07:00)"."""
    return f"{bilingual('cli.times')}: {zone_label(now, tz)}"


def state_text(state: HealthState) -> str:
    """The shop state as "vi / en" words, coloured."""
    return f"[{STATE_STYLE[state]}]{bilingual(f'health.{state.value}')}[/{STATE_STYLE[state]}]"


def status_table(shops: Sequence[ShopHealth], tz: str, width: int) -> Table:
    """The shop health table, with as many columns as `width` allows."""
    seconds = width >= WIDE

    def token(s: ShopHealth) -> str:
        text = local_time(s.refresh_expires_at or s.token_expires_at, tz, seconds=False)
        return text + (" ⚠" if s.token_warning else "")

    columns = [
        Col("cli.col.shop", 0, lambda s: s.shop_id if width < NARROW else f"{s.shop_id} ({s.marketplace})", ratio=3),
        Col("cli.col.state", 0, lambda s: state_text(s.state), ratio=3),
        Col("cli.col.last_success", 0, lambda s: local_time(s.last_success_at, tz, seconds=seconds)),
        Col("cli.col.last_outcome", 1, lambda s: s.last_outcome or "—"),
        Col("cli.col.drift", 0, lambda s: ", ".join(f"{k} {n}" for k, n in s.open_drift.items()) or "0"),
        Col("cli.col.pending", 0, lambda s: str(s.pending_actions), "right", 1),
        Col("cli.col.dead", 0, lambda s: str(s.dead_actions), "right", 1),
        Col("cli.col.token", 1, token),
        Col("cli.col.lease", 2, lambda s: s.lease_holder or "—"),
    ]
    shown = _shown(columns, width)
    longest = max((len(s.shop_id) for s in shops), default=4)
    minimums = {"cli.col.shop": longest, "cli.col.pending": len("pending"), "cli.col.dead": len("dead")}
    table = _table(bilingual("cli.status.title"), shown, width, minimums)
    for s in shops:
        table.add_row(*[c.cell(s) if c.key == "cli.col.state" else escape(c.cell(s)) for c in shown])
    return table


def status_hints(shops: Sequence[ShopHealth], tz: str, credential_envs: Mapping[str, Sequence[str]]) -> list[str]:
    """One line per shop that needs attention: what is wrong and what to do about it."""
    lines = []
    for s in shops:
        if s.state is HealthState.NEEDS_RECONNECT:
            envs = ", ".join(credential_envs.get(s.shop_id, ())) or "credentials"
            hint = bilingual("health.hint.needs_reconnect", envs=envs, shop=s.shop_id)
        elif s.state is HealthState.FAILING:
            error = s.last_error if len(s.last_error) <= MAX_ERROR else s.last_error[:MAX_ERROR] + "…"
            hint = bilingual("health.hint.failing", n=s.failing_runs, error=error or s.last_outcome)
        elif s.state is HealthState.STALLED:
            hint = bilingual("health.hint.stalled", since=local_time(s.last_success_at, tz, seconds=False))
        elif s.state is HealthState.DEGRADED and s.dead_actions:
            hint = bilingual("health.hint.dead", n=s.dead_actions)
        elif s.state is HealthState.DEGRADED and s.token_warning:
            hint = bilingual("health.hint.token", date=local_time(s.refresh_expires_at, tz, seconds=False))
        else:
            continue
        lines.append(f"[bold]{escape(s.shop_id)}[/bold] — {state_text(s.state)}: {escape(hint)}")
    return lines


@dataclass(frozen=True)
class RunLine:
    """One sync run as the runs table shows it."""

    id: int
    shop_id: str
    kind: str
    trigger: str
    worker: str
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str
    error: str
    counters: Mapping[str, int]


def runs_table(runs: Sequence[RunLine], tz: str, width: int) -> Table:
    """The recent runs table, with as many columns as `width` allows; outcomes are never cut."""
    seconds = width >= NARROW

    def outcome(r: RunLine) -> str:
        error = r.error if len(r.error) <= MAX_ERROR else r.error[:MAX_ERROR] + "…"
        return r.outcome + (f" ({error})" if error else "")

    def counters(r: RunLine) -> str:
        return ", ".join(f"{k} {r.counters.get(k, 0)}" for k in COUNTER_KEYS if r.counters.get(k)) or "—"

    columns = [
        Col("#", 0, lambda r: str(r.id), "right", 1),
        Col("cli.col.shop", 0, lambda r: r.shop_id),
        Col("cli.col.kind", 0, lambda r: r.kind),
        Col("cli.col.trigger", 1, lambda r: r.trigger),
        Col("worker", 2, lambda r: r.worker),
        Col("cli.col.started", 0, lambda r: local_time(r.started_at, tz, seconds=seconds)),
        Col("cli.col.finished", 1, lambda r: local_time(r.finished_at, tz, seconds=seconds)),
        Col("cli.col.outcome", 0, outcome, ratio=3),
        Col("cli.col.skus", 1, lambda r: str(r.counters.get("skus_covered", 0)), "right"),
        Col("cli.col.counters", 1, counters),
    ]
    shown = _shown(columns, width)
    longest = {
        "cli.col.shop": max((len(r.shop_id) for r in runs), default=4),
        "cli.col.outcome": max((len(r.outcome) for r in runs), default=7),
    }
    table = _table(bilingual("cli.runs.title"), shown, width, longest)
    for r in runs:
        table.add_row(*[escape(c.cell(r)) for c in shown])
    return table
