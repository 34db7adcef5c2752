"""Fixtures for report tests: a migrated SQLite store filled with the hand-built report world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_world import build_world, world_settings
from sqlalchemy.engine import Engine

from connector.settings import Settings
from connector.store import make_engine, upgrade


@pytest.fixture
def world_url(sqlite_url: str) -> str:
    """The database URL of a store holding the report world."""
    return sqlite_url


@pytest.fixture
def world_engine(world_url: str) -> Iterator[Engine]:
    """A migrated engine over the report world."""
    engine = make_engine(world_url)
    upgrade(engine)
    build_world(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(world_url: str) -> Settings:
    """Settings naming the world's shops."""
    built: Settings = world_settings(world_url)
    return built
