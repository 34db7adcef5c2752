"""The import packages resolve to this repository, never to same-named PyPI distributions."""

from __future__ import annotations

from pathlib import Path

import adapters
import connector
import schemas

ROOT = Path(__file__).resolve().parent.parent


def test_packages_resolve_to_this_repository() -> None:
    for package in (adapters, connector, schemas):
        assert package.__file__ is not None
        assert Path(package.__file__).resolve().parent.parent == ROOT


def test_schemas_all_is_complete() -> None:
    exported = set(schemas.__all__)
    public = {name for name in dir(schemas) if not name.startswith("_") and name[0].isupper()}
    public -= {"catalog", "listing", "sync"}
    assert public <= exported
