"""The CRD: file equals the generator, validates as a Kubernetes object, and its defaults and CEL
rules agree with the pydantic models (an object the API server admits is one the operator parses)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from operator_samples import SCENARIOS, scenario
from tutorplane.operator.cli import _dump
from tutorplane.operator.crd import crd
from tutorplane.operator.schema_check import SchemaViolation, check_object
from tutorplane.operator.spec import TutorDeploymentSpec, cross_field_problems, parse_spec

pytestmark = pytest.mark.unit

CRD_FILE = Path(__file__).parents[2] / "manifests" / "crds" / "tutordeployments.yaml"


def test_manifest_file_is_the_generated_crd() -> None:
    generated = _dump([crd()])
    if os.environ.get("TUTOR_UPDATE_GOLDEN") == "1":
        CRD_FILE.write_text(generated)
    assert CRD_FILE.read_text() == generated, (
        "run `tutorplane-operator crd > manifests/crds/tutordeployments.yaml`"
    )


def test_crd_is_a_valid_kubernetes_object() -> None:
    kubernetes_validate.validate(yaml.safe_load(CRD_FILE.read_text()), "1.30.0", strict=True)


def test_crd_shape() -> None:
    definition = crd()
    spec = definition["spec"]
    assert spec["scope"] == "Namespaced" and spec["names"]["shortNames"] == ["td"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = [col["name"] for col in version["additionalPrinterColumns"]]
    assert columns == [
        "Ready",
        "Phase",
        "A%",
        "B%",
        "Sessions",
        "A-Replicas",
        "B-Replicas",
        "Last-Analysis",
        "Age",
    ]
    schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert schema["x-kubernetes-validations"]


def _structural(schema: dict[str, Any], path: str = "") -> list[str]:
    """Structural-schema rules the API server enforces: every node typed (or preserving unknowns)."""
    problems = []
    if "type" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(path or "<root>")
    for name, sub in schema.get("properties", {}).items():
        problems += _structural(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        problems += _structural(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        problems += _structural(schema["additionalProperties"], f"{path}{{}}")
    for banned in ("$ref", "oneOf", "anyOf", "allOf"):
        if banned in schema:
            problems.append(f"{path}: {banned}")
    return problems


def test_schema_is_structural() -> None:
    assert _structural(crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]) == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_api_server_defaults_equal_pydantic_defaults(name: str) -> None:
    td = scenario(name)
    defaulted = check_object(copy.deepcopy(td))
    from_server = parse_spec(defaulted["spec"]).model_dump(by_alias=True)
    from_models = parse_spec(td["spec"]).model_dump(by_alias=True)
    assert from_server == from_models


def _minimal() -> dict[str, Any]:
    return scenario("a-only")


def _with(path: str, value: Any) -> dict[str, Any]:
    td = _minimal()
    node = td["spec"]
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return td


BAD = {
    "weights-not-100": _with("variants", {"A": {"weight": 60}, "B": {"enabled": True, "weight": 30}}),
    "no-variant": _with("variants", {"A": {"enabled": False, "weight": 0}}),
    "disabled-with-weight": _with("variants", {"B": {"weight": 10}}),
    "drain-below-cap": _with("variants", {"A": {"sessionCapSeconds": 3600, "drainGraceSeconds": 600}}),
    "min-above-max": _with("variants", {"A": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}),
    "a-without-livekit": _with("livekit", None),
    "no-database": _with("secrets.database", None),
    "ingress-without-host": _with("ingress", {"enabled": True}),
    "rollout-without-prometheus": _with("rollout", {"steps": [{"weight": 10}]}),
    "decreasing-steps": _with("rollout", {"steps": [{"weight": 30}, {"weight": 10}]}),
    "external-langfuse-without-keys": _with(
        "dependencies", {"langfuse": {"mode": "external", "url": "https://lf"}}
    ),
}
BAD["decreasing-steps"]["spec"]["prometheus"] = {"address": "http://prom:9090"}


@pytest.mark.parametrize("case", sorted(BAD))
def test_cel_rules_and_pydantic_rules_reject_the_same_objects(case: str) -> None:
    td = BAD[case]
    with pytest.raises(SchemaViolation):
        check_object(copy.deepcopy(td))
    with pytest.raises(ValueError):
        parse_spec(td["spec"])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_samples_pass_both(name: str) -> None:
    td = check_object(scenario(name))
    spec = parse_spec(td["spec"])
    assert isinstance(spec, TutorDeploymentSpec)
    assert cross_field_problems(spec) == []


def test_schema_violation_names_the_field() -> None:
    td = _with("variants", {"A": {"weight": 150}})
    with pytest.raises(SchemaViolation) as info:
        check_object(td)
    assert any("spec.variants.A.weight" in p for p in info.value.problems)
