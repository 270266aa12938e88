"""Environment of the services: the shared settings ConfigMap and per-container variables.

The services read ``TUTOR_<FIELD>`` (tutorplane.common.settings). Plain values go into the
``<td>-settings`` ConfigMap; secrets are only ever ``secretKeyRef`` entries here. This is the one
file to read to see which spec field becomes which variable.
"""

from __future__ import annotations

import json
from typing import Any

from .. import constants as c
from ..hashing import stable_hash
from ..spec import FailMode, SecretKeyRef, Variant
from .common import Obj, finalize, metadata
from .context import BuildContext


def settings_name(ctx: BuildContext) -> str:
    return ctx.child_name("settings")


# spec.routing.strategy (CRD spelling) -> TUTOR_ROUTING_STRATEGY (the services' spelling).
ROUTING_STRATEGIES = {"two-stage": "two_stage", "llm-tools": "function_tools"}


def settings_data(ctx: BuildContext) -> dict[str, str]:
    """What every service reads (agent, gateway and guardrail all have these fields).

    Variables only some services have go into their containers' ``env`` (see ``*_env`` below):
    pydantic-settings ignores names a class has no field for, so a shared name the class lacks
    would be a silent misconfiguration (tests/operator/test_env_contract.py checks each one).
    """
    spec = ctx.spec
    data: dict[str, str] = {
        "TUTOR_ENVIRONMENT": "production",
        "TUTOR_DEPLOYMENT": ctx.owner.name,
        "TUTOR_LOG_JSON": "true",
        # The guardrail policy: the guardrail service and its callers (which decide what to do
        # when the service is unreachable) read the same thresholds and fail mode.
        "TUTOR_GUARDRAIL_THRESHOLDS": _json(spec.guardrail.thresholds),
        "TUTOR_GUARDRAIL_INPUT_FAIL_CLOSED": "true"
        if spec.guardrail.fail_mode == FailMode.closed
        else "false",
    }
    for name, model in spec.models.model_dump().items():
        data[f"TUTOR_{name.upper()}_MODEL"] = model
    for name, voice in spec.voices.model_dump().items():
        data[f"TUTOR_{name.upper()}_VOICE"] = voice
    if ctx.wiring.langfuse_url:
        data["TUTOR_OTLP_ENDPOINT"] = ctx.wiring.langfuse_url.rstrip("/") + "/api/public/otel"
    return dict(sorted(data.items()))


def _json(data: dict[str, float]) -> str:
    return json.dumps(dict(sorted(data.items())), separators=(",", ":"))


def guardrail_url(ctx: BuildContext) -> str:
    return f"http://{ctx.child_name('guardrail')}:{c.GUARDRAIL_PORT}"


def gateway_env(ctx: BuildContext) -> list[Obj]:
    """Variables only the gateway reads (it listens on the pod IP, so TUTOR_HOST)."""
    spec = ctx.spec
    out: list[Obj] = [
        {"name": "TUTOR_HOST", "value": "0.0.0.0"},
        {"name": "TUTOR_PORT", "value": str(c.GATEWAY_PORT)},
        {"name": "TUTOR_GUARDRAIL_URL", "value": guardrail_url(ctx)},
        {"name": "TUTOR_ROUTING_STRATEGY", "value": ROUTING_STRATEGIES[spec.routing.strategy.value]},
    ]
    if spec.secrets.redis is None:
        out.append({"name": "TUTOR_REDIS_URL", "value": spec.redis.url})
    if spec.livekit is not None:
        out.append({"name": "TUTOR_LIVEKIT_URL", "value": spec.livekit.url})
        out.append({"name": "TUTOR_LIVEKIT_PUBLIC_URL", "value": spec.livekit.public_url or spec.livekit.url})
    return out


def agent_env(ctx: BuildContext) -> list[Obj]:
    """Variables only the agent workers read (role and agent names are added per worker)."""
    spec = ctx.spec
    out: list[Obj] = [
        {"name": "TUTOR_GUARDRAIL_SERVICE_URL", "value": guardrail_url(ctx)},
        {"name": "TUTOR_ROUTING_STRATEGY", "value": ROUTING_STRATEGIES[spec.routing.strategy.value]},
        {"name": "TUTOR_HEALTH_PORT", "value": str(c.AGENT_HEALTH_PORT)},
        {"name": "TUTOR_METRICS_MULTIPROC_DIR", "value": c.AGENT_METRICS_DIR},
    ]
    if spec.livekit is not None:
        out.append({"name": "TUTOR_LIVEKIT_URL", "value": spec.livekit.url})
    return out


def guardrail_env(ctx: BuildContext) -> list[Obj]:
    return [
        {"name": "TUTOR_HOST", "value": "0.0.0.0"},
        {"name": "TUTOR_PORT", "value": str(c.GUARDRAIL_PORT)},
        {"name": "TUTOR_DRAIN_SETTLE_S", "value": str(ctx.spec.guardrail.drain_settle_seconds)},
    ]


def settings_configmap(ctx: BuildContext) -> Obj:
    return finalize(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(ctx, settings_name(ctx), "settings"),
            "data": settings_data(ctx),
        }
    )


def settings_hash(ctx: BuildContext) -> str:
    return stable_hash(settings_data(ctx))


def variant_config(
    ctx: BuildContext, agent_name: str | None, english_agent_name: str | None, revisions: dict[str, str]
) -> dict[str, Any]:
    """What the gateway reads to assign new sessions: weights now in force, revisions, agent names,
    and which versions take sessions (A not while its pool has no ready worker). The agent pool
    reads the agent names too: its handoffs go to the revision in service."""
    spec = ctx.spec
    weights = ctx.current_weights()
    config: dict[str, Any] = {
        "weights": {name: weights.get(name, 0) for name in ("A", "B")},
        "revisions": revisions,
        "agentNames": {"A": agent_name} if agent_name else {},
        "englishAgentNames": {"A": english_agent_name} if english_agent_name else {},
        "enabled": {"A": spec.variants.a.enabled, "B": spec.variants.b.enabled},
    }
    if spec.variants.a.enabled and ctx.pool_unavailable:
        config["enabled"]["A"] = False
        config["unavailableReason"] = {"A": ctx.pool_unavailable}
    return config


def variants_configmap(
    ctx: BuildContext, agent_name: str | None, english_agent_name: str | None, revisions: dict[str, str]
) -> Obj:
    payload = json.dumps(
        variant_config(ctx, agent_name, english_agent_name, revisions), sort_keys=True, indent=2
    )
    return finalize(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(ctx, ctx.child_name("variants"), "variant-config"),
            "data": {c.VARIANT_CONFIG_FILE: payload + "\n"},
        }
    )


def _secret_env(name: str, ref: SecretKeyRef) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _ref(name: str, key: str) -> SecretKeyRef:
    return SecretKeyRef(name=name, key=key)


def provider_env(ctx: BuildContext, openai: bool = True, anthropic: bool = True) -> list[Obj]:
    out: list[Obj] = []
    if openai:
        out.append(_secret_env("TUTOR_OPENAI_API_KEY", ctx.spec.secrets.openai))
    if anthropic:
        out.append(_secret_env("TUTOR_ANTHROPIC_API_KEY", ctx.spec.secrets.anthropic))
    return out


def database_env(ctx: BuildContext) -> list[Obj]:
    ref = ctx.wiring.database or ctx.spec.secrets.database
    return [_secret_env("TUTOR_DATABASE_URL", ref)] if ref is not None else []


def redis_env(ctx: BuildContext) -> list[Obj]:
    ref = ctx.spec.secrets.redis
    return [_secret_env("TUTOR_REDIS_URL", ref)] if ref is not None else []


def livekit_env(ctx: BuildContext) -> list[Obj]:
    ref = ctx.spec.secrets.livekit
    if ref is None:
        return []
    return [
        _secret_env("TUTOR_LIVEKIT_API_KEY", _ref(ref.name, ref.api_key_key)),
        _secret_env("TUTOR_LIVEKIT_API_SECRET", _ref(ref.name, ref.api_secret_key)),
    ]


def langfuse_env(ctx: BuildContext) -> list[Obj]:
    ref = ctx.wiring.langfuse or ctx.spec.secrets.langfuse
    if ref is None or not ctx.wiring.langfuse_url:
        return []
    return [
        _secret_env("TUTOR_LANGFUSE_PUBLIC_KEY", _ref(ref.name, ref.public_key_key)),
        _secret_env("TUTOR_LANGFUSE_SECRET_KEY", _ref(ref.name, ref.secret_key_key)),
    ]


def gateway_secret_env(ctx: BuildContext) -> list[Obj]:
    ref = ctx.spec.secrets.gateway
    if ref is None:
        return []
    return [
        _secret_env("TUTOR_JWT_SECRET", _ref(ref.name, ref.jwt_secret_key)),
        _secret_env("TUTOR_CSRF_SECRET", _ref(ref.name, ref.csrf_secret_key)),
    ]


def gateway_session_env(variant: Variant) -> list[Obj]:
    # After SIGTERM the gateway serves on through the settle, then lets open streams finish.
    return [
        {"name": "TUTOR_DRAIN_SETTLE_S", "value": str(variant.drain_settle_seconds)},
        {"name": "TUTOR_DRAIN_GRACE_S", "value": str(variant.drain_grace_seconds)},
    ]


def agent_session_env(variant: Variant) -> list[Obj]:
    return [
        {"name": "TUTOR_SESSION_MAX_DURATION_S", "value": str(variant.session_cap_seconds)},
        {"name": "TUTOR_DRAIN_SETTLE_S", "value": str(variant.drain_settle_seconds)},
        {"name": "TUTOR_DRAIN_GRACE_S", "value": str(variant.drain_grace_seconds)},
    ]


def extra_env(variant: Variant) -> list[Obj]:
    return [{"name": item.name, "value": item.value} for item in variant.env]


def env_from_settings(ctx: BuildContext) -> list[Obj]:
    return [{"configMapRef": {"name": settings_name(ctx)}}]
