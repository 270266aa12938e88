"""Audio between the Realtime session (24 kHz s16le mono PCM) and WebRTC media tracks (48 kHz Opus).

:class:`ResponseAudioTrack` is the outgoing track: it plays queued response audio in real time,
20 ms per frame, silence in between, and reports when a response's audio starts and has played
out. :func:`mic_pcm` turns the decoded frames of the incoming track into the session's PCM.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from .audio import SAMPLE_RATE

TRACK_RATE = 48_000
FRAME_SAMPLES = TRACK_RATE // 50  # 20 ms, Opus's usual packet
_TIME_BASE = fractions.Fraction(1, TRACK_RATE)

# (kind, response_id): "started" when a response's first audio goes out, "stopped" when it has all played.
PlaybackCallback = Callable[[str, str], None]


def upsample_2x(pcm: bytes, previous: int) -> tuple[np.ndarray, int]:
    """24 kHz s16le → 48 kHz int16 by linear interpolation; `previous` is the last input sample
    of the preceding chunk (so chunk borders are as smooth as the inside). Returns (samples, last)."""
    source = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.int32)
    if source.size == 0:
        return np.zeros(0, dtype=np.int16), previous
    before = np.concatenate(([previous], source[:-1]))
    out = np.empty(source.size * 2, dtype=np.int16)
    out[0::2] = (before + source) // 2
    out[1::2] = source
    return out, int(source[-1])


class ResponseAudioTrack(MediaStreamTrack):
    """The emulator's voice: queued response audio, paced in real time, silence when idle."""

    kind = "audio"

    def __init__(self, on_playback: PlaybackCallback | None = None) -> None:
        super().__init__()
        self.on_playback = on_playback
        self._queue: deque[tuple[str, np.ndarray]] = deque()
        self._previous = 0
        self._playing: str | None = None
        self._finished: set[str] = set()
        self._start: float | None = None
        self._pts = 0

    def play(self, response_id: str, pcm: bytes) -> None:
        samples, self._previous = upsample_2x(pcm, self._previous)
        if samples.size:
            self._queue.append((response_id, samples))

    def finish(self, response_id: str) -> None:
        if response_id == self._playing or any(rid == response_id for rid, _ in self._queue):
            self._finished.add(response_id)

    def clear(self) -> None:
        self._queue.clear()
        self._finished.clear()
        self._playing = None
        self._previous = 0

    def _report(self, kind: str, response_id: str) -> None:
        if self.on_playback is not None:
            self.on_playback(kind, response_id)

    def _next_samples(self) -> np.ndarray:
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self._queue:
            response_id, samples = self._queue[0]
            if response_id != self._playing:
                if self._playing is not None:
                    self._report("stopped", self._playing)
                    self._finished.discard(self._playing)
                self._playing = response_id
                self._report("started", response_id)
            take = min(FRAME_SAMPLES - filled, samples.size)
            frame[filled : filled + take] = samples[:take]
            filled += take
            if take == samples.size:
                self._queue.popleft()
            else:
                self._queue[0] = (response_id, samples[take:])
        playing = self._playing
        if (
            playing is not None
            and playing in self._finished
            and not any(rid == playing for rid, _ in self._queue)
        ):
            self._finished.discard(playing)
            self._playing = None
            self._report("stopped", playing)
        return frame

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / TRACK_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame.from_ndarray(self._next_samples().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = TRACK_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        return frame


async def mic_pcm(track: MediaStreamTrack) -> AsyncIterator[bytes]:
    """The incoming audio track as 24 kHz s16le mono PCM chunks, until the track ends."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if not isinstance(frame, av.AudioFrame):
            continue
        for converted in resampler.resample(frame):
            yield converted.to_ndarray().astype("<i2").tobytes()
