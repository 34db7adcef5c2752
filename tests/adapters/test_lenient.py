"""The shared lenient readers accept every documented way of writing a value, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.lenient import to_flag, to_int, to_money, to_str_list, to_text, to_time

T = datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2018-02-09T22:44:30+08:00",  # Lazada GetOrders sample
        "2018-02-09 22:44:30 +0800",  # Lazada GetOrder / GetOrderItems form
        "2018-02-09T14:44:30Z",
        "2018-02-09 21:44:30",  # naive: Vietnam time (Tiki samples, Lazada promised_shipping_times)
        "1518187470",  # epoch seconds (Tiki v1 product detail)
        "1518187470000",  # epoch milliseconds (Lazada created_time/updated_time)
        1518187470000,
    ],
)
def test_every_documented_time_form_reads_as_the_same_instant(text: Any) -> None:
    assert to_time(text) == T


@pytest.mark.parametrize("garbage", ["", "yesterday", "2018-13-45 99:00:00", None, True, {"at": 1}, [1]])
def test_garbage_times_are_value_errors(garbage: Any) -> None:
    with pytest.raises(ValueError):
        to_time(garbage)


def test_numbers_as_numbers_or_strings() -> None:
    assert [to_int(x) for x in (10, "10", "10.00", 10.0, " 7 ")] == [10, 10, 10, 10, 7]
    assert [to_money(x) for x in ("106.00", 102.0, 32, "409000.50")] == [106, 102, 32, 409001]
    assert [to_text(x) for x in (180226526, "180226526")] == ["180226526", "180226526"]
    for bad in ("ten", "", None, True, "1.5", {"n": 1}):
        with pytest.raises(ValueError):
            to_int(bad)


def test_flags_and_string_lists() -> None:
    assert [to_flag(x) for x in (1, "1", True, "true", 0, "0", False)] == [True] * 4 + [False] * 3
    with pytest.raises(ValueError):
        to_flag("2")
    assert to_str_list('[ "a.jpg", "", "b.jpg" ]') == ["a.jpg", "b.jpg"]
    assert to_str_list(["a.jpg", ""]) == ["a.jpg"]
    for bad in ("not json", '{"a": 1}', [1, 2]):
        with pytest.raises(ValueError):
            to_str_list(bad)
