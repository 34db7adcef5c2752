"""The states a tick moves through and the outcomes it ends with, as stored in `sync_tick`.

Action states (`ActionState`) and run outcomes (`RunOutcome`) are part of the shared
language and live in `schemas.sync`; a tick adds the ways a run can end without a summary.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from schemas.sync import RunOutcome


class TickState(StrEnum):
    """Where a scheduled run of one shop is: waiting, claimed by a worker, or finished."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TickOutcome(StrEnum):
    """How a tick ended: a run outcome, or why no run summary exists."""

    CONVERGED = RunOutcome.CONVERGED.value
    PARTIAL = RunOutcome.PARTIAL.value
    DEAD_ACTIONS = RunOutcome.DEAD_ACTIONS.value
    BLOCKED = RunOutcome.BLOCKED.value
    FAILED = RunOutcome.FAILED.value
    INTERRUPTED = RunOutcome.INTERRUPTED.value
    ERROR = "error"  # the run raised
    DEADLINE = "deadline"  # the run exceeded job_deadline_s
    STALE = "stale"  # the worker lost the shop lease mid-run
    MERGED = "merged"  # coalesced: another pending incremental tick of the shop ran in its place


# worst first: the outcome a request settles with when its shops ended differently
OUTCOME_SEVERITY: tuple[TickOutcome, ...] = (
    TickOutcome.ERROR,
    TickOutcome.DEADLINE,
    TickOutcome.FAILED,
    TickOutcome.STALE,
    TickOutcome.DEAD_ACTIONS,
    TickOutcome.BLOCKED,
    TickOutcome.INTERRUPTED,
    TickOutcome.PARTIAL,
    TickOutcome.CONVERGED,
    TickOutcome.MERGED,
)
FAILED_TICK_OUTCOMES = frozenset({TickOutcome.ERROR, TickOutcome.DEADLINE})


def worst_outcome(outcomes: Collection[str]) -> str:
    """The most severe of several outcomes (an unknown outcome counts as the worst); "" for none."""
    if not outcomes:
        return ""
    rank = {o.value: i for i, o in enumerate(OUTCOME_SEVERITY)}
    return min(outcomes, key=lambda o: rank.get(o, 0))
