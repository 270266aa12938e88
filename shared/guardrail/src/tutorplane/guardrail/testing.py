"""pytest plugin with guardrail fixtures for every team (registered by tests/conftest.py).

* ``scripted_moderation``  a :class:`ScriptedModeration` (no latency; script it per test)
* ``guardrail_policy``     the default :class:`GuardrailPolicy`
* ``local_checker``        an in-process checker over ``scripted_moderation``
* ``audit_sink``           a :class:`RecordingAuditSink` that validates rows like the real writer
* ``guardrail_events``     a :class:`RecordingHook` collecting :class:`GuardrailEvent` objects
* ``guardrail_service``    (session) the real guardrail service on loopback, backed by the
                           ``emulator`` fixture (real openai SDK over HTTP); yields a :class:`RunningService`

Helpers: :func:`scripted_deltas` (a model stream with scripted timing), :class:`ScriptedRewriter`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail.pipeline import GuardrailEvent
from tutorplane.guardrail.policy import GuardrailPolicy
from tutorplane.guardrail.rewrite import RewriteError
from tutorplane.guardrail.scripted_moderation import ScriptedModeration


async def scripted_deltas(
    parts: Sequence[str],
    *,
    delay_s: float = 0.0,
    first_delay_s: float = 0.0,
    pauses: dict[int, float] | None = None,
) -> AsyncIterator[str]:
    """Yield ``parts`` as a model would: ``delay_s`` between parts, optional longer ``pauses[i]`` before part i."""
    if first_delay_s:
        await asyncio.sleep(first_delay_s)
    for i, part in enumerate(parts):
        wait = (pauses or {}).get(i, delay_s if i else 0.0)
        if wait:
            await asyncio.sleep(wait)
        yield part


@dataclass
class ScriptedRewriter:
    """Rewrites to ``text`` (after ``latency_s``), or raises when ``text`` is None."""

    text: str | None = "Let's talk about how people solved this problem peacefully."
    latency_s: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def rewrite(self, text: str, *, categories: Sequence[str], age_band: str | None) -> str:
        self.calls.append({"text": text, "categories": list(categories), "age_band": age_band})
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.text is None:
            raise RewriteError("scripted rewrite failure")
        return self.text

    async def aclose(self) -> None:
        return None


@dataclass
class RecordingAuditSink:
    """Collects rows; validates them with the data layer's rules when it is installed."""

    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def submit(self, table: str, row: dict[str, Any]) -> None:
        try:
            from tutorplane.db.tables import validate_row
        except ImportError:  # pragma: no cover - the data layer is a dependency of this package
            pass
        else:
            validate_row(table, row)
        self.rows.append((table, dict(row)))

    def of(self, table: str) -> list[dict[str, Any]]:
        return [row for name, row in self.rows if name == table]


@dataclass
class RecordingHook:
    events: list[GuardrailEvent] = field(default_factory=list)

    def __call__(self, event: GuardrailEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


@dataclass(frozen=True)
class RunningService:
    url: str
    settings: Any  # GuardrailServiceSettings
    emulator: Any  # tutorplane.emulators.EmulatorThread


@pytest.fixture
def scripted_moderation() -> ScriptedModeration:
    return ScriptedModeration()


@pytest.fixture
def guardrail_policy() -> GuardrailPolicy:
    return GuardrailPolicy()


@pytest.fixture
def local_checker(scripted_moderation: ScriptedModeration, guardrail_policy: GuardrailPolicy) -> LocalChecker:
    return LocalChecker(scripted_moderation, guardrail_policy, rewriter=ScriptedRewriter())


@pytest.fixture
def audit_sink() -> RecordingAuditSink:
    return RecordingAuditSink()


@pytest.fixture
def guardrail_events() -> RecordingHook:
    return RecordingHook()


@pytest.fixture(scope="session")
def guardrail_service(emulator: Any) -> Iterator[RunningService]:
    """The guardrail service (uvicorn on 127.0.0.1) talking to the emulator with the real openai SDK."""
    try:
        from tutorplane.common.settings import Environment
        from tutorplane.guardrail_service.app import create_app
        from tutorplane.guardrail_service.settings import GuardrailServiceSettings
        from tutorplane.guardrail_service.testing import ServiceThread
    except ImportError:
        pytest.skip("tutorplane-guardrail-service is not installed (pip install -e services/guardrail)")
    settings = GuardrailServiceSettings(
        environment=Environment.test,
        openai_base_url=emulator.openai_base_url,
        moderation_timeout_s=0.5,
        rewrite_timeout_s=1.0,
        log_json=False,
    )
    with ServiceThread(create_app(settings)) as service:
        yield RunningService(url=service.url, settings=settings, emulator=emulator)
