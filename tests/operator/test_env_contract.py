"""The environment contract between the operator's builders and the services' settings classes.

pydantic-settings ignores environment variables it has no field for, so a ``TUTOR_*`` name the
operator sets but no service reads is a silent misconfiguration. For every sample TutorDeployment
(manifests/samples) and every container the builders render, each ``TUTOR_*`` variable (inline,
from a Secret, or from the settings ConfigMap) must be a field of that service's settings class,
and the settings must load from exactly that environment (secrets given dummy values). Ports and
probe paths must be the ones the service serves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import operator_samples
import pytest
import yaml
from pydantic_settings import BaseSettings
from tutorplane.agent.config import AgentSettings
from tutorplane.common.settings import DatabaseSettings, env_names
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.guardrail_service.settings import GuardrailServiceSettings
from tutorplane.operator import constants as c
from tutorplane.operator.cli import render_documents

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "manifests" / "samples").glob("*.yaml"))
# The operator tests' A+B TutorDeployment: external database, so the migration Job is rendered too.
EXTRA = {"operator-a-and-b": operator_samples.a_and_b()}

# Container name -> the settings class its process loads.
SETTINGS: dict[str, type[BaseSettings]] = {
    "agent": AgentSettings,
    "gateway": GatewaySettings,
    "guardrail": GuardrailServiceSettings,
    "migrate": DatabaseSettings,
}
# Paths every long-running service serves for its probes.
PROBE_PATHS = {"/healthz", "/readyz"}


def accepted_names(cls: type[BaseSettings]) -> set[str]:
    return {name for field_name, f in cls.model_fields.items() for name in env_names(field_name, f)}


def manifest(sample: Path | str) -> dict[str, Any]:
    return EXTRA[sample] if isinstance(sample, str) else dict(yaml.safe_load(sample.read_text()))


def containers(
    sample: Path | str,
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(workload name, pod spec, container, every rendered object) for each built container."""
    built, _ = render_documents([manifest(sample)])
    for obj in built:
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            for container in pod["containers"]:
                yield obj["metadata"]["name"], pod, container, built


def container_env(container: dict[str, Any], built: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the container starts with; Secret values are dummies, never placeholders."""
    env: dict[str, str] = {}
    configmaps = {o["metadata"]["name"]: o for o in built if o["kind"] == "ConfigMap"}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ref in configmaps, f"envFrom names ConfigMap {ref}, which the builders do not render"
        env.update(configmaps[ref]["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            secret = item["valueFrom"]["secretKeyRef"]
            dsn = item["name"].endswith(("DATABASE_URL", "REDIS_URL"))
            env[item["name"]] = (
                f"postgresql://app:s3cr3t@db:5432/{secret['key']}"
                if dsn
                else f"s3cr3t-{secret['key']}-0123456789"
            )
    return env


CASES = [
    pytest.param(sample, workload, pod, container, built, id=f"{getattr(sample, 'stem', sample)}-{workload}")
    for sample in [*SAMPLES, *EXTRA]
    for workload, pod, container, built in containers(sample)
]


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(
            ("TUTOR_", "OPENAI_", "ANTHROPIC_", "LIVEKIT_", "LANGFUSE_", "DATABASE_", "SUPABASE_")
        ):
            monkeypatch.delenv(name)


def test_samples_render_a_container_of_every_service() -> None:
    names = {case.values[3]["name"] for case in CASES}
    assert set(SETTINGS) <= names


@pytest.mark.parametrize(("sample", "workload", "pod", "container", "built"), CASES)
def test_every_tutor_variable_is_a_settings_field_and_loads(
    clean_environ: None,
    monkeypatch: pytest.MonkeyPatch,
    sample: Path | str,
    workload: str,
    pod: dict[str, Any],
    container: dict[str, Any],
    built: list[dict[str, Any]],
) -> None:
    cls = SETTINGS[container["name"]]
    env = container_env(container, built)
    unknown = sorted(name for name in env if name.startswith("TUTOR_") and name not in accepted_names(cls))
    assert not unknown, f"{sample}: {workload} sets {unknown}, which {cls.__name__} has no field for"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings: Any = cls()  # raises with the variable's name when a value does not validate
    if container["name"] in ("gateway", "guardrail"):
        assert settings.host == "0.0.0.0", f"{workload} listens on {settings.host} only; set TUTOR_HOST"
        assert [p["containerPort"] for p in container["ports"]] == [settings.port]
    if container["name"] == "agent":
        assert settings.health_host == "0.0.0.0"
        assert [p["containerPort"] for p in container["ports"]] == [settings.health_port]
        assert settings.drain_grace_s >= settings.session_max_duration_s
        assert pod["terminationGracePeriodSeconds"] > settings.drain_grace_s
    if container["name"] != "migrate":
        assert settings.deployment == manifest(sample)["metadata"]["name"]
        port = container["ports"][0]["containerPort"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == port
            assert container[probe]["httpGet"]["path"] in PROBE_PATHS
        annotations = built_annotations(built, workload)
        assert annotations["prometheus.io/port"] == str(port)


def built_annotations(built: list[dict[str, Any]], workload: str) -> dict[str, str]:
    deployment = next(o for o in built if o["kind"] == "Deployment" and o["metadata"]["name"] == workload)
    return dict(deployment["spec"]["template"]["metadata"]["annotations"])


def test_the_pool_runs_a_pipeline_and_an_english_worker_that_know_each_other(
    clean_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = ROOT / "manifests" / "samples" / "a-only.yaml"
    workers: dict[str, AgentSettings] = {}
    for _, _, container, built in containers(sample):
        if container["name"] != "agent":
            continue
        with monkeypatch.context() as patch:
            for name, value in container_env(container, built).items():
                patch.setenv(name, value)
            settings = AgentSettings()
        workers[settings.agent_role.value] = settings
    assert set(workers) == {"pipeline", "english"}
    pipeline, english = workers["pipeline"], workers["english"]
    assert pipeline.pipeline_agent_name == english.pipeline_agent_name
    assert pipeline.english_agent_name == english.english_agent_name
    assert pipeline.metrics_multiproc_dir and english.metrics_multiproc_dir
    # The gateway dispatches version-A rooms to the pipeline worker's name.
    built, _ = render_documents(list(yaml.safe_load_all(sample.read_text())))
    variants = next(o for o in built if o["metadata"]["name"].endswith("-variants"))
    published = yaml.safe_load(variants["data"][c.VARIANT_CONFIG_FILE])
    assert published["agentNames"]["A"] == pipeline.pipeline_agent_name


def test_the_metrics_directory_is_a_writable_volume(clean_environ: None) -> None:
    sample = ROOT / "manifests" / "samples" / "a-only.yaml"
    for _, pod, container, built in containers(sample):
        if container["name"] != "agent":
            continue
        env = container_env(container, built)
        directory = env["TUTOR_METRICS_MULTIPROC_DIR"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        mount = next((name for path, name in mounts.items() if directory.startswith(path)), None)
        assert mount is not None and "emptyDir" in volumes[mount], (directory, mounts)
