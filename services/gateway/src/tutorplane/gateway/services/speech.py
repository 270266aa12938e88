"""Text-to-speech for guarded sentences: OpenAI ``audio.speech`` as 24 kHz s16le mono PCM chunks.

The client is built once at start-up. Chunks are re-cut to a fixed size (whole samples) so the
browser schedules evenly sized buffers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openai import AsyncOpenAI

BYTES_PER_SAMPLE = 2


class SpeechSynthesizer:
    def __init__(self, client: AsyncOpenAI, *, model: str, sample_rate: int, chunk_bytes: int) -> None:
        self._client = client
        self.model = model
        self.sample_rate = sample_rate
        self._chunk = chunk_bytes - chunk_bytes % BYTES_PER_SAMPLE

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / (BYTES_PER_SAMPLE * self.sample_rate)

    async def stream(self, text: str, voice: str) -> AsyncIterator[bytes]:
        """PCM chunks of ``text`` spoken in ``voice``; raises the SDK's errors."""
        buffer = bytearray()
        async with self._client.audio.speech.with_streaming_response.create(
            model=self.model, voice=voice, input=text, response_format="pcm"
        ) as response:
            async for piece in response.iter_bytes():
                buffer += piece
                while len(buffer) >= self._chunk:
                    yield bytes(buffer[: self._chunk])
                    del buffer[: self._chunk]
        usable = len(buffer) - len(buffer) % BYTES_PER_SAMPLE
        if usable:
            yield bytes(buffer[:usable])
