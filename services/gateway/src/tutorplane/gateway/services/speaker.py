"""Speaks released sentences in order, streaming PCM audio events as they are synthesized.

Sentences that are already waiting when a speech request starts go out in it together (up to
``MAX_SENTENCES``/``MAX_CHARS``): with a slow model every sentence is spoken alone as soon as it is
released, with a fast one (or a slow first check that releases several at once) the number of TTS
round trips drops. Speech is streamed, so its first audio comes as soon with nine sentences as with
one: coalescing never delays what the student hears first. A TTS failure ends audio for the turn
(the text still streams) with one ``error`` event.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable

import openai
from tutorplane.gateway.core.metrics import SPEECH_ERRORS
from tutorplane.gateway.services.speech import SpeechSynthesizer
from tutorplane.gateway.services.sse import sse_event

log = logging.getLogger(__name__)

MAX_SENTENCES = 12
MAX_CHARS = 1500  # well under the speech API input limit (4096)
SPEECH_FAILED = "Speech is unavailable right now; the answer is shown as text."


class SentenceSpeaker:
    def __init__(
        self,
        speech: SpeechSynthesizer,
        voice: str,
        emit: Callable[[bytes], None],
        *,
        on_first_audio: Callable[[], object],
        on_usage: Callable[[float], None],
    ) -> None:
        self._speech = speech
        self._voice = voice
        self._emit = emit
        self._on_first_audio = on_first_audio
        self._on_usage = on_usage
        self._queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="tts")
        self._audio_started = False

    def say(self, index: int, text: str) -> None:
        self._queue.put_nowait((index, text))

    async def finish(self) -> None:
        """Speak everything queued, then stop."""
        self._queue.put_nowait(None)
        await self._task

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            batch = [item]
            chars = len(item[1])
            ended = False
            while not self._queue.empty() and len(batch) < MAX_SENTENCES and chars < MAX_CHARS:
                following = self._queue.get_nowait()
                if following is None:
                    ended = True
                    break
                batch.append(following)
                chars += len(following[1])
            try:
                await self._speak(batch)
            except openai.OpenAIError as exc:
                SPEECH_ERRORS.inc()
                log.warning("speech synthesis failed; continuing without audio", extra={"error": repr(exc)})
                self._emit(sse_event("error", {"message": SPEECH_FAILED}))
                return
            if ended:
                return

    async def _speak(self, batch: list[tuple[int, str]]) -> None:
        first, last = batch[0][0], batch[-1][0]
        text = " ".join(t for _, t in batch)
        n_bytes = 0
        seq = 0
        rate = self._speech.sample_rate
        # The frame is assembled by hand: base64 needs no JSON escaping, and json.dumps would scan
        # every byte of every chunk again.
        head = f'event: audio\ndata: {{"index":{first},"through":{last},"sample_rate":{rate},"seq":'.encode()
        async for chunk in self._speech.stream(text, self._voice):
            if not self._audio_started:
                self._audio_started = True
                self._on_first_audio()
            n_bytes += len(chunk)
            self._emit(b"".join((head, str(seq).encode(), b',"pcm":"', base64.b64encode(chunk), b'"}\n\n')))
            seq += 1
        self._on_usage(self._speech.seconds(n_bytes))
