"""Langfuse and Supabase as dependencies: managed (rendered from the bundled charts) or external.

``managed``: the chart under ``<charts_dir>/<langfuse|supabase>`` is rendered with helm-python-sdk
and every object becomes an owned child, applied through the same diff/patch path as the rest.
Only namespaced workload kinds are accepted (see :data:`.resources.DEPENDENCY_KINDS`), Secrets
are created once and never patched (re-rendering must not rotate them), and DependenciesReady
waits for the release's Deployments, StatefulSets and Jobs. The operator's own migration Job
waits for a managed Supabase release to be ready (see ``reconcile._hold_migrations``).

Contract with the charts (release name ``<td>-<chart>``; ``fullnameOverride`` is set to it):

- each chart's ``credentials.yaml`` declares the ``<release>-credentials`` Secret it reads and
  the consumer Secrets derived from it; the operator creates them (:mod:`.credentials`);
- supabase: a Secret ``<release>-connection`` with key ``database-url`` (a PostgreSQL URL);
- langfuse: a Service ``<release>-web`` on port 3000 and a Secret ``<release>-api-keys`` with keys
  ``public-key`` and ``secret-key`` (the headless-initialised project keys).

``external``: URLs and Secret references come from the spec; nothing is installed.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import constants as c
from .builders.common import finalize, labels
from .builders.context import BuildContext, Wiring
from .conditions import deployment_readiness as _deployment_readiness
from .conditions import job_state, statefulset_readiness
from .hashing import stable_hash
from .resources import DEPENDENCY_KINDS
from .spec import DependencyMode, LangfuseSecretRef, SecretKeyRef, TutorDeploymentSpec

Obj = dict[str, Any]
CHARTS = ("supabase", "langfuse")


class DependencyError(Exception):
    """A managed chart cannot be rendered or renders something the operator refuses to apply."""


def release_name(owner: str, chart: str) -> str:
    return f"{owner}-{chart}"


def managed_charts(spec: TutorDeploymentSpec) -> list[str]:
    deps = spec.dependencies
    out = []
    if deps.supabase.mode == DependencyMode.managed:
        out.append("supabase")
    if deps.langfuse.mode == DependencyMode.managed:
        out.append("langfuse")
    return out


def wiring(spec: TutorDeploymentSpec, owner: str, namespace: str) -> Wiring:
    deps = spec.dependencies
    database = None
    if deps.supabase.mode == DependencyMode.managed:
        database = SecretKeyRef(name=f"{release_name(owner, 'supabase')}-connection", key="database-url")
    langfuse_url: str | None = None
    langfuse_ref: LangfuseSecretRef | None = None
    if deps.langfuse.mode == DependencyMode.managed:
        release = release_name(owner, "langfuse")
        langfuse_url = f"http://{release}-web.{namespace}.svc:3000"
        langfuse_ref = LangfuseSecretRef(
            name=f"{release}-api-keys", public_key_key="public-key", secret_key_key="secret-key"
        )
    elif deps.langfuse.mode == DependencyMode.external:
        langfuse_url = deps.langfuse.url
    return Wiring(database=database, langfuse_url=langfuse_url, langfuse=langfuse_ref)


def _chart_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@dataclass
class ChartRenderer:
    """Renders bundled charts; results are cached per (chart contents, values, release)."""

    charts_dir: Path
    _cache: dict[tuple[str, str, str, str, str], list[Obj]] = field(default_factory=dict)
    renders: int = 0

    def chart_path(self, chart: str) -> Path:
        return self.charts_dir / chart

    def render_sync(self, chart: str, release: str, namespace: str, values: dict[str, Any]) -> list[Obj]:
        path = self.chart_path(chart)
        if not (path / "Chart.yaml").is_file():
            raise DependencyError(
                f"bundled chart {chart!r} not found at {path}: set the operator's charts directory "
                f"(TUTOR_OPERATOR_CHARTS_DIR) or use mode: external"
            )
        key = (chart, _chart_digest(path), stable_hash(values), release, namespace)
        cached = self._cache.get(key)
        if cached is not None:
            return copy.deepcopy(cached)
        import helm_python as helm

        try:
            with helm.Chart.load(str(path)) as loaded:
                manifests = loaded.render(values, name=release, namespace=namespace, is_install=True)
        except helm.HelmError as exc:
            raise DependencyError(f"chart {chart!r} failed to render: {exc}") from exc
        self.renders += 1
        objects: list[Obj] = []
        for template, text in sorted(manifests.items()):
            if not template.endswith((".yaml", ".yml")):
                continue
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict) and doc.get("kind"):
                    objects.append(doc)
        self._cache[key] = objects
        return copy.deepcopy(objects)

    async def render(self, chart: str, release: str, namespace: str, values: dict[str, Any]) -> list[Obj]:
        return await asyncio.to_thread(self.render_sync, chart, release, namespace, values)


def adopt_release_objects(ctx: BuildContext, chart: str, release: str, objects: list[Obj]) -> list[Obj]:
    """Check kinds, then label, own and hash each rendered object like any other child."""
    allowed = set(DEPENDENCY_KINDS)
    out: list[Obj] = []
    for obj in objects:
        kind = (obj.get("apiVersion", ""), obj.get("kind", ""))
        name = obj.get("metadata", {}).get("name", "?")
        if kind not in allowed:
            raise DependencyError(
                f"chart {chart!r} renders {kind[1]} {name!r} ({kind[0]}), which the operator does not apply "
                f"(allowed: {', '.join(k for _, k in sorted(allowed))}); install it with the chart directly "
                f"or remove it from the chart"
            )
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") not in (None, ctx.owner.namespace):
            raise DependencyError(
                f"chart {chart!r} renders {kind[1]} {name!r} into namespace {meta['namespace']!r}; "
                f"managed dependencies live in the TutorDeployment's namespace {ctx.owner.namespace!r}"
            )
        meta["namespace"] = ctx.owner.namespace
        meta.setdefault("labels", {}).update(
            {
                **labels(ctx, c.COMPONENT_DEPENDENCY),
                f"{c.GROUP}/release": release,
            }
        )
        meta["ownerReferences"] = [ctx.owner.reference()]
        out.append(finalize(obj))
    return out


def values_for(spec: TutorDeploymentSpec, chart: str, owner: str) -> dict[str, Any]:
    given = spec.dependencies.supabase.values if chart == "supabase" else spec.dependencies.langfuse.values
    base = {"fullnameOverride": release_name(owner, chart), "tutorplane": {"deployment": owner}}
    return {**base, **copy.deepcopy(given)}


async def render_managed(renderer: ChartRenderer, ctx: BuildContext) -> list[Obj]:
    objects: list[Obj] = []
    for chart in managed_charts(ctx.spec):
        release = release_name(ctx.owner.name, chart)
        rendered = await renderer.render(
            chart, release, ctx.owner.namespace, values_for(ctx.spec, chart, ctx.owner.name)
        )
        objects.extend(adopt_release_objects(ctx, chart, release, rendered))
    return objects


def release_readiness(release: str, observed: list[Obj]) -> tuple[bool, str]:
    """(ready, what is missing) of one managed release: its Deployments and StatefulSets ready,
    its Jobs (the chart's own roles and migrations) complete. Objects not observed yet count as
    not ready: pass the desired object when nothing was observed."""
    waiting: list[str] = []
    for obj in observed:
        meta = obj.get("metadata", {})
        if meta.get("labels", {}).get(f"{c.GROUP}/release") != release:
            continue
        kind = obj.get("kind")
        if kind == "Job" and job_state(obj) != "Complete":
            waiting.append(f"Job {meta.get('name')} not complete")
        elif kind in ("Deployment", "StatefulSet"):
            check = _deployment_readiness if kind == "Deployment" else statefulset_readiness
            if not (r := check(obj)).ready:
                waiting.append(r.message)
    return not waiting, "; ".join(waiting)


def readiness(
    spec: TutorDeploymentSpec, observed: list[Obj], error: str | None, held: str | None = None
) -> tuple[bool, str, str]:
    """(ready, reason, message) of the managed releases plus the migration Job; ``held`` says why
    the migration Job was not created yet."""
    if error:
        return False, "DependencyFailed", error
    waiting: list[str] = [held] if held else []
    failed: list[str] = []
    for obj in observed:
        kind = obj.get("kind")
        name = obj.get("metadata", {}).get("name", "?")
        is_dep = obj.get("metadata", {}).get("labels", {}).get(c.LABEL_COMPONENT) == c.COMPONENT_DEPENDENCY
        is_migration = (
            obj.get("metadata", {}).get("labels", {}).get(c.LABEL_COMPONENT) == c.COMPONENT_MIGRATIONS
        )
        if kind == "Job" and (is_dep or is_migration):
            state = job_state(obj)
            if state == "Failed":
                failed.append(f"Job {name} failed; see `kubectl logs job/{name}`")
            elif state != "Complete":
                waiting.append(f"Job {name} running")
        elif kind == "Deployment" and is_dep:
            r = _deployment_readiness(obj)
            if not r.ready:
                waiting.append(r.message)
        elif kind == "StatefulSet" and is_dep:
            r = statefulset_readiness(obj)
            if not r.ready:
                waiting.append(r.message)
    if failed:
        reason = "MigrationFailed" if any("migrate" in f for f in failed) else "DependencyFailed"
        return False, reason, "; ".join(failed)
    if waiting:
        return False, "Pending", "; ".join(waiting)
    modes = {
        "supabase": spec.dependencies.supabase.mode.value,
        "langfuse": spec.dependencies.langfuse.mode.value,
    }
    summary = ", ".join(f"{name} {mode}" for name, mode in modes.items())
    return (
        True,
        "Ready",
        f"dependencies ready ({summary}; migrations {'on' if spec.migrations.enabled else 'off'})",
    )
