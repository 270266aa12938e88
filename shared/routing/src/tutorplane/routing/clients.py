"""Provider SDK clients, built once per process and shared by the router and the specialists.

Each client owns an HTTP connection pool; building one per call (as the earlier guardrail did)
costs a TLS handshake per request. Construct :class:`ProviderClients` at start-up, pass it to the
components, and ``await aclose()`` it at shutdown.

Both SDKs run on their aiohttp transport (``DefaultAioHttpClient``, shipped with the SDKs): same
API, same retries and errors, about a quarter of the CPU per request of the default httpx pool,
whose per-request connection scan grows with the pool. The aiohttp session is created on first
use, so a client belongs to the event loop that first calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import anthropic
import openai
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from tutorplane.common.settings import ProviderSettings

# The local emulators accept any non-empty key; this one is used only when a base URL points at
# loopback and no key is configured (offline mode), never for the real providers.
OFFLINE_KEY = "offline-emulator"


class MissingProviderKey(ValueError):
    """A provider key is needed but not configured."""


@dataclass(frozen=True, slots=True)
class ProviderClients:
    openai: AsyncOpenAI
    anthropic: AsyncAnthropic

    async def aclose(self) -> None:
        await self.openai.close()
        await self.anthropic.close()


def _key(secret: object | None, base_url: str | None, offline: bool, variable: str) -> str:
    if secret is not None:
        value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
        if value:
            return str(value)
    if offline and base_url is not None:
        return OFFLINE_KEY
    raise MissingProviderKey(
        f"{variable} is not set: set it, or point the base URL at the local emulator for offline mode"
    )


def build_clients(provider: ProviderSettings, *, max_retries: int | None = None) -> ProviderClients:
    """SDK clients configured from ``provider`` (keys, base URLs, timeout, retries)."""
    retries = provider.model_max_retries if max_retries is None else max_retries
    openai_client = AsyncOpenAI(
        api_key=_key(
            provider.openai_api_key, provider.openai_base_url, provider.offline, "TUTOR_OPENAI_API_KEY"
        ),
        base_url=provider.openai_base_url,
        websocket_base_url=provider.openai_websocket_base_url,
        timeout=provider.model_timeout_s,
        max_retries=retries,
        http_client=openai.DefaultAioHttpClient(timeout=provider.model_timeout_s),
    )
    anthropic_client = AsyncAnthropic(
        api_key=_key(
            provider.anthropic_api_key,
            provider.anthropic_base_url,
            provider.offline,
            "TUTOR_ANTHROPIC_API_KEY",
        ),
        base_url=provider.anthropic_base_url,
        timeout=provider.model_timeout_s,
        max_retries=retries,
        http_client=anthropic.DefaultAioHttpClient(timeout=provider.model_timeout_s),
    )
    return ProviderClients(openai=openai_client, anthropic=anthropic_client)
