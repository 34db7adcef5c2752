"""Comparing the structure of a sandbox reply with the golden replies of the same operation.

Structure means keys, nesting and JSON types, not values. A reply conforms when:

* every key it sends appears at the same place in at least one golden variant, or is listed
  as an assumed extra (our documented assumption, e.g. Tiki request rows' `track_id`);
* every value has a JSON type some golden variant has there, where a number and a string
  holding a number count as the same type (samples write numbers both ways), a golden `null`
  says nothing about the type, and a `null` sent counts as an absent optional field;
* the keys the adapter needs (`required`) are present.

Documented optional keys may be absent. Paths are dotted, list elements written `[]`:
`data.products[].skus[].SellerSku`. Keys under an `open` path (free-form maps such as
product attributes) are not checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


def kind(value: Any) -> str:
    """The JSON type of a value, strings holding a number told apart as `numstr`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "string"
        return "numstr"
    return "object" if isinstance(value, dict) else "array"


_SAME = {"number": {"number", "numstr"}, "numstr": {"numstr", "number", "string"}, "string": {"string", "numstr"}}


@dataclass(frozen=True)
class Rules:
    """What a comparison allows beyond the golden files."""

    extras: frozenset[str] = frozenset()
    open: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()


def problems(actual: Any, goldens: Sequence[Any], rules: Rules = Rules(), path: str = "") -> list[str]:
    """Every way `actual` departs from the structure of the golden variants (empty when it conforms)."""
    found = [] if path else [f"missing required {p}" for p in rules.required if not _has(actual, p.split("."))]
    known = [g for g in goldens if g is not None]
    if actual is None or not known or path in rules.open:
        return found
    allowed = {k for g in known for k in _SAME.get(kind(g), {kind(g)})}
    if kind(actual) not in allowed:
        return [*found, f"{path or '<root>'}: {kind(actual)}, golden has {sorted({kind(g) for g in known})}"]
    if isinstance(actual, dict):
        dicts = [g for g in known if isinstance(g, dict)]
        for key, value in actual.items():
            where = f"{path}.{key}" if path else key
            variants = [g[key] for g in dicts if key in g]
            if not variants:
                if where not in rules.extras:
                    found.append(f"{where}: not in any golden variant")
                continue
            found += problems(value, variants, rules, where)
    elif isinstance(actual, list):
        elements = [e for g in known if isinstance(g, list) for e in g]
        for value in actual:
            found += problems(value, elements, rules, f"{path}[]")
    return list(dict.fromkeys(found))


def _has(value: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    name, is_list = (head[:-2], True) if head.endswith("[]") else (head, False)
    if not isinstance(value, dict) or name not in value:
        return False
    inner = value[name]
    if is_list:
        return isinstance(inner, list) and bool(inner) and all(_has(x, rest) for x in inner)
    return _has(inner, rest)


@dataclass
class Recorded:
    """One reply the sandbox sent."""

    method: str
    path: str
    status: int
    body: Any


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """A transport that passes requests to `inner` and records every JSON reply."""

    inner: httpx.AsyncBaseTransport
    replies: list[Recorded] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request; keep a copy of the reply body."""
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        self.replies.append(Recorded(request.method, request.url.path, response.status_code, body))
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def bodies(self, path_suffix: str, *, method: str | None = None, status: int = 200) -> list[Any]:
        """The reply bodies of one operation (path ending with `path_suffix`), in order."""
        return [
            r.body
            for r in self.replies
            if r.path.endswith(path_suffix) and r.status == status and (method is None or r.method == method)
        ]


def report(operation: str, bodies: Iterable[Any], goldens: Sequence[Any], rules: Rules) -> list[str]:
    """Problems of every recorded body of one operation, prefixed by the operation."""
    return [f"{operation}: {p}" for body in bodies for p in problems(body, goldens, rules)]
