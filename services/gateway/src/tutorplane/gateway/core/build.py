"""Build the gateway's shared state once at start-up, and tear it down at shutdown."""

from __future__ import annotations

import contextlib
import datetime
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis
from tutorplane.common.settings import Environment, SettingsError
from tutorplane.common.telemetry import setup_tracing
from tutorplane.db.audit import SERVICE_LINGER_S, AuditWriter
from tutorplane.db.pool import create_pool
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.core.csrf import CsrfSigner
from tutorplane.gateway.core.identity import TokenVerifier
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.cancellation import CancelRegistry
from tutorplane.gateway.services.drain import DrainState
from tutorplane.gateway.services.escalation_feed import EscalationFeed
from tutorplane.gateway.services.escalation_service import submit_system_escalation
from tutorplane.gateway.services.idle_sessions import IdleSessionCloser
from tutorplane.gateway.services.livekit_tokens import LiveKitMinter
from tutorplane.gateway.services.rate_limit import RateLimiter
from tutorplane.gateway.services.readiness import Readiness
from tutorplane.gateway.services.realtime_secrets import RealtimeMinter
from tutorplane.gateway.services.redis_bus import RedisBus
from tutorplane.gateway.services.session_directory import SessionDirectory, SessionInfo
from tutorplane.gateway.services.session_events import SessionEvents
from tutorplane.gateway.services.speech import SpeechSynthesizer
from tutorplane.gateway.services.turn_pipeline import TurnPipeline, Voices
from tutorplane.gateway.services.variants import VariantConfig, VariantConfigSource
from tutorplane.guardrail.checker import GuardrailChecker
from tutorplane.guardrail.guard import Guardrail, build_checker
from tutorplane.guardrail.http_client import HttpGuardrailClient
from tutorplane.routing.clients import MissingProviderKey, ProviderClients, build_clients
from tutorplane.routing.specialists import Specialists, build_specialists
from tutorplane.routing.wiring import build_router

log = logging.getLogger(__name__)

_tracing_done = False


def _secret(settings: GatewaySettings, name: str) -> str:
    value = getattr(settings, name)
    if value is not None:
        return str(value.get_secret_value())
    if settings.environment != Environment.development:
        raise SettingsError(f"TUTOR_{name.upper()} is not set; provide it from a Kubernetes Secret")
    log.warning(
        "%s not set: using a random one for this process (development only; sign-ins end on restart "
        "and do not carry across replicas)",
        f"TUTOR_{name.upper()}",
    )
    return secrets.token_urlsafe(48)


def connect_urls(settings: GatewaySettings) -> list[str]:
    """Origins the web app connects to besides itself (LiveKit, OpenAI Realtime)."""
    urls: list[str] = []
    if settings.livekit_public_url:  # what the browser connects to
        urls.append(settings.livekit_public_url)
        urls.append(settings.livekit_public_url.replace("wss://", "https://").replace("ws://", "http://"))
    urls.append(settings.openai_base_url or "https://api.openai.com/v1")
    if settings.openai_websocket_base_url:
        urls.append(settings.openai_websocket_base_url)
    return urls


def _provider_clients(settings: GatewaySettings) -> ProviderClients:
    try:
        return build_clients(settings)
    except MissingProviderKey as exc:
        raise SettingsError(
            f"{exc}. The gateway needs model APIs for turns (run `make demo` for the offline emulators)."
        ) from exc


def guardrail_checker(settings: GatewaySettings, clients: ProviderClients) -> GuardrailChecker:
    """The guardrail service's client (or in-process checks when no service URL is set)."""
    return build_checker(
        policy=settings.guardrail_policy(),
        service_url=settings.guardrail_url,
        openai_api_key=clients.openai.api_key,
        openai_base_url=settings.openai_base_url,
        moderation_model=settings.moderation_model,
        rewrite_model=settings.rewrite_model,
        moderation_timeout_s=settings.moderation_timeout_s,
        rewrite_timeout_s=settings.rewrite_timeout_s,
    )


def speech_synthesizer(settings: GatewaySettings, clients: ProviderClients) -> SpeechSynthesizer:
    return SpeechSynthesizer(
        clients.openai,
        model=settings.tts_model,
        sample_rate=settings.tts_sample_rate_hz,
        chunk_bytes=settings.tts_chunk_bytes,
        max_chunk_bytes=settings.tts_max_chunk_bytes,
    )


def realtime_minter(
    settings: GatewaySettings, clients: ProviderClients, specialists: Specialists
) -> RealtimeMinter:
    return RealtimeMinter(
        client=clients.openai,
        base_session=specialists.english_realtime.session(),
        ages=settings.student_age_range,
        ttl_s=settings.realtime_secret_ttl_s,
    )


async def build_state(settings: GatewaySettings, drain: DrainState) -> GatewayState:
    global _tracing_done
    if not _tracing_done:
        setup_tracing(settings)
        _tracing_done = True
    if settings.database_url is None:
        raise SettingsError("TUTOR_DATABASE_URL is not set; the gateway needs PostgreSQL")
    jwt_secret = _secret(settings, "jwt_secret")
    csrf_secret = _secret(settings, "csrf_secret")
    clients = _provider_clients(settings)
    closers: list[Any] = [clients.aclose]
    try:
        pool = await create_pool(
            settings.database_url.get_secret_value(),
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            application_name="tutorplane-gateway",
        )
        closers.append(pool.close)
        redis = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1.0, socket_timeout=3.0, health_check_interval=15
        )
        closers.append(redis.aclose)
        audit = AuditWriter(
            pool,
            max_retries=settings.audit_max_retries,
            queue_size=settings.audit_queue_size,
            linger_s=SERVICE_LINGER_S,
        )
        audit.start()
        closers.append(audit.aclose)
        bus = RedisBus(redis)
        await bus.start()
        closers.append(bus.aclose)
        cancels = CancelRegistry(redis, bus)
        await cancels.start()
        escalations = EscalationFeed(settings.database_url.get_secret_value())
        await escalations.start()
        closers.append(escalations.aclose)

        checker = guardrail_checker(settings, clients)
        guardrail = Guardrail(
            checker, config=settings.pipeline_config(), audit=audit, hash_key=settings.hash_key()
        )
        closers.append(guardrail.aclose)
        router = build_router(clients, settings, settings, audit=audit)
        specialists = build_specialists(clients, settings, settings)
        speech = speech_synthesizer(settings, clients)
        sessions = SessionDirectory(redis, pool)
        bus.on_reconnect(sessions.restore_counters)
        defaults = VariantConfig(weights=dict(settings.default_weights))
        variants = VariantConfigSource(settings.variant_config_path, defaults)

        livekit = None
        if settings.livekit_configured:
            assert settings.livekit_url and settings.livekit_api_key and settings.livekit_api_secret
            livekit = LiveKitMinter(
                url=settings.livekit_url,
                api_key=settings.livekit_api_key,
                api_secret=settings.livekit_api_secret.get_secret_value(),
                ttl=datetime.timedelta(seconds=settings.livekit_token_ttl_s),
            )
        realtime = realtime_minter(settings, clients, specialists)

        state_ref: dict[str, GatewayState] = {}

        def escalate(info: SessionInfo, reason: str, source: str) -> None:
            submit_system_escalation(state_ref["state"], info, reason=reason, source=source)

        pipeline = TurnPipeline(
            guardrail=guardrail,
            router=router,
            specialists=specialists,
            speech=speech,
            voices=Voices(
                math=settings.math_voice,
                history=settings.history_voice,
                english=settings.english_voice,
                orchestrator=settings.orchestrator_voice,
            ),
            sessions=sessions,
            cancels=cancels,
            audit=audit,
            history_turns=settings.routing_context_turns,
            timeout_s=settings.turn_timeout_s,
            escalate=escalate,
        )

        async def check_db() -> None:
            await pool.fetchval("SELECT 1", timeout=1.0)

        async def check_redis() -> None:
            await redis.ping()

        async def check_guardrail() -> None:
            if isinstance(checker, HttpGuardrailClient) and not await checker.healthy():
                raise ConnectionError(f"guardrail service at {checker.base_url} is not healthy")

        readiness = Readiness(
            {"database": check_db, "redis": check_redis, "guardrail": check_guardrail},
            required=settings.readiness_requires,
            cache_s=settings.readiness_cache_s,
        )
        await readiness.results()  # the dependency gauges exist from the start
        state = GatewayState(
            settings=settings,
            jwt_secret=jwt_secret,
            pool=pool,
            redis=redis,
            audit=audit,
            bus=bus,
            cancels=cancels,
            session_events=SessionEvents(bus),
            escalations=escalations,
            limiter=RateLimiter(redis, window_s=settings.rate_limit_window_s),
            verifier=TokenVerifier(
                jwt_secret,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                jwks_url=settings.jwks_url,
            ),
            csrf=CsrfSigner(csrf_secret.encode(), settings.csrf_ttl_s),
            variants=variants,
            sessions=sessions,
            drain=drain,
            openai=clients.openai,
            livekit=livekit,
            realtime=realtime,
            pipeline=pipeline,
            readiness=readiness,
            closers=closers,
        )
        state_ref["state"] = state
        if settings.session_idle_close_s:
            closer = IdleSessionCloser(state)
            closer.start()
            closers.append(closer.aclose)
        return state
    except BaseException:
        await _close_all(closers)
        raise


async def _close_all(closers: list[Any]) -> None:
    for close in reversed(closers):
        with contextlib.suppress(Exception):
            await close()


async def close_state(state: GatewayState) -> None:
    await _close_all(state.closers)
