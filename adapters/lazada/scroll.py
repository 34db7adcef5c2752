"""The cursor for scrolling /products/get by `update_after` without skipping or repeating items.

Lazada recommends scrolling by date rather than by offset: ask for products updated at or
after the last update time seen. Two things make that subtle, and this pure state machine
handles both:

* Many products can share one update second (a bulk import, a seeded shop), more than a
  page holds. Inside such a "block" we page with `offset`, counting what we consumed.
* Data changes while we scroll: a product we already read may be updated again and move
  to the end of the order, shrinking the block under our offset. So each page inside a block
  re-reads `OVERLAP` items we consumed; if the first item returned is not one of them,
  items moved and we might have stepped over unseen ones, so we step back a page and retry.

Items are yielded once per scroll (by item id); one updated again after we read it is left
to the next incremental run, whose `since` covers its new update time.
[I] Relies on /products/get ordering by update time, ascending, with a stable order inside
a second, which "use date for scrolling" implies; the sandbox orders by (update time, item id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

OVERLAP = 5


@dataclass
class Scroll:
    """Where a scroll stands: the block second, how much of it we consumed, what we yielded."""

    limit: int
    since_s: int = 0
    consumed: int = 0
    block_ids: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    rewind_to: int | None = None
    done: bool = False

    @classmethod
    def starting(cls, since: datetime | None, limit: int) -> Scroll:
        """A scroll over products updated at or after `since` (all of them when None)."""
        return cls(limit=limit, since_s=int(since.timestamp()) if since else 0)

    def next_offset(self) -> int:
        """The `offset` of the next request (its `update_after` is `since_s`)."""
        if self.rewind_to is not None:
            return self.rewind_to
        return max(0, self.consumed - OVERLAP)

    def absorb(self, offset: int, rows: Sequence[tuple[str, int]]) -> list[str]:
        """Take one page of (item_id, updated_ms) rows fetched at `offset`; return the ids to yield."""
        if offset > 0 and (not rows or rows[0][0] not in self.block_ids or rows[0][1] // 1000 != self.since_s):
            self.rewind_to = max(0, offset - self.limit)
            return []
        self.rewind_to = None
        fresh = [item_id for item_id, _ in rows if item_id not in self.seen]
        self.seen.update(fresh)
        if len(rows) < self.limit:
            self.done = True
        if rows:
            last_s = rows[-1][1] // 1000
            if last_s == self.since_s:
                self.consumed = offset + len(rows)
                self.block_ids.update(item_id for item_id, _ in rows)
            else:
                self.since_s = last_s
                in_block = [item_id for item_id, ms in rows if ms // 1000 == last_s]
                self.consumed = len(in_block)
                self.block_ids = set(in_block)
        return list(dict.fromkeys(fresh))

    def cursor(self) -> str | None:
        """A printable cursor (block second and items consumed in it); None once done."""
        return None if self.done else f"{self.since_s}:{self.consumed}"
