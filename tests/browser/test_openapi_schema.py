"""The web app's typed API client is generated from frontend/openapi.json: it must match the gateway."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "frontend" / "scripts" / "export-openapi.py"


def test_checked_in_openapi_schema_matches_the_gateway() -> None:
    spec = importlib.util.spec_from_file_location("export_openapi", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = json.loads(module.OUTPUT.read_text(encoding="utf-8"))
    assert current == module.build_schema(), (
        "frontend/openapi.json is out of date: run `.venv/bin/python frontend/scripts/export-openapi.py` "
        "and `npm run gen:api` in frontend/"
    )
