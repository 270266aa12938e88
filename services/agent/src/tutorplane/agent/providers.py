"""Model clients for the agents, built from settings (every model id, voice and URL is configuration).

Real plugins only: OpenAI (chat, TTS, STT, Realtime) and Anthropic (chat), pointed at the providers
or at the project's emulators through ``base_url``. Each agent gets its own LLM and its own TTS voice;
the session holds the STT and VAD.

All plugin objects of a process share one OpenAI and one Anthropic SDK client (one connection pool
each; building a client costs an SSL context, ~100+ ms of blocked event loop), created in the job
process's prewarm, and are cached per agent and voice so a handoff builds nothing.
"""

from __future__ import annotations

from typing import Any

# Plugins register themselves on import and the SDK requires that on the main thread: they are
# imported here, at module load, never lazily inside a job.
import openai as openai_sdk
from livekit.agents import llm, stt, tts
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.plugins import anthropic, openai
from openai.types.realtime import AudioTranscription
from pydantic import SecretStr
from tutorplane.agent.config import AgentSettings, LLMProvider
from tutorplane.routing.clients import OFFLINE_KEY

# Raw 24 kHz PCM: no decoder in the audio path and the lowest time to first audio.
TTS_RESPONSE_FORMAT = "pcm"


class ProviderFactory:
    """Creates (once) the LiveKit plugin objects of a job process from :class:`AgentSettings`."""

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self._openai_client: Any = None
        self._anthropic_client: Any = None
        self._cache: dict[str, Any] = {}

    def warm(self) -> ProviderFactory:
        """Create the shared SDK clients now (call it outside the event loop's hot path)."""
        self.openai_client()
        if self._key(self.settings.anthropic_api_key) is not NOT_GIVEN:
            self.anthropic_client()
        return self

    def openai_client(self) -> Any:
        if self._openai_client is None:
            key = self._openai_key()
            self._openai_client = openai_sdk.AsyncClient(
                api_key=key if isinstance(key, str) else None,
                base_url=self.settings.openai_base_url,
                max_retries=0,  # the SDK's conn_options own retries
                timeout=self.settings.model_timeout_s,
            )
        return self._openai_client

    def anthropic_client(self) -> Any:
        if self._anthropic_client is None:
            import anthropic as anthropic_sdk

            key = self._anthropic_key()
            self._anthropic_client = anthropic_sdk.AsyncAnthropic(
                api_key=key if isinstance(key, str) else None,
                base_url=self.settings.anthropic_base_url,
                max_retries=0,
                timeout=self.settings.model_timeout_s,
            )
        return self._anthropic_client

    def _cached(self, key: str, build: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    async def aclose(self) -> None:
        self._cache.clear()
        for client in (self._openai_client, self._anthropic_client):
            if client is not None:
                await client.close()
        self._openai_client = self._anthropic_client = None

    def _key(self, secret: SecretStr | None) -> NotGivenOr[str]:
        if secret is not None and secret.get_secret_value():
            return secret.get_secret_value()
        # The local emulators accept any non-empty key; never used against the real providers.
        return OFFLINE_KEY if self.settings.offline else NOT_GIVEN

    def _openai_key(self) -> NotGivenOr[str]:
        return self._key(self.settings.openai_api_key)

    def _anthropic_key(self) -> NotGivenOr[str]:
        return self._key(self.settings.anthropic_api_key)

    def conn_options(self) -> APIConnectOptions:
        return APIConnectOptions(
            max_retry=self.settings.model_max_retries, timeout=self.settings.model_timeout_s
        )

    def openai_llm(self, model: str, *, temperature: float | None = None) -> llm.LLM:
        return self._cached(
            f"openai-llm:{model}:{temperature}",
            lambda: openai.LLM(
                model=model,
                client=self.openai_client(),
                temperature=temperature if temperature is not None else NOT_GIVEN,
                max_completion_tokens=self.settings.max_answer_tokens,
            ),
        )

    def anthropic_llm(self, model: str, *, temperature: float | None = None) -> llm.LLM:
        return self._cached(
            f"anthropic-llm:{model}:{temperature}",
            lambda: anthropic.LLM(
                model=model,
                api_key=self._anthropic_key(),
                client=self.anthropic_client(),
                temperature=temperature if temperature is not None else NOT_GIVEN,
                max_tokens=self.settings.max_answer_tokens,
            ),
        )

    def orchestrator_llm(self) -> llm.LLM:
        model = self.settings.orchestrator_model
        if self.settings.orchestrator_provider == LLMProvider.anthropic:
            return self.anthropic_llm(model, temperature=0.1)
        return self.openai_llm(model, temperature=0.1)

    def math_llm(self) -> llm.LLM:
        return self.anthropic_llm(self.settings.math_model, temperature=self.settings.math_temperature)

    def history_llm(self) -> llm.LLM:
        return self.openai_llm(self.settings.history_model, temperature=self.settings.history_temperature)

    def english_fallback_llm(self) -> llm.LLM:
        return self.openai_llm(self.settings.english_fallback_model, temperature=0.6)

    def tts(self, voice: str) -> tts.TTS:
        return self._cached(
            f"tts:{voice}",
            lambda: openai.TTS(
                model=self.settings.tts_model,
                voice=voice,
                client=self.openai_client(),
                response_format=TTS_RESPONSE_FORMAT,
            ),
        )

    def stt(self) -> stt.STT:
        return self._cached(
            "stt",
            lambda: openai.STT(model=self.settings.stt_model, client=self.openai_client(), language="en"),
        )

    def realtime_model(self, *, text_only: bool) -> llm.RealtimeModel:
        """The English tutor's Realtime model.

        Instructions are deliberately not passed here: they belong on the ``Agent`` (the model's
        constructor has no such parameter and older SDKs crashed on it).
        """
        key = self._openai_key()
        base = self.settings.realtime_base_url
        kwargs: dict[str, Any] = {}
        if base:
            kwargs["base_url"] = base
        return openai.realtime.RealtimeModel(
            model=self.settings.realtime_model,
            voice=self.settings.english_voice,
            modalities=["text"] if text_only else ["audio"],
            input_audio_transcription=AudioTranscription(model=self.settings.stt_model),
            api_key=key if isinstance(key, str) else None,
            **kwargs,
        )
