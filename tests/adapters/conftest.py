"""Fixtures and hooks of the adapter contract suite (the harness itself is in `contract_kit`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from contract_kit import (
    OTHER_SELLER,
    QC_DELAY_S,
    REJECT_SKU,
    SANDBOX_BASE_URL,
    SELLER,
    TOKEN_TTL_S,
    Harness,
    MakeHarness,
    contract_adapters,
    load_factory,
    shop_config,
)

from adapters.sandbox import SandboxOptions, SandboxTransport, SellerAccount


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test asking for `adapter_name` over the registered adapters."""
    if "adapter_name" in metafunc.fixturenames:
        included, _ = contract_adapters()
        metafunc.parametrize("adapter_name", included)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which adapters the contract suite covers (and which are not written yet)."""
    return coverage_lines()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Repeat the coverage note at the end, where it cannot be missed."""
    _, missing = contract_adapters()
    if missing:
        terminalreporter.write_sep("-", "adapter contract suite coverage")
        for line in coverage_lines():
            terminalreporter.write_line(line)


def coverage_lines() -> list[str]:
    """One line naming the adapters covered, and one per adapter left out."""
    included, missing = contract_adapters()
    lines = [f"adapter contract suite: {', '.join(included) or 'no adapters'}"]
    lines += [f"NOTE: adapter {n!r} not in the contract suite: {why}" for n, why in missing.items()]
    return lines


@pytest.fixture
async def make_harness(adapter_name: str) -> AsyncIterator[MakeHarness]:
    """Build harnesses for `adapter_name`; keyword arguments override SandboxOptions."""
    clients: list[httpx.AsyncClient] = []

    async def build(*, client_timeout_s: float = 5.0, **overrides: Any) -> Harness:
        factory = load_factory(adapter_name)
        sellers = tuple(
            SellerAccount(seller_id=s, credentials=factory.sandbox_credentials(s)) for s in (SELLER, OTHER_SELLER)
        )
        options = SandboxOptions(
            sellers=sellers,
            seed=7,
            rate_limit_per_s=100_000,
            token_ttl_s=TOKEN_TTL_S,
            refresh_ttl_s=30 * 24 * 3600,
            qc_delay_s=QC_DELAY_S,
            qc_reject_skus=(REJECT_SKU,),
        ).model_copy(update=overrides)
        sandbox = factory.create_sandbox(options)
        http = httpx.AsyncClient(
            transport=SandboxTransport(sandbox.app), base_url=SANDBOX_BASE_URL, timeout=httpx.Timeout(client_timeout_s)
        )
        clients.append(http)
        adapter = factory.from_config(shop_config(adapter_name, factory.sandbox_credentials(SELLER)), http)
        return Harness(adapter_name, factory, sandbox, http, adapter)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    """The default harness: seller S1, short token lifetime, a review delay, one SKU always rejected."""
    return await make_harness()
