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
from ..spec import SecretKeyRef, Variant
from .common import Obj, finalize, metadata
from .context import BuildContext


def settings_name(ctx: BuildContext) -> str:
    return ctx.child_name("settings")


def settings_data(ctx: BuildContext) -> dict[str, str]:
    spec = ctx.spec
    data: dict[str, str] = {
        "TUTOR_ENVIRONMENT": "production",
        "TUTOR_DEPLOYMENT": ctx.owner.name,
        "TUTOR_LOG_JSON": "true",
        "TUTOR_ROUTING_STRATEGY": spec.routing.strategy.value,
        "TUTOR_GUARDRAIL_URL": f"http://{ctx.child_name('guardrail')}:{c.GUARDRAIL_PORT}",
    }
    for name, model in spec.models.model_dump().items():
        data[f"TUTOR_{name.upper()}_MODEL"] = model
    for name, voice in spec.voices.model_dump().items():
        data[f"TUTOR_{name.upper()}_VOICE"] = voice
    if spec.secrets.redis is None:
        data["TUTOR_REDIS_URL"] = spec.redis.url
    if spec.livekit is not None:
        data["TUTOR_LIVEKIT_URL"] = spec.livekit.url
    if ctx.wiring.langfuse_url:
        data["TUTOR_OTLP_ENDPOINT"] = ctx.wiring.langfuse_url.rstrip("/") + "/api/public/otel"
    return dict(sorted(data.items()))


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


def variant_config(ctx: BuildContext, agent_name: str | None, revisions: dict[str, str]) -> dict[str, Any]:
    """What the gateway reads to assign new sessions: weights now in force, revisions, agent names."""
    spec = ctx.spec
    weights = ctx.current_weights()
    return {
        "weights": {name: weights.get(name, 0) for name in ("A", "B")},
        "revisions": revisions,
        "agentNames": {"A": agent_name} if agent_name else {},
        "enabled": {"A": spec.variants.a.enabled, "B": spec.variants.b.enabled},
    }


def variants_configmap(ctx: BuildContext, agent_name: str | None, revisions: dict[str, str]) -> Obj:
    payload = json.dumps(variant_config(ctx, agent_name, revisions), sort_keys=True, indent=2)
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


def session_env(variant: Variant) -> list[Obj]:
    return [
        {"name": "TUTOR_SESSION_CAP_SECONDS", "value": str(variant.session_cap_seconds)},
        {"name": "TUTOR_DRAIN_TIMEOUT_SECONDS", "value": str(variant.drain_grace_seconds)},
    ]


def extra_env(variant: Variant) -> list[Obj]:
    return [{"name": item.name, "value": item.value} for item in variant.env]


def env_from_settings(ctx: BuildContext) -> list[Obj]:
    return [{"configMapRef": {"name": settings_name(ctx)}}]
