"""The simulator machinery every sandbox shares: fault specs, rate limiter, transport, request log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from adapters.errors import AmbiguousWrite, TransientError
from adapters.http import parse_retry_after, send
from adapters.sandbox import (
    Fault,
    FaultInjector,
    FaultSpec,
    Sandbox,
    SandboxListing,
    SandboxOptions,
    SandboxTransport,
    SimulatedReset,
)
from adapters.sandbox.ratelimit import SlidingWindowLimiter

pytestmark = pytest.mark.timeout(30)


class TinySandbox(Sandbox):
    """A sandbox with one gated route, to exercise the shared machinery alone."""

    def marketplace_routes(self) -> list[BaseRoute]:
        """`GET /ping` for seller S1, through the gate; `GET /hang` and `/reset` misbehave."""

        async def ping(request: Request) -> JSONResponse:
            decision = await self.gate("S1", "ping", is_write=False)
            return JSONResponse({"fault": decision.fault.value, "retry_after": decision.retry_after})

        async def hang(request: Request) -> JSONResponse:
            await asyncio.sleep(5)
            return JSONResponse({})

        async def reset(request: Request) -> JSONResponse:
            raise SimulatedReset("reset")

        return [Route("/ping", ping), Route("/hang", hang), Route("/reset", reset)]


def client(sandbox: Sandbox, timeout: float = 2.0) -> httpx.AsyncClient:
    """An in-process client into `sandbox`."""
    return httpx.AsyncClient(transport=SandboxTransport(sandbox.app), base_url="http://sandbox.local", timeout=timeout)


# -- FaultSpec ---------------------------------------------------------------------------------


def test_fault_spec_parses_the_shared_text_format() -> None:
    """Rates, latency in ms, seed and switches parse from one comma-separated string."""
    spec = FaultSpec.parse("error=0.2, throttle=0.1,partial=0.5,drift=0.3,latency=50ms,seed=7,outage=true")
    assert (spec.error_rate, spec.throttle_rate, spec.partial_batch_rate, spec.page_drift_rate) == (0.2, 0.1, 0.5, 0.3)
    assert (spec.latency_ms, spec.seed, spec.outage) == (50, 7, True)
    assert FaultSpec.parse("") == FaultSpec()
    assert FaultSpec.parse("timeout_hang_s=5,retry_after_http_date=1").timeout_hang_s == 5.0


def test_fault_spec_rejects_unknown_keys_and_bad_rates() -> None:
    """A typo names the key and the known ones; a rate outside 0..1 is refused."""
    with pytest.raises(ValueError, match=r"'erorr'.*error"):
        FaultSpec.parse("erorr=0.1")
    with pytest.raises(ValueError):
        FaultSpec.parse("error=1.5")


def test_fault_injector_is_reproducible_from_its_seed() -> None:
    """The same spec and seed draw the same faults, so failing runs can be replayed."""
    spec = FaultSpec(error_rate=0.3, throttle_rate=0.2, seed=42)
    injectors = [FaultInjector(spec), FaultInjector(spec)]
    draws = [[injector.draw() for _ in range(50)] for injector in injectors]
    assert draws[0] == draws[1]
    assert {Fault.ERROR, Fault.THROTTLE, Fault.NONE} <= set(draws[0])
    assert FaultInjector(FaultSpec(outage=True)).draw() is Fault.OUTAGE


# -- rate limiter ----------------------------------------------------------------------------


def test_sliding_window_limiter_allows_limit_then_says_how_long_to_wait() -> None:
    """`limit` calls per window per key; the next one learns when a slot frees."""
    limiter = SlidingWindowLimiter(3, window_s=1.0)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert [limiter.check("a", t0 + timedelta(milliseconds=100 * i)) for i in range(3)] == [None, None, None]
    wait = limiter.check("a", t0 + timedelta(milliseconds=500))
    assert wait is not None and wait == pytest.approx(0.5)
    assert limiter.check("b", t0 + timedelta(milliseconds=500)) is None, "limits are per key"
    assert limiter.check("a", t0 + timedelta(seconds=1.05)) is None


def test_zero_limit_means_unlimited() -> None:
    """A limiter with limit 0 never throttles."""
    limiter = SlidingWindowLimiter(0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert all(limiter.check("a", now) is None for _ in range(1000))


# -- gate, log, throttle violations --------------------------------------------------------------


async def test_gate_throttles_over_the_rate_limit_and_logs_it() -> None:
    """Past the per-seller limit the gate answers THROTTLE with a wait, and the log records it."""
    sandbox = TinySandbox(SandboxOptions(rate_limit_per_s=2))
    async with client(sandbox) as http:
        faults = [(await http.get("/ping")).json()["fault"] for _ in range(3)]
    assert faults == ["none", "none", "throttle"]
    assert [e.outcome for e in sandbox.log] == ["ok", "ok", "throttled"]
    assert sandbox.log[-1].retry_after is not None and sandbox.log[-1].retry_after > 0


def test_throttle_violations_are_requests_sent_inside_a_back_off() -> None:
    """A request before the Retry-After passed is a violation; one after it is not."""
    sandbox = TinySandbox()
    sandbox.record("S1", "ping", False, "throttled", retry_after=1.0)
    sandbox.clock.advance(0.5)
    sandbox.record("S1", "ping", False, "ok")
    sandbox.record("S2", "ping", False, "ok")
    sandbox.clock.advance(0.6)
    sandbox.record("S1", "ping", False, "ok")
    violations = sandbox.throttle_violations()
    assert [(v.seller_id, v.at) for v in violations] == [("S1", sandbox.log[1].at)]


def test_retry_after_header_in_seconds_or_http_date() -> None:
    """The sandbox's Retry-After parses back to about the same wait in either form."""
    sandbox = TinySandbox()
    assert parse_retry_after(sandbox.retry_after_header(2.2)) == 3.0
    sandbox.faults.set_spec(FaultSpec(retry_after_http_date=True))
    header = sandbox.retry_after_header(30)
    parsed = parse_retry_after(header, now=sandbox.clock.now())
    assert parsed is not None and 29 <= parsed <= 31  # an HTTP-date has whole seconds: rounded up, never early


def test_parse_retry_after_handles_both_forms_and_garbage() -> None:
    """Delta-seconds, HTTP-date (past dates are 0) and unparseable values."""
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


# -- transport -------------------------------------------------------------------------------


async def test_transport_enforces_the_read_timeout() -> None:
    """A hanging sandbox raises httpx.ReadTimeout at the client's timeout, not when it wakes."""
    sandbox = TinySandbox()
    async with client(sandbox, timeout=0.2) as http:
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/hang")
        assert asyncio.get_running_loop().time() - started < 1.0


async def test_transport_turns_a_dropped_connection_into_a_protocol_error() -> None:
    """SimulatedReset reaches the client as a RemoteProtocolError, as over a socket."""
    sandbox = TinySandbox()
    async with client(sandbox) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/reset")


async def test_http_send_maps_transport_failures_to_typed_errors() -> None:
    """Through `adapters.http.send`, a reset is TransientError for reads and AmbiguousWrite for writes."""
    sandbox = TinySandbox()
    async with client(sandbox, timeout=0.2) as http:
        with pytest.raises(TransientError) as read:
            await send(http, http.build_request("GET", "/reset"), marketplace="x", operation="r", is_write=False)
        assert not isinstance(read.value, AmbiguousWrite)
        with pytest.raises(AmbiguousWrite):
            await send(http, http.build_request("GET", "/hang"), marketplace="x", operation="w", is_write=True)


async def test_timeout_fault_hangs_then_drops() -> None:
    """A TIMEOUT fault hangs `timeout_hang_s`, so a client with a shorter timeout gives up first."""
    sandbox = TinySandbox(SandboxOptions(faults=FaultSpec(timeout_rate=1.0, timeout_hang_s=3.0)))
    async with client(sandbox, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/ping")
    assert [e.outcome for e in sandbox.log] == ["timeout"]


# -- review queue and buyers -------------------------------------------------------------------


def _listing(sandbox: Sandbox, sku: str) -> SandboxListing:
    now = sandbox.clock.now()
    listing = SandboxListing("S1", sku, sandbox.store.next_id(), sandbox.store.next_id(), sku, 10_000, 3, now, now)
    sandbox.store.shop("S1")[sku] = listing
    return listing


def test_reviews_resolve_after_the_delay_with_reasons_for_rejections() -> None:
    """Pending reviews stay pending until `qc_delay_s` passes; listed SKUs are rejected with a reason."""
    sandbox = TinySandbox(SandboxOptions(qc_delay_s=60, qc_reject_skus=("BAD",)))
    good, bad = _listing(sandbox, "GOOD"), _listing(sandbox, "BAD")
    sandbox.start_review(good)
    sandbox.start_review(bad)
    sandbox.tick_reviews()
    assert (good.qc_status, bad.qc_status) == ("pending", "pending")
    sandbox.clock.advance(61)
    sandbox.tick_reviews()
    assert good.qc_status == "approved"
    assert (bad.qc_status, bad.status) == ("rejected", "inactive") and bad.qc_reason


def test_run_buyers_places_orders_at_the_configured_rate() -> None:
    """Simulated buyers order at `buyers_per_minute` of simulated time and reduce stock."""
    sandbox = TinySandbox(SandboxOptions(buyers_per_minute=4))
    _listing(sandbox, "A")
    assert sandbox.run_buyers("S1") == []
    sandbox.clock.advance(30)
    assert len(sandbox.run_buyers("S1")) == 2
    sandbox.clock.advance(60)
    assert len(sandbox.run_buyers("S1")) == 1, "stock 3 allows one more unit"
    assert sandbox.store.shop("S1")["A"].stock == 0
    assert len(sandbox.store.orders_of("S1")) == 3
