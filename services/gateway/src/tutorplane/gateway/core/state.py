"""Everything the gateway builds once at start-up (clients, pools, limiter) and shares per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import redis.asyncio as aioredis
from openai import AsyncOpenAI
from tutorplane.db.audit import AuditWriter
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.core.csrf import CsrfSigner
from tutorplane.gateway.core.identity import TokenVerifier
from tutorplane.gateway.services.cancellation import CancelRegistry
from tutorplane.gateway.services.drain import DrainState
from tutorplane.gateway.services.escalation_feed import EscalationFeed
from tutorplane.gateway.services.livekit_tokens import LiveKitMinter
from tutorplane.gateway.services.rate_limit import RateLimiter
from tutorplane.gateway.services.realtime_secrets import RealtimeMinter
from tutorplane.gateway.services.redis_bus import RedisBus
from tutorplane.gateway.services.session_directory import SessionDirectory
from tutorplane.gateway.services.session_events import SessionEvents
from tutorplane.gateway.services.variants import VariantConfigSource

if TYPE_CHECKING:
    from tutorplane.gateway.services.readiness import Readiness
    from tutorplane.gateway.services.turn_pipeline import TurnPipeline


@dataclass
class GatewayState:
    settings: GatewaySettings
    jwt_secret: str
    pool: asyncpg.Pool
    redis: aioredis.Redis
    audit: AuditWriter
    bus: RedisBus
    cancels: CancelRegistry
    session_events: SessionEvents
    escalations: EscalationFeed
    limiter: RateLimiter
    verifier: TokenVerifier
    csrf: CsrfSigner
    variants: VariantConfigSource
    sessions: SessionDirectory
    drain: DrainState
    openai: AsyncOpenAI | None
    livekit: LiveKitMinter | None
    realtime: RealtimeMinter | None
    pipeline: TurnPipeline
    readiness: Readiness
    closers: list[Any] = field(default_factory=list)
