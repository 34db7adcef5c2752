"""The layers in `.importlinter` are enforced: the real tree keeps every contract, and a copy of
the tree with a deliberate upward import or a cycle breaks the contract that forbids it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The three packages and the contract file, copied where they can be broken on purpose."""
    for package in ("connector", "adapters", "schemas"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_store_importing_the_cli_breaks_the_layers(tree_copy: Path) -> None:
    db = tree_copy / "connector" / "store" / "db.py"
    db.write_text(db.read_text() + "\nfrom connector.cli import main as _upward  # deliberate violation\n")
    result = _lint(tree_copy)
    assert result.returncode != 0
    assert "connector.store is not allowed to import connector.cli" in result.stdout


def test_engine_importing_reports_breaks_the_independence_of_siblings(tree_copy: Path) -> None:
    plan = tree_copy / "connector" / "engine" / "plan.py"
    plan.write_text(plan.read_text() + "\nfrom connector.reports import i18n as _sideways  # deliberate violation\n")
    result = _lint(tree_copy)
    assert result.returncode != 0
    assert "connector.engine is not allowed to import connector.reports" in result.stdout


def test_an_adapter_importing_the_connector_is_refused(tree_copy: Path) -> None:
    mapping = tree_copy / "adapters" / "tiki" / "mapping.py"
    mapping.write_text(mapping.read_text() + "\nfrom connector import settings as _leak  # deliberate violation\n")
    result = _lint(tree_copy)
    assert result.returncode != 0
    assert "Adapters never import the connector BROKEN" in result.stdout


def test_a_cycle_inside_a_subpackage_is_refused(tree_copy: Path) -> None:
    plan = tree_copy / "connector" / "engine" / "plan.py"
    plan.write_text(plan.read_text() + "\n\ndef _late() -> None:\n    from connector.engine import bindings  # noqa\n")
    result = _lint(tree_copy)
    assert result.returncode != 0
    assert "No import cycles between the modules of any subpackage BROKEN" in result.stdout
