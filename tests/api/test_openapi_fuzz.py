"""schemathesis against /openapi.json, in process over ASGI, with an operator token: no server errors.

The Python API is used directly (one Hypothesis run per operation) rather than the pytest plugin.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_kit import Tokens
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

MAX_EXAMPLES = 30


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def test_every_operation_is_fuzzed(app: FastAPI) -> None:
    assert set(_operations(app)) == {(m, p) for m, p in OPERATIONS}


OPERATIONS = [
    ("GET", "/"),
    ("GET", "/api/drift"),
    ("GET", "/api/producers/{producer_id}/listings"),
    ("GET", "/api/runs"),
    ("GET", "/api/shops"),
    ("GET", "/drift"),
    ("GET", "/login"),
    ("GET", "/oauth/{marketplace}/callback"),
    ("GET", "/oauth/{marketplace}/start"),
    ("GET", "/producers/{producer_id}"),
    ("POST", "/api/resync"),
    ("POST", "/login"),
    ("POST", "/logout"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error(app: FastAPI, tokens: Tokens, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]
    headers = tokens.header("operator")

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

    run()
