"""Gateway fixtures: real PostgreSQL (seeded), real Redis, the emulators, uvicorn processes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gateway_support import (
    CSRF_SECRET,
    GENEROUS_LIMITS,
    JWT_SECRET,
    LIVEKIT_KEY,
    LIVEKIT_SECRET,
    LIVEKIT_URL,
    People,
    run,
    write_variant_config,
)
from tutorplane.db import repository
from tutorplane.db.pool import create_pool
from tutorplane.gateway.testing import ApiClient, GatewayProcess


@pytest.fixture(scope="session")
def seeded_dsn(migrated_dsn: str) -> str:
    async def seed() -> None:
        pool = await create_pool(migrated_dsn, min_size=1, max_size=2)
        try:
            await repository.seed_demo_data(pool)
        finally:
            await pool.close()

    run(seed())
    return migrated_dsn


@pytest.fixture(scope="session")
def gateway_env(
    seeded_dsn: str, redis_url: str, emulator: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment of a test gateway (modules copy it and change what they test)."""
    config_dir = tmp_path_factory.mktemp("gateway-config")
    variants = config_dir / "variants.json"
    write_variant_config(variants, {"A": 50, "B": 50})
    return {
        **emulator.env(),
        "TUTOR_ENVIRONMENT": "test",
        "TUTOR_DEPLOYMENT": "gw-tests",
        "TUTOR_REVISION": "test",
        "TUTOR_DATABASE_URL": seeded_dsn,
        "TUTOR_REDIS_URL": redis_url,
        "TUTOR_JWT_SECRET": JWT_SECRET,
        "TUTOR_CSRF_SECRET": CSRF_SECRET,
        "TUTOR_LOCAL_LOGIN_ENABLED": "true",
        "TUTOR_COOKIE_SECURE": "false",
        "TUTOR_LIVEKIT_URL": LIVEKIT_URL,
        "TUTOR_LIVEKIT_API_KEY": LIVEKIT_KEY,
        "TUTOR_LIVEKIT_API_SECRET": LIVEKIT_SECRET,
        "TUTOR_VARIANT_CONFIG_PATH": str(variants),
        "TUTOR_RATE_LIMITS": json.dumps(GENEROUS_LIMITS),
        "TUTOR_AUDIT_MAX_RETRIES": "100",
        "TUTOR_SSE_HEARTBEAT_S": "1",
        # Shared databases hold sessions other tests backdated: only the idle-session test ends them.
        "TUTOR_SESSION_IDLE_CLOSE_S": "0",
        "TUTOR_LOG_LEVEL": "INFO",
        "TUTOR_DRAIN_GRACE_S": "5",
    }


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    log = tmp_path_factory.mktemp("gateway-log") / "gateway.log"
    with GatewayProcess(gateway_env, log_path=log) as process:
        yield process


@pytest.fixture
def client_for(gateway: GatewayProcess) -> Iterator[Callable[..., ApiClient]]:
    """``client_for(token)`` -> an ApiClient signed in with that token (CSRF fetched)."""
    clients: list[ApiClient] = []

    def make(token: str | None = None, *, base_url: str | None = None) -> ApiClient:
        client = ApiClient(base_url or gateway.url)
        if token is not None:
            client.use_token(token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def people(seeded_dsn: str) -> People:
    return People(seeded_dsn)
