"""Apply: drain one shop's pending outbox rows through its adapter, crash-safely.

- Creates go one at a time. The create intent is committed on the binding BEFORE the call;
  after any ambiguous failure (lost reply, timeout, 5xx) the next attempt first looks the
  seller SKU up, so a listing is never created twice. A crash between intent and result is
  resolved by the next run (`sync` looks intents up before planning).
- Price/stock and (de)activation go in batches of the adapter's `write_batch_size`; a
  partial failure retries only the failed SKUs.
- Every call goes through `CallPolicy` (the single retry layer and the shop's limiter).
  Rejected/permanent failures make the row `dead` with its error; transient failures left
  after the retry budget make it `failed` (retried by the next run). Nothing is dropped.
- Auth failures and unparseable replies abort the shop's run (raised to `sync`).
- Fenced side effects: under a `LeaseFence` every marketplace write (and every create) first
  proves, after the rate limiter let it go and right before the HTTP call, that this worker
  still holds the shop with lease time for the whole call; otherwise `StaleLeaseError` ends
  the run and nothing is sent (see docs/concurrency.md for the window no fence closes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.base import MarketplaceAdapter
from adapters.errors import (
    AdapterError,
    AuthExpired,
    AuthFailed,
    PermanentError,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from connector.engine.bindings import get_or_create, record_ref
from connector.engine.ratelimit import WRITE_GATE
from connector.engine.retry import CallPolicy
from connector.store import session_scope
from connector.store.leases import LeaseFence
from connector.store.models import ActionRow
from schemas.listing import (
    CreateResult,
    ItemOutcome,
    ItemResult,
    ListingContent,
    ListingDraft,
    ListingRef,
    PriceStockUpdate,
    QcStatus,
)
from schemas.sync import ActionKind, ActionState

__all__ = ["Applier", "ApplyOutcome", "PendingAction"]

Fence = Callable[[Session], None]
Progress = Callable[[str, int, int], None]
ABORTING = (AuthFailed, AuthExpired, ResponseShapeError)  # these end the shop's run


class _PartialFailure(TransientError):
    """Some items of a batch failed transiently; only they are sent again."""


class _SplitBatch(PermanentError):
    """A multi-item call failed as a whole: stop retrying it and send its halves instead."""


@dataclass(frozen=True)
class PendingAction:
    """An outbox row detached from its session: what to send for which SKU."""

    id: int
    sku: str
    kind: ActionKind
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: ActionRow) -> PendingAction:
        """Detach an outbox row."""
        assert row.id is not None
        return cls(row.id, row.sku, ActionKind(row.kind), dict(row.payload))

    @property
    def ref(self) -> ListingRef:
        """The listing the action addresses."""
        return ListingRef.model_validate(self.payload["ref"])


@dataclass
class ApplyOutcome:
    """What draining the outbox did, by SKU and in totals."""

    done: dict[str, set[ActionKind]] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    failed: int = 0
    dead: int = 0

    def count_done(self, p: PendingAction) -> None:
        """Record one acknowledged action."""
        self.done.setdefault(p.sku, set()).add(p.kind)
        if p.kind is ActionKind.CREATE:
            self.created += 1
        elif p.kind is ActionKind.DEACTIVATE:
            self.deactivated += 1
        elif p.kind is ActionKind.REACTIVATE:
            self.reactivated += 1
        else:
            self.updated += 1


@dataclass
class Applier:
    """Drains pending actions of one shop."""

    engine: Engine
    shop_id: str
    adapter: MarketplaceAdapter
    calls: CallPolicy
    clock: Callable[[], datetime]
    fence: Fence | None = None
    progress: Progress | None = None
    outcome: ApplyOutcome = field(default_factory=ApplyOutcome)
    _total: int = 0
    _finished: int = 0

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            if self.fence is not None:
                self.fence(session)
            yield session

    async def _prove_lease(self) -> None:
        """Right before a marketplace write: refuse it (StaleLeaseError) unless we still hold the shop.

        With a per-request limiter the request hook proves it instead, after the token wait (once is enough)."""
        if isinstance(self.fence, LeaseFence) and not self.calls.limiter.per_request:
            await self.fence.before_write()

    @contextmanager
    def _fenced_requests(self) -> Iterator[None]:
        """While a write's adapter call runs, every request it sends proves the lease after its token wait."""
        if not isinstance(self.fence, LeaseFence):
            yield
            return
        token = WRITE_GATE.set(self.fence.before_write)
        try:
            yield
        finally:
            WRITE_GATE.reset(token)

    def _tick(self, n: int = 1) -> None:
        self._finished += n
        if self.progress is not None:
            self.progress("apply", self._finished, self._total)

    def _set_state(self, session: Session, p: PendingAction, state: ActionState, error: str = "") -> None:
        row = session.get(ActionRow, p.id)
        if row is None:
            return
        row.state, row.updated_at = state.value, self.clock()
        if state is ActionState.IN_FLIGHT:
            row.attempts += 1
        if state is ActionState.DONE:
            row.last_error = ""
        if error:
            row.last_error = error[:500]
        session.add(row)

    def _finish(self, session: Session, p: PendingAction, state: ActionState, error: str = "") -> None:
        self._set_state(session, p, state, error)
        if state is ActionState.DONE:
            self.outcome.count_done(p)
        elif state is ActionState.DEAD:
            self.outcome.dead += 1
        else:
            self.outcome.failed += 1

    async def run(self, actions: Sequence[PendingAction]) -> ApplyOutcome:
        """Send every action; return what happened. Raises AuthFailed/ResponseShapeError to abort."""
        self._total = len(actions)
        by_kind: dict[ActionKind, list[PendingAction]] = {}
        for p in actions:
            by_kind.setdefault(p.kind, []).append(p)
        for p in by_kind.get(ActionKind.CREATE, []):
            await self._create(p)
        for p in by_kind.get(ActionKind.UPDATE_CONTENT, []):
            await self._update_content(p)
        for kind in (ActionKind.SET_PRICE_STOCK, ActionKind.DEACTIVATE, ActionKind.REACTIVATE):
            await self._batches(kind, by_kind.get(kind, []))
        return self.outcome

    # -- creates ----------------------------------------------------------------------------

    async def _create(self, p: PendingAction) -> None:
        draft = ListingDraft.model_validate(p.payload["draft"])
        with self._tx() as session:
            binding = get_or_create(session, self.shop_id, p.sku)
            binding.create_intent_at = self.clock()
            session.add(binding)
            self._set_state(session, p, ActionState.IN_FLIGHT)
        try:
            result = await self.calls.call(self._create_attempt(draft), write=True)
        except ABORTING:
            with self._tx() as session:
                self._finish(session, p, ActionState.FAILED, "aborted: authorisation or reply shape")
            raise
        except PermanentError as exc:
            with self._tx() as session:
                self._create_refused(session, p, exc)
        except TransientError as exc:
            with self._tx() as session:  # the intent stays: the next run looks the SKU up first
                self._finish(session, p, ActionState.FAILED, str(exc))
        else:
            with self._tx() as session:
                self._create_done(session, p, draft, result)
        self._tick()

    def _create_attempt(self, draft: ListingDraft) -> Callable[[], Awaitable[CreateResult]]:
        ambiguous = [False]

        async def attempt() -> CreateResult:
            if ambiguous[0]:
                await self.calls.take_turn()
                found = await self.adapter.get_listing(draft.seller_sku)
                if found is not None:
                    return CreateResult(ref=found.ref, qc_status=found.qc_status)
            await self._prove_lease()
            try:
                with self._fenced_requests():
                    return await self.adapter.create(draft)
            except RateLimited:
                raise
            except TransientError:
                ambiguous[0] = True  # the create may have been committed: look before creating again
                raise

        return attempt

    def _create_done(self, session: Session, p: PendingAction, draft: ListingDraft, result: CreateResult) -> None:
        binding = get_or_create(session, self.shop_id, p.sku)
        record_ref(binding, result.ref)
        now = self.clock()
        binding.create_intent_at = None
        binding.qc_status, binding.qc_reason, binding.qc_field, binding.qc_since = result.qc_status.value, "", "", now
        binding.pushed_content_hash = str(p.payload.get("content_hash", ""))
        binding.pushed_price, binding.pushed_stock, binding.pushed_active = draft.price_vnd, draft.stock, draft.active
        binding.last_pushed_at = now
        session.add(binding)
        self._finish(session, p, ActionState.DONE)

    def _create_refused(self, session: Session, p: PendingAction, exc: PermanentError) -> None:
        binding = get_or_create(session, self.shop_id, p.sku)
        binding.create_intent_at = None  # a refused create did not happen
        if isinstance(exc, Rejected):
            binding.qc_status, binding.qc_reason, binding.qc_field = QcStatus.REJECTED.value, exc.reason, exc.field
            binding.qc_since = self.clock()
            binding.pushed_content_hash = str(p.payload.get("content_hash", ""))
        session.add(binding)
        self._finish(session, p, ActionState.DEAD, str(exc))

    # -- content ----------------------------------------------------------------------------

    async def _update_content(self, p: PendingAction) -> None:
        content = ListingContent.model_validate(p.payload["content"])
        ref = p.ref
        with self._tx() as session:
            self._set_state(session, p, ActionState.IN_FLIGHT)

        async def attempt() -> ItemResult:
            await self._prove_lease()
            with self._fenced_requests():
                result = await self.adapter.update_content(ref, content)
            if result.outcome is ItemOutcome.FAILED:
                raise _PartialFailure(result.message or "item failed", code=result.code)
            return result

        try:
            result = await self.calls.call(attempt, write=True)
        except ABORTING:
            with self._tx() as session:
                self._finish(session, p, ActionState.FAILED, "aborted: authorisation or reply shape")
            raise
        except AdapterError as exc:
            state = ActionState.FAILED if exc.retryable else ActionState.DEAD
            with self._tx() as session:
                self._finish(session, p, state, str(exc))
        else:
            with self._tx() as session:
                self._content_result(session, p, result)
        self._tick()

    def _content_result(self, session: Session, p: PendingAction, result: ItemResult) -> None:
        if result.outcome is not ItemOutcome.OK:
            self._finish(session, p, ActionState.DEAD, f"{result.code} {result.message}".strip())
            return
        binding = get_or_create(session, self.shop_id, p.sku)
        binding.pushed_content_hash = str(p.payload.get("content_hash", ""))
        binding.last_pushed_at = self.clock()
        if type(self.adapter).capabilities.reviewed_content_updates:
            binding.qc_status, binding.qc_since = QcStatus.PENDING.value, self.clock()
        session.add(binding)
        self._finish(session, p, ActionState.DONE)

    # -- batches ----------------------------------------------------------------------------

    def _send(self, kind: ActionKind, items: Sequence[PendingAction]) -> Awaitable[list[ItemResult]]:
        if kind is ActionKind.SET_PRICE_STOCK:
            updates = [
                PriceStockUpdate(ref=p.ref, price_vnd=int(p.payload["price_vnd"]), stock=int(p.payload["stock"]))
                for p in items
            ]
            return self.adapter.set_price_stock(updates)
        return self.adapter.set_active([p.ref for p in items], kind is ActionKind.REACTIVATE)

    async def _batches(self, kind: ActionKind, items: list[PendingAction]) -> None:
        size = type(self.adapter).capabilities.write_batch_size
        for start in range(0, len(items), size):
            await self._batch(kind, items[start : start + size])

    async def _batch(self, kind: ActionKind, chunk: list[PendingAction]) -> None:
        with self._tx() as session:
            for p in chunk:
                self._set_state(session, p, ActionState.IN_FLIGHT)
        finished: list[tuple[PendingAction, ItemResult]] = []
        left, error = await self._send_items(kind, chunk, finished)
        with self._tx() as session:
            self._batch_results(session, kind, finished, left, error)
        self._tick(len(chunk))
        if isinstance(error, ABORTING):
            raise error

    async def _send_items(
        self, kind: ActionKind, items: list[PendingAction], finished: list[tuple[PendingAction, ItemResult]]
    ) -> tuple[list[PendingAction], AdapterError | None]:
        """Send items with retries; a batch the marketplace fails as a whole is split in halves.

        Some adapters make one request per item inside a batch call, so one transient error
        loses the whole call; halving keeps the successes and isolates the failures.
        """
        remaining = {p.sku: p for p in items}

        async def attempt() -> None:
            await self._prove_lease()
            try:
                with self._fenced_requests():
                    results = {r.seller_sku: r for r in await self._send(kind, list(remaining.values()))}
            except RateLimited:
                raise
            except TransientError as exc:
                if len(remaining) > 1:
                    self.calls.honour_retry_after(exc)  # the halves wait out the 5xx's Retry-After too
                    raise _SplitBatch(str(exc)) from exc
                raise
            for sku in list(remaining):
                result = results.get(sku)
                if result is not None and result.outcome is not ItemOutcome.FAILED:
                    finished.append((remaining.pop(sku), result))
            if remaining:
                raise _PartialFailure(f"{len(remaining)} of the batch failed", operation=kind.value)

        try:
            await self.calls.call(attempt, write=True)
        except _SplitBatch:
            rest = list(remaining.values())
            half = len(rest) // 2
            left_a, error_a = await self._send_items(kind, rest[:half], finished)
            left_b, error_b = await self._send_items(kind, rest[half:], finished)
            return left_a + left_b, error_b or error_a
        except AdapterError as exc:
            return list(remaining.values()), exc
        return [], None

    def _batch_results(
        self,
        session: Session,
        kind: ActionKind,
        finished: list[tuple[PendingAction, ItemResult]],
        left: list[PendingAction],
        error: AdapterError | None,
    ) -> None:
        now = self.clock()
        for p, result in finished:
            if result.outcome is ItemOutcome.REJECTED:
                self._finish(session, p, ActionState.DEAD, f"{result.code} {result.message}".strip())
                continue
            binding = get_or_create(session, self.shop_id, p.sku)
            if kind is ActionKind.SET_PRICE_STOCK:
                binding.pushed_price, binding.pushed_stock = int(p.payload["price_vnd"]), int(p.payload["stock"])
            else:
                binding.pushed_active = kind is ActionKind.REACTIVATE
            binding.last_pushed_at = now
            session.add(binding)
            self._finish(session, p, ActionState.DONE)
        permanent = error is not None and not error.retryable and not isinstance(error, ABORTING)
        for p in left:
            state = ActionState.DEAD if permanent else ActionState.FAILED
            self._finish(session, p, state, str(error) if error else "no result for this SKU")
