"""Resumable, concurrent listing reads over HTTP: a failed page is asked again on its own.

Every adapter reads a 500-listing shop through the engine's page driver (`read_or_look_up`,
the path that used to restart a scroll from page 1 and then fall back to one look-up per
SKU) while its sandbox fails listing requests with 5xx, connection resets and timeouts. The
requests the adapter sent are recorded on its HTTP client: each listing page must have
answered exactly once (a restart would read page 1 again), no per-SKU look-up may appear, and
pages must have been in flight side by side.
"""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from contract_kit import MakeHarness

from adapters.sandbox import FaultSpec
from connector.engine.observe import read_or_look_up
from connector.engine.ratelimit import ShopLimiter
from connector.engine.retry import CallPolicy
from connector.settings import RetrySettings

LISTED = 1000
LISTING_PATHS = ("/products/get", "/v1/partner/products", "/integration/v2/products", "/integration/v2/requests")
LOOKUP_MARKS = ("sku_seller_list", "/detail", "/findBy")
VOLATILE = ("sign", "timestamp", "access_token", "app_key")


def _key(request: httpx.Request) -> str:
    params = sorted((k, v) for k, v in request.url.params.multi_items() if not k.startswith(VOLATILE))
    return f"{request.url.path}?{'&'.join(f'{k}={v}' for k, v in params)}"


def _listing_page(key: str) -> bool:
    return any(p in key for p in LISTING_PATHS) and not any(m in key for m in LOOKUP_MARKS)


def _answered(response: httpx.Response) -> bool:
    """A reply that carries data: HTTP 200 and no in-band error (Lazada's code, Voso's error flag)."""
    if response.status_code != 200:
        return False
    body = json.loads(response.content)
    return not body.get("error") and str(body.get("code", "0")) in ("0", "OK")


class Recorder:
    """What an HTTP client sent: every request by page key, the answered ones, and the most in flight."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.sent: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.in_flight = self.most_in_flight = 0
        http.event_hooks["request"].append(self._request)
        http.event_hooks["response"].append(self._response)

    async def _request(self, request: httpx.Request) -> None:
        self.sent[_key(request)] += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)

    async def _response(self, response: httpx.Response) -> None:
        self.in_flight -= 1
        await response.aread()
        if _answered(response):
            self.answered[_key(response.request)] += 1


async def test_a_failed_listing_page_is_retried_alone_and_the_read_goes_on(make_harness: MakeHarness) -> None:
    """Faults on listing pages: each page answers once, no restart, no look-ups, pages read side by side."""
    h = await make_harness(client_timeout_s=0.3)
    skus = h.seed(LISTED)
    h.sandbox.faults.set_spec(
        FaultSpec(error_rate=0.15, reset_rate=0.08, timeout_rate=0.05, timeout_hang_s=2, latency_ms=5, seed=11)
    )
    seen = Recorder(h.http)
    limiter = ShopLimiter(2_000)
    limiter.install(h.http)
    retry = RetrySettings(max_attempts=8, backoff_base_s=0.001, backoff_cap_s=0.01)
    calls = CallPolicy(retry, limiter, refresh=h.adapter.refresh_auth, concurrency=4)

    found, complete = await read_or_look_up(calls, h.adapter, skus)

    assert complete and set(skus) <= set(found)
    pages = {k: n for k, n in seen.sent.items() if _listing_page(k)}
    failed = sum(pages.values()) - sum(seen.answered[k] for k in pages)
    assert failed >= 2, "the faults must hit listing pages for this test to mean anything"
    assert calls.counts.retries >= failed
    twice = {k: seen.answered[k] for k in pages if seen.answered[k] != 1}
    assert twice == {}, "a page answered twice (a restarted read) or never"
    assert [k for k in seen.sent if any(m in k for m in LOOKUP_MARKS)] == []
    assert seen.most_in_flight >= 2


async def test_lazada_reads_time_windows_side_by_side(make_harness: MakeHarness, adapter_name: str) -> None:
    """Lazada's update-time scroll is split into windows (`update_before`), every listing still read once."""
    if adapter_name != "lazada":
        pytest.skip("Lazada's scroll only")
    h = await make_harness()
    skus = h.seed(LISTED)
    seen = Recorder(h.http)
    limiter = ShopLimiter(2_000)
    limiter.install(h.http)
    calls = CallPolicy(RetrySettings(), limiter, concurrency=4)

    found, complete = await read_or_look_up(calls, h.adapter, skus)

    assert complete and set(found) == set(skus)
    windows = {k for k in seen.sent if "update_before" in k}
    assert windows, "no time window was read"
    assert sum(seen.sent.values()) <= LISTED // 50 + 4 + 1 + 1  # pages + a short page per window + tail + auth
