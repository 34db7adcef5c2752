"""Fixtures for API tests: the report world behind the FastAPI app, with tokens for each kind of caller."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).parents[1] / "reports"))  # the shared report world

from api_kit import Tokens
from report_world import NOW, A, B, build_world, world_settings

from adapters.base import AdapterRegistry
from connector.context import AppContext, SandboxHub
from connector.store import make_engine, session_scope, upgrade
from connector.web.app import build_api
from connector.web.auth import Role, create_token, revoke_token


@pytest.fixture
def world_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated engine over the report world."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    build_world(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ctx(world_engine: Engine, sqlite_url: str) -> AppContext:
    """An application context over the world, with the clock fixed at NOW."""
    registry = AdapterRegistry({})
    return AppContext(world_settings(sqlite_url), world_engine, registry, SandboxHub(registry), clock=lambda: NOW)


@pytest.fixture
def tokens(world_engine: Engine) -> Tokens:
    """An operator token, producer A's and B's tokens, and a revoked operator token."""
    with session_scope(world_engine) as s:
        _, operator = create_token(s, role=Role.OPERATOR, now=NOW, label="ops")
        _, a = create_token(s, role=Role.PRODUCER, producer_id=A, now=NOW)
        _, b = create_token(s, role=Role.PRODUCER, producer_id=B, now=NOW)
        revoked_id, revoked = create_token(s, role=Role.OPERATOR, now=NOW)
        revoke_token(s, str(revoked_id), now=NOW)
    return Tokens(operator, a, b, revoked)


@pytest.fixture
def app(ctx: AppContext) -> FastAPI:
    """The API app."""
    return build_api(ctx)
