"""The chart ships the operator's CRD unchanged, and the sample TutorDeployments are valid against
it (schema, defaults and CEL rules, unknown fields refused) and parse in the operator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from chartkit import CHARTS_DIR, ROOT
from crd_check import problems

pytestmark = pytest.mark.unit

SOURCE_CRD = ROOT / "manifests" / "crds" / "tutordeployments.yaml"
CHART_CRD = CHARTS_DIR / "tutor-operator" / "crds" / "tutordeployments.yaml"
SAMPLES = sorted((ROOT / "manifests" / "samples").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict:
    crd = yaml.safe_load(SOURCE_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["storage"]]
    return version["schema"]["openAPIV3Schema"]


def test_chart_crd_is_byte_identical_to_manifests() -> None:
    assert CHART_CRD.read_bytes() == SOURCE_CRD.read_bytes(), "run scripts/sync-crd.sh"


def test_sync_script_check_mode_agrees() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "sync-crd.sh"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_three_samples_a_only_b_only_and_a_rollout() -> None:
    assert [p.name for p in SAMPLES] == ["a-only.yaml", "ab-rollout.yaml", "b-only.yaml"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_is_valid_against_the_crd(schema: dict, path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    assert (obj["apiVersion"], obj["kind"]) == ("tutorplane.dev/v1alpha1", "TutorDeployment")
    assert problems(schema, obj) == []


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_parses_in_the_operator(path: Path) -> None:
    spec_module = pytest.importorskip(
        "tutorplane.operator.spec", reason="the operator package is not installed"
    )
    spec = spec_module.parse_spec(yaml.safe_load(path.read_text())["spec"])
    assert spec is not None


def test_sample_variants() -> None:
    specs = {p.stem: yaml.safe_load(p.read_text())["spec"] for p in SAMPLES}
    weights = {
        name: (s["variants"]["A"]["weight"], s["variants"]["B"]["weight"]) for name, s in specs.items()
    }
    assert weights == {"a-only": (100, 0), "b-only": (0, 100), "ab-rollout": (50, 50)}
    steps = [step["weight"] for step in specs["ab-rollout"]["rollout"]["steps"]]
    assert steps == sorted(steps) and steps[-1] == 50


def test_samples_use_images_tilt_replaces() -> None:
    """Tilt swaps these refs (k8s_kind image_json_path) for the images it built."""
    tiltfile = (ROOT / "Tiltfile").read_text()
    for path in SAMPLES:
        spec = yaml.safe_load(path.read_text())["spec"]
        for field in ("agent", "gateway", "guardrail", "migrations"):
            assert spec["images"][field].startswith("tutorplane/"), (path.name, field)
            assert f"{{.spec.images.{field}}}" in tiltfile


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["variants"]["A"].update(weight=60), "weights of enabled variants must sum to 100"),
        (
            lambda s: s["variants"]["A"].update(drainGraceSeconds=600),
            "drainGraceSeconds must be >= sessionCapSeconds",
        ),
        (lambda s: s.pop("prometheus"), "a rollout with steps needs spec.prometheus.address"),
        (lambda s: s["rollout"]["steps"].reverse(), "step weights must not decrease"),
        (lambda s: s.update(variantz={}), "'variantz' was unexpected"),
    ],
)
def test_checker_catches_broken_samples(schema: dict, mutate, message: str) -> None:
    obj = yaml.safe_load((ROOT / "manifests" / "samples" / "ab-rollout.yaml").read_text())
    mutate(obj["spec"])
    assert any(message in p for p in problems(schema, obj)), problems(schema, obj)


def test_peering_crds_accept_the_peering_objects_kopf_writes() -> None:
    from chartkit import known_crd_schemas

    assert ("kopf.dev/v1", "KopfPeering") in known_crd_schemas()
    assert ("kopf.dev/v1", "ClusterKopfPeering") in known_crd_schemas()
