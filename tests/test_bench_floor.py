"""The benchmark's cost floor comes from the marketplaces' published limits, and a void run cannot pass."""

from __future__ import annotations

from adapters.lazada import sandbox as lazada_sandbox
from adapters.tiki.sandbox import TikiSandbox
from adapters.voso import sandbox as voso_sandbox
from bench.common import PUBLISHED_LIMITS, Figure, floor_calls


def test_published_limits_are_the_ones_the_simulators_enforce() -> None:
    tiki = TikiSandbox()
    assert (
        (PUBLISHED_LIMITS["lazada"].page_size, PUBLISHED_LIMITS["lazada"].write_batch)
        == (
            lazada_sandbox.MAX_PAGE,
            lazada_sandbox.MAX_BATCH,
        )
        == (50, 50)
    )
    assert (
        (PUBLISHED_LIMITS["tiki"].page_size, PUBLISHED_LIMITS["tiki"].write_batch)
        == (
            tiki.max_page_size,
            tiki.update_skus_limit,
        )
        == (100, 50)
    )
    assert (
        (PUBLISHED_LIMITS["voso"].page_size, PUBLISHED_LIMITS["voso"].write_batch)
        == (
            voso_sandbox.MAX_PAGE,
            voso_sandbox.MAX_BATCH,
        )
        == (100, 100)
    )


def test_floor_of_the_bench_migration_at_published_limits() -> None:
    """9,950 listed, 200 drifted, 50 missing per marketplace (the bench's (a))."""
    lazada, tiki, voso = (floor_calls(m, listed=9_950, changed=200, creates=50) for m in ("lazada", "tiki", "voso"))
    # auth + scans + reads + orders + writes + creates
    assert (lazada.auth, lazada.request_scans, lazada.reads, lazada.orders, lazada.writes) == (1, 0, 199, 1, 4)
    assert lazada.total == 1 + 199 + 1 + 4 + 50 == 255
    assert (tiki.request_scans, tiki.reads, tiki.writes) == (1, 100, 4)
    assert tiki.total == 1 + 1 + 100 + 1 + 4 + 50 == 157
    assert voso.total == 1 + 100 + 1 + 2 + 50 == 154
    # more open review requests than one page: one more scan page each 100
    assert floor_calls("tiki", listed=9_950, changed=200, creates=50, requests=150).request_scans == 2


def test_a_figure_of_a_run_that_did_not_converge_fails_whatever_its_value() -> None:
    good = Figure("x", "x", 1.0, "x", 1.05)
    assert good.verdict == "PASS"
    assert good.unless("").verdict == "PASS"
    void = good.unless("voso: 1 listings off desired")
    assert (void.verdict, void.as_json()["void"]) == ("FAIL", "voso: 1 listings off desired")
    assert Figure("y", "y", 3.0).unless("anything").verdict == "INFO"  # reported figures are not judged
