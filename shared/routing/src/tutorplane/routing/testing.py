"""pytest plugin with routing fixtures for every team (registered by the repository's conftest).

* ``routing_local`` (session): the shipped stage-1 classifier.
* ``routing_examples`` (session): the labelled routing set.
* ``emulator_clients``: real ``AsyncOpenAI``/``AsyncAnthropic`` clients pointed at the ``emulator``
  fixture (no retries, short timeout), closed after the test.
* ``two_stage_router``: a ``TwoStageRouter`` whose stage 2 talks to the emulator.
* ``routing_specialists``: every specialist, built from default settings around ``emulator_clients``.

The ``emulator`` fixture comes from ``tutorplane.emulators.testing``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr
from tutorplane.common.settings import ModelSettings, ProviderSettings
from tutorplane.routing.clients import ProviderClients, build_clients
from tutorplane.routing.dataset import Example, load_examples
from tutorplane.routing.llm_classifier import LLMClassifier
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.router import TwoStageRouter
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.specialists.registry import Specialists, build_specialists

TEST_TIMEOUT_S = 3.0


def emulator_provider_settings(emulator: Any, *, timeout_s: float = TEST_TIMEOUT_S) -> ProviderSettings:
    """Provider settings pointing both SDKs at a running emulator."""
    return ProviderSettings(
        openai_base_url=emulator.openai_base_url,
        openai_websocket_base_url=emulator.realtime_base_url,
        anthropic_base_url=emulator.anthropic_base_url,
        openai_api_key=SecretStr("test-key"),
        anthropic_api_key=SecretStr("test-key"),
        model_timeout_s=timeout_s,
        model_max_retries=0,
    )


@pytest.fixture(scope="session")
def routing_local() -> LocalClassifier:
    return LocalClassifier.load()


@pytest.fixture(scope="session")
def routing_examples() -> list[Example]:
    return load_examples()


@pytest_asyncio.fixture
async def emulator_clients(emulator: Any) -> AsyncIterator[ProviderClients]:
    clients = build_clients(emulator_provider_settings(emulator))
    try:
        yield clients
    finally:
        await clients.aclose()


@pytest.fixture
def two_stage_router(routing_local: LocalClassifier, emulator_clients: ProviderClients) -> TwoStageRouter:
    llm = LLMClassifier(
        emulator_clients.anthropic, model=ModelSettings().classifier_model, timeout_s=TEST_TIMEOUT_S
    )
    return TwoStageRouter(routing_local, llm, RoutingSettings().routing_threshold)


@pytest.fixture
def routing_specialists(emulator_clients: ProviderClients) -> Specialists:
    return build_specialists(
        emulator_clients, ModelSettings(), RoutingSettings(specialist_timeout_s=TEST_TIMEOUT_S)
    )
