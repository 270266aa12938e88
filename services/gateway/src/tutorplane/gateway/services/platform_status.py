"""Operator-published deployment status for the platform view.

The operator writes a JSON status file (a ConfigMap) shaped like
``{"updatedAt": "...", "deployments": [{"name", "variant", "revision", "weights", "replicas",
"readyReplicas", "activeSessions", "rolloutStep", "lastAnalysis"}]}``; camelCase or snake_case keys.
Without it, the variant config (weights, revisions) is what can be shown.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tutorplane.gateway.api.schemas import DeploymentOut, DeploymentsOut
from tutorplane.gateway.services.variants import VARIANTS, VariantConfig

log = logging.getLogger(__name__)

_KEYS = {
    "name": ("name",),
    "variant": ("variant",),
    "revision": ("revision",),
    "weights": ("weights",),
    "replicas": ("replicas",),
    "ready_replicas": ("readyReplicas", "ready_replicas"),
    "active_sessions": ("activeSessions", "active_sessions"),
    "rollout_step": ("rolloutStep", "rollout_step"),
    "last_analysis": ("lastAnalysis", "last_analysis"),
    "unavailable_reason": ("unavailableReason", "unavailable_reason"),
}


def _pick(raw: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in raw:
            return raw[name]
    return None


def _deployment(raw: dict[str, Any]) -> DeploymentOut | None:
    values = {field: _pick(raw, names) for field, names in _KEYS.items()}
    if not values["name"]:
        return None
    if values["rollout_step"] is not None:
        values["rollout_step"] = str(values["rollout_step"])
    if not isinstance(values["weights"], dict):
        values["weights"] = {}
    if not isinstance(values["last_analysis"], dict):
        values["last_analysis"] = (
            None if values["last_analysis"] is None else {"result": values["last_analysis"]}
        )
    try:
        return DeploymentOut.model_validate({k: v for k, v in values.items() if v is not None})
    except ValueError as exc:
        log.warning("unusable deployment entry in status file", extra={"error": str(exc)[:300]})
        return None


def read_status(path: Path | None, config: VariantConfig, deployment: str) -> DeploymentsOut:
    if path is not None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = None
        except (OSError, ValueError) as exc:
            log.warning("platform status file unreadable", extra={"error": str(exc)})
            raw = None
        if isinstance(raw, dict):
            items = raw.get("deployments", [raw])
            deployments = [d for d in (_deployment(i) for i in items if isinstance(i, dict)) if d is not None]
            return DeploymentsOut(
                source="operator status",
                updated_at=str(raw.get("updatedAt") or raw.get("updated_at") or "") or None,
                deployments=deployments,
            )
    return DeploymentsOut(
        source=f"variant config ({config.source})",
        deployments=[
            DeploymentOut(
                name=config.agent_names.get(v) or f"{deployment}-{v.lower()}",
                variant=v,
                revision=config.revisions.get(v),
                weights={v: config.effective_weights()[v]},
                unavailable_reason=config.unavailable_reason.get(v),
            )
            for v in VARIANTS
        ],
    )
