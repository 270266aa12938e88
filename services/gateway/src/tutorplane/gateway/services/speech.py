"""Text-to-speech for guarded sentences: OpenAI ``audio.speech`` as 24 kHz s16le mono PCM chunks.

The client is built once at start-up. Chunks are re-cut to whole samples: the first of each
request is small (``chunk_bytes``, 200 ms by default) so speech starts at once, and each following
chunk doubles up to ``max_chunk_bytes`` (1 s). By the time a chunk is cut, the audio already sent
covers at least as long as it does, so the browser never waits on a larger chunk; a ten-sentence
answer goes out in about a dozen audio events instead of forty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openai import AsyncOpenAI

BYTES_PER_SAMPLE = 2


class SpeechSynthesizer:
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        sample_rate: int,
        chunk_bytes: int,
        max_chunk_bytes: int | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self.sample_rate = sample_rate
        self._chunk = chunk_bytes - chunk_bytes % BYTES_PER_SAMPLE
        largest = max(self._chunk, max_chunk_bytes or self._chunk)
        self._max_chunk = largest - largest % BYTES_PER_SAMPLE

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / (BYTES_PER_SAMPLE * self.sample_rate)

    async def stream(self, text: str, voice: str) -> AsyncIterator[bytes]:
        """PCM chunks of ``text`` spoken in ``voice``; raises the SDK's errors."""
        buffer = bytearray()
        size = self._chunk
        async with self._client.audio.speech.with_streaming_response.create(
            model=self.model, voice=voice, input=text, response_format="pcm"
        ) as response:
            async for piece in response.iter_bytes():
                buffer += piece
                while len(buffer) >= size:
                    yield bytes(buffer[:size])
                    del buffer[:size]
                    size = min(size * 2, self._max_chunk)
        usable = len(buffer) - len(buffer) % BYTES_PER_SAMPLE
        if usable:
            yield bytes(buffer[:usable])
