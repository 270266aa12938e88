"""Each chart's README documents every value, and the operator image path matches the chart."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from chartkit import CHARTS, CHARTS_DIR, ROOT

pytestmark = pytest.mark.unit

# Free-form maps: their keys are the user's, not the chart's.
OPAQUE = {
    "resources",
    "labels",
    "annotations",
    "parameters",
    "nodeSelector",
    "affinity",
    "issuerRef",
    "podAnnotations",
    "requests",
    "limits",
}


def value_paths(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, dict) or not node:
        return [prefix]
    out: list[str] = []
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if key in OPAQUE or not isinstance(value, dict) or not value:
            out.append(path)
        else:
            out.extend(value_paths(value, path))
    return out


@pytest.mark.parametrize("chart", CHARTS)
def test_readme_documents_every_value(chart: str) -> None:
    values = yaml.safe_load((CHARTS_DIR / chart / "values.yaml").read_text())
    readme = (CHARTS_DIR / chart / "README.md").read_text()
    missing = [path for path in value_paths(values) if f"`{path}`" not in readme]
    assert missing == [], f"charts/{chart}/README.md does not document {missing}"


def test_operator_image_bundles_the_charts_where_the_chart_says() -> None:
    values = yaml.safe_load((CHARTS_DIR / "tutor-operator" / "values.yaml").read_text())
    dockerfile = (ROOT / "operator" / "Dockerfile").read_text()
    charts_dir = values["chartsDir"]
    for chart in ("langfuse", "supabase"):
        assert f"COPY charts/{chart} {charts_dir}/{chart}" in dockerfile
    assert f"TUTOR_OPERATOR_CHARTS_DIR={charts_dir}" in dockerfile
