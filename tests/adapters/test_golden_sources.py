"""Every golden reply is valid JSON, and has its row (source, date read) in golden/SOURCES.md."""

from __future__ import annotations

import json
import re

import pytest
from golden_kit import GOLDEN_DIR, golden_files

SOURCES = (GOLDEN_DIR / "SOURCES.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("marketplace", ["lazada", "tiki"])
def test_every_golden_file_is_json_and_has_a_source_row(marketplace: str) -> None:
    files = golden_files(marketplace)
    assert files, f"no golden replies for {marketplace}"
    for name in files:
        json.loads((GOLDEN_DIR / marketplace / name).read_text(encoding="utf-8"))
        rows = [line for line in SOURCES.splitlines() if line.startswith("|") and f"`{name}`" in line]
        assert rows, f"{marketplace}/{name} has no row in SOURCES.md"
        assert all(re.search(r"verbatim|composed|assumed", row) for row in rows), f"{name}: say how it was obtained"


def test_every_file_named_in_sources_exists() -> None:
    named = set(re.findall(r"`([\w.]+\.json)`", SOURCES))
    existing = {name for m in ("lazada", "tiki") for name in golden_files(m)}
    assert named <= existing, sorted(named - existing)


def test_assumed_goldens_say_so_in_their_name_or_row() -> None:
    for marketplace in ("lazada", "tiki"):
        for name in golden_files(marketplace):
            if ".assumed." in name:
                row = next(line for line in SOURCES.splitlines() if f"`{name}`" in line)
                assert "**assumed**" in row, name
