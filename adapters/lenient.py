"""Lenient readers for marketplace reply values, as pydantic annotated types.

Published samples write the same field in several ways: numbers as JSON numbers or as
strings (`"10"`, `"106.00"`), times as ISO-8601, as `2014-10-15 18:36:05 +0800`, as naive
`yyyy-MM-dd HH:mm:ss` or as epoch seconds/milliseconds, lists as JSON arrays or as
JSON-encoded strings. These types accept every documented form and raise `ValueError` for
anything else, so a reply parsed through `adapters.base.parse_payload` can only fail with
the typed `ResponseShapeError` naming the field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

VN_TZ = timezone(timedelta(hours=7))
"""Zone assumed for naive marketplace times: both marketplaces serve Vietnam shops [I]."""

_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_EPOCH_MS_FROM = 100_000_000_000  # larger epoch numbers are milliseconds (year 5138 in seconds)


def decimal_of(value: Any) -> Decimal:
    """A number, or a string holding one, as a Decimal; ValueError for anything else."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str) and value.strip():
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def to_int(value: Any) -> int:
    """A whole number written as a number or a string (`3`, `"3"`, `"3.00"`); ValueError otherwise."""
    number = decimal_of(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def to_money(value: Any) -> int:
    """A price as whole currency units (VND), rounding half up (`"106.00"`, `102.0`, `32`)."""
    return int(decimal_of(value).to_integral_value(rounding=ROUND_HALF_UP))


def to_text(value: Any) -> str:
    """An identifier written as a string or a number, as a string; ValueError for others."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise ValueError(f"expected a string or number, got {value!r}")
    return str(value)


def to_flag(value: Any) -> bool:
    """A yes/no field written as `1`/`0`, `"1"`/`"0"`, `true`/`false` or their strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError(f"expected a 1/0 or true/false flag, got {value!r}")


def to_time(value: Any) -> datetime:
    """A time in any documented form as an aware UTC datetime.

    Accepted: ISO-8601 with or without offset (`2018-02-09T22:44:30+08:00`, `...Z`),
    `2014-10-15 18:36:05 +0800`, naive `yyyy-MM-dd HH:mm:ss` (Vietnam time), and epoch
    seconds or milliseconds as numbers or digit strings. ValueError for anything else.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a time, got {value!r}")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        epoch = int(value)
        seconds = epoch / 1000 if epoch >= _EPOCH_MS_FROM else float(epoch)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch time out of range: {value!r}") from None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a time, got {value!r}")
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"unrecognised time format: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.astimezone(UTC)


def to_str_list(value: Any) -> list[str]:
    """A list of strings given as a JSON array or a JSON-encoded string; empty entries dropped."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("expected a JSON array of strings") from None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"expected a list of strings, got {type(value).__name__}")
    return [x.strip() for x in value if x.strip()]


Int = Annotated[int, BeforeValidator(to_int)]
"""An integer written as a number or a numeric string."""
Money = Annotated[int, BeforeValidator(to_money)]
"""A price in whole VND written as a number or a numeric string."""
Text = Annotated[str, BeforeValidator(to_text)]
"""An id written as a string or a number, kept as a string."""
Flag = Annotated[bool, BeforeValidator(to_flag)]
"""A 1/0 or true/false field in any spelling."""
Time = Annotated[datetime, BeforeValidator(to_time)]
"""A time in any documented form, as aware UTC."""
StrList = Annotated[list[str], BeforeValidator(to_str_list)]
"""A list of strings, or a JSON-encoded string holding one."""

__all__ = [
    "VN_TZ",
    "Flag",
    "Int",
    "Money",
    "StrList",
    "Text",
    "Time",
    "decimal_of",
    "to_flag",
    "to_int",
    "to_money",
    "to_str_list",
    "to_text",
    "to_time",
]
