"""Browser fixtures: the whole local stack once per run, one Chromium, a fresh context per test.

Chromium is Debian's (``/usr/bin/chromium``) driven by Python Playwright; nothing downloads a
browser. Tests skip with the reason when Chromium or the built web app cannot be had.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_stack import (
    CHROMIUM,
    CSRF_SECRET,
    DIST,
    FAKE_MIC_RATE,
    JWT_SECRET,
    PLATFORM_STATUS,
    RATE_LIMITS,
    GuardrailProcess,
    Stack,
    ensure_frontend_built,
    fake_microphone_args,
    new_context,
    write_json,
    write_microphone_wav,
)
from tutorplane.db import repository
from tutorplane.db.pool import create_pool


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/system-deps.sh (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def frontend_dist(chromium_path: Path) -> Path:
    reason = ensure_frontend_built()
    if reason is not None:
        pytest.skip(reason)
    return DIST


@pytest.fixture(scope="session")
def seeded_browser_dsn(migrated_dsn: str) -> str:
    async def seed() -> None:
        pool = await create_pool(migrated_dsn, min_size=1, max_size=2)
        try:
            await repository.seed_demo_data(pool)
        finally:
            await pool.close()

    asyncio.run(seed())
    return migrated_dsn


@pytest.fixture(scope="session")
def stack(
    frontend_dist: Path,
    seeded_browser_dsn: str,
    redis_url: str,
    emulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("browser-stack")
    variants = work / "variants.json"
    # Weighted assignment sends everyone to B; the QA override (open here) pins A or B per test.
    write_json(
        variants,
        {
            "weights": {"A": 0, "B": 100},
            "revisions": {"A": "a-r7", "B": "b-r3"},
            "agentNames": {"A": "tutor-pool-a-r7"},
            "enabled": {"A": True, "B": True},
        },
    )
    status = work / "platform-status.json"
    write_json(status, PLATFORM_STATUS)
    guardrail = GuardrailProcess(
        {**emulator.env(), "TUTOR_ENVIRONMENT": "test", "TUTOR_LOG_LEVEL": "INFO"}, work / "guardrail.log"
    ).launch()
    env = {
        **emulator.env(),
        "TUTOR_ENVIRONMENT": "test",
        "TUTOR_DEPLOYMENT": "browser-tests",
        "TUTOR_REVISION": "browser",
        "TUTOR_DATABASE_URL": seeded_browser_dsn,
        "TUTOR_REDIS_URL": redis_url,
        "TUTOR_JWT_SECRET": JWT_SECRET,
        "TUTOR_CSRF_SECRET": CSRF_SECRET,
        "TUTOR_LOCAL_LOGIN_ENABLED": "true",
        "TUTOR_COOKIE_SECURE": "false",
        "TUTOR_QA_OVERRIDE_OPEN": "true",
        "TUTOR_VARIANT_CONFIG_PATH": str(variants),
        "TUTOR_PLATFORM_STATUS_PATH": str(status),
        "TUTOR_GUARDRAIL_URL": guardrail.url,
        "TUTOR_FRONTEND_DIST": str(frontend_dist),
        "TUTOR_RATE_LIMITS": json.dumps(RATE_LIMITS),
        "TUTOR_SSE_HEARTBEAT_S": "2",
        # Shared databases hold sessions other tests backdated: only the idle-session test ends them.
        "TUTOR_SESSION_IDLE_CLOSE_S": "0",
        "TUTOR_DRAIN_GRACE_S": "2",
        "TUTOR_LOG_LEVEL": "INFO",
    }
    running = Stack(gateway_env=env, log_dir=work, dsn=seeded_browser_dsn)
    try:
        running.start_gateway()
        guardrail.wait_ready()
    except BaseException:
        running.close()
        guardrail.stop()
        raise
    try:
        yield running
    finally:
        running.close()
        guardrail.stop()


@pytest.fixture(scope="session")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone plays: one second of silence, looped (a module overrides it to speak)."""
    return write_microphone_wav(tmp_path_factory.mktemp("fake-mic") / "silence.wav", bytes(FAKE_MIC_RATE * 2))


@pytest.fixture(scope="module")
def browser(stack: Stack, chromium_path: Path, microphone: Path) -> Iterator[Any]:
    """One Chromium per test module. Sync Playwright keeps an event loop marked running on this
    thread while it lives, so it must not outlive the module (other tiers call asyncio.run), and
    everything that needs asyncio.run (the stack's set-up) is requested before it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=fake_microphone_args(microphone)
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(stack: Stack, browser: Any) -> Iterator[Any]:
    context = new_context(browser, stack, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
