"""The README stays true: its configuration table is generated from the settings classes, and CI runs the
README's test command."""

from __future__ import annotations

from pathlib import Path

import pytest
from tutorplane.devstack.config_table import END, START, render

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_readme_configuration_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == render(), "run: .venv/bin/python -m tutorplane.devstack.config_table --write"


def test_ci_runs_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in ci


def test_lock_files_pin_versions_only() -> None:
    for name in ("constraints.txt", "frontend/package-lock.json"):
        path = ROOT / name
        if path.exists():
            text = path.read_text()
            assert "http://" not in text and "https://" not in text, f"{name} must not contain download URLs"
