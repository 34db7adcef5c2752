"""Loading golden replies and serving them to an adapter over `httpx.MockTransport`.

The golden files (`golden/<marketplace>/*.json`, sources in `golden/SOURCES.md`) are reply
bodies copied from the marketplaces' published documentation. `Replay` answers each request
whose path ends with a configured suffix with one of them, so an adapter's public methods
run against exactly what the documentation shows.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

GOLDEN_DIR = Path(__file__).parent / "golden"

Answer = tuple[int, Any]
Route = Answer | Callable[[httpx.Request], Answer]


def golden(marketplace: str, name: str) -> Any:
    """A fresh copy of one golden reply body."""
    return copy.deepcopy(json.loads((GOLDEN_DIR / marketplace / name).read_text(encoding="utf-8")))


def golden_files(marketplace: str) -> list[str]:
    """The golden file names of one marketplace, sorted."""
    return sorted(p.name for p in (GOLDEN_DIR / marketplace).glob("*.json"))


@dataclass
class Replay:
    """A MockTransport handler: path suffix -> (status, body), or a function of the request."""

    routes: dict[str, Route]
    calls: list[httpx.Request] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer one request with the route of the longest matching path suffix."""
        self.calls.append(request)
        matches = [suffix for suffix in self.routes if request.url.path.endswith(suffix)]
        if not matches:
            return httpx.Response(404, json={"errors": [f"no golden for {request.url.path}"]})
        route = self.routes[max(matches, key=len)]
        status, body = route(request) if callable(route) else route
        return httpx.Response(status, json=body, headers={"X-Request-Id": f"golden-{next(self._ids)}"})

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [r.url.path for r in self.calls]

    def client(self, base_url: str) -> httpx.AsyncClient:
        """An HTTP client whose transport is this replay."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self), base_url=base_url)


def first_page_only(body: Any) -> Callable[[httpx.Request], Answer]:
    """Serve `body` for page 1 and an empty `data` list for later pages (for samples with many pages)."""

    def answer(request: httpx.Request) -> Answer:
        if request.url.params.get("page", "1") == "1":
            return 200, body
        return 200, {**body, "data": []}

    return answer
