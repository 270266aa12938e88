"""Offline Helm rendering and validation of what the charts produce.

helm-python-sdk renders and lints without a helm binary or a cluster. ``Chart.render`` has no
parameter for the API versions a cluster serves, which ``.Capabilities.APIVersions.Has`` reads,
so :func:`render` passes them straight to the native render call the method wraps (the same
``helm_render`` entry point and option names the SDK itself uses).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml
from helm_python import _native

# kubernetes-validate reads and parses its JSON schema files (megabytes) on every call; the files
# never change during a run, so keep the parsed documents.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)
kubernetes_validate.utils.all_versions = cache(kubernetes_validate.utils.all_versions)

ROOT = Path(__file__).resolve().parents[2]
CHARTS_DIR = ROOT / "charts"
CHARTS = ("tutor-operator", "langfuse", "supabase", "livekit")
KUBE_VERSION = "1.30.0"

PROMETHEUS_OPERATOR_APIS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)
CERT_MANAGER_APIS = ("cert-manager.io/v1", "cert-manager.io/v1/Certificate", "cert-manager.io/v1/Issuer")

Obj = dict[str, Any]


def render(
    chart: str,
    values: dict[str, Any] | None = None,
    *,
    release: str = "tp",
    namespace: str = "tutorplane",
    api_versions: Iterable[str] = (),
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` with --api-versions/--kube-version."""
    options = {
        "name": release,
        "namespace": namespace,
        "is_install": True,
        "kube_version": f"v{KUBE_VERSION}",
        "api_versions": sorted(api_versions),
    }
    return dict(_render(chart, json.dumps(values or {}, sort_keys=True), json.dumps(options)))


@cache
def _render(chart: str, values: str, options: str) -> tuple[tuple[str, str], ...]:
    with helm.Chart.load(str(CHARTS_DIR / chart)) as loaded:
        loaded.validate_schema(json.loads(values))
        text = _native.call_string("helm_render", loaded._raw(), values, options)
    return tuple(sorted(json.loads(text).items()))


# libyaml's parser: the pure-Python one dominates the run time of these tests.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def objects(rendered: dict[str, str]) -> list[Obj]:
    """Every Kubernetes object of a render (NOTES.txt and empty documents skipped)."""
    out: list[Obj] = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.load_all(text, Loader=_Loader):
            if doc:
                assert isinstance(doc, dict) and "kind" in doc, (
                    f"{template}: not a Kubernetes object: {doc!r}"
                )
                out.append(doc)
    return out


def render_objects(chart: str, values: dict[str, Any] | None = None, **kwargs: Any) -> list[Obj]:
    return objects(render(chart, values, **kwargs))


def notes(rendered: dict[str, str]) -> str:
    return next(text for template, text in rendered.items() if template.endswith("NOTES.txt"))


def find(objs: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = find(objs, kind, name)
    assert len(found) == 1, (
        f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    )
    return found[0]


def containers(workload: Obj, *, init: bool = False) -> list[Obj]:
    spec = workload["spec"]["template"]["spec"] if workload["kind"] != "Pod" else workload["spec"]
    return list(spec.get("initContainers", []) if init else spec["containers"])


# ------------------------------------------------------------------------------------------------
# Validation: built-in kinds against the Kubernetes OpenAPI schemas (strict: unknown fields fail),
# custom resources against the schema of their CRD.
# ------------------------------------------------------------------------------------------------


def crd_documents(path: Path) -> list[Obj]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_Loader) if d]


@cache
def known_crd_schemas() -> dict[tuple[str, str], Obj]:
    """(apiVersion, kind) -> openAPIV3Schema, for every CRD the operator chart ships."""
    schemas: dict[tuple[str, str], Obj] = {}
    for path in sorted((CHARTS_DIR / "tutor-operator" / "crds").glob("*.yaml")):
        for crd in crd_documents(path):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


# Kinds of operators the cluster may run (Prometheus operator, cert-manager). Their CRDs are not
# vendored here; these hand-written checks cover the fields the charts set.
_THIRD_PARTY_REQUIRED: dict[tuple[str, str], list[str]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["spec.selector", "spec.endpoints"],
    ("monitoring.coreos.com/v1", "PodMonitor"): ["spec.selector", "spec.podMetricsEndpoints"],
    ("monitoring.coreos.com/v1", "PrometheusRule"): ["spec.groups"],
    ("cert-manager.io/v1", "Certificate"): ["spec.secretName", "spec.dnsNames", "spec.issuerRef.name"],
    ("cert-manager.io/v1", "Issuer"): ["spec"],
}


def _get(obj: Obj, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def validate(obj: Obj) -> None:
    """Raise AssertionError naming the object and the problem if it would not be accepted."""
    ident = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        return
    except kubernetes_validate.ValidationError as exc:
        raise AssertionError(f"{ident}: {exc}") from None
    except kubernetes_validate.SchemaNotFoundError:
        pass
    if key in known_crd_schemas():
        errors = sorted(
            jsonschema.Draft7Validator(known_crd_schemas()[key]).iter_errors(obj), key=lambda e: list(e.path)
        )
        assert not errors, f"{ident}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
        return
    if key in _THIRD_PARTY_REQUIRED:
        missing = [field for field in _THIRD_PARTY_REQUIRED[key] if not _get(obj, field)]
        assert not missing, f"{ident}: missing {missing}"
        return
    raise AssertionError(f"{ident}: no schema for {key}; add its CRD or a structural check")


_validated: set[str] = set()


def validate_all(objs: list[Obj]) -> None:
    """Validate each object once per run (value sets render many identical objects)."""
    for obj in objs:
        key = json.dumps(obj, sort_keys=True)
        if key not in _validated:
            validate(obj)
            _validated.add(key)


def pod_specs(objs: list[Obj]) -> list[tuple[str, Obj]]:
    """(workload name, pod spec) of every Deployment, StatefulSet and Job."""
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objs
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    ]


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_ref(env_entry: Obj) -> tuple[str, str] | None:
    ref = env_entry.get("valueFrom", {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None
