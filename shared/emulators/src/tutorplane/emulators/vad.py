"""Energy-based turn detection standing in for the Realtime API's server VAD.

Audio is cut into 20 ms frames; a frame is speech when its RMS level exceeds a threshold derived
from the session's `threshold` (0..1). Speech starts after ``START_FRAMES`` voiced frames in a
row and stops after ``silence_duration_ms`` of unvoiced frames, like the real server VAD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .audio import BYTES_PER_SAMPLE, rms

FRAME_MS = 20
START_FRAMES = 3
# threshold 0.5 (the API default) maps to an RMS of 0.02 (about -34 dBFS).
_RMS_PER_THRESHOLD = 0.04


@dataclass
class VadEvent:
    kind: str  # "started" | "stopped"
    at_ms: int


@dataclass
class EnergyVad:
    sample_rate: int = 24_000
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200
    _pending: bytearray = field(default_factory=bytearray)
    _elapsed_ms: int = 0
    _voiced_run: int = 0
    _silent_ms: int = 0
    _speaking: bool = False

    @property
    def speaking(self) -> bool:
        return self._speaking

    def push(self, pcm: bytes) -> list[VadEvent]:
        frame_bytes = self.sample_rate * FRAME_MS // 1000 * BYTES_PER_SAMPLE
        self._pending.extend(pcm)
        events: list[VadEvent] = []
        level = max(0.001, self.threshold * _RMS_PER_THRESHOLD)
        while len(self._pending) >= frame_bytes:
            frame = bytes(self._pending[:frame_bytes])
            del self._pending[:frame_bytes]
            self._elapsed_ms += FRAME_MS
            voiced = rms(frame) >= level
            if not self._speaking:
                self._voiced_run = self._voiced_run + 1 if voiced else 0
                if self._voiced_run >= START_FRAMES:
                    self._speaking = True
                    self._silent_ms = 0
                    start = self._elapsed_ms - START_FRAMES * FRAME_MS
                    events.append(VadEvent("started", max(0, start - self.prefix_padding_ms)))
            else:
                self._silent_ms = 0 if voiced else self._silent_ms + FRAME_MS
                if self._silent_ms >= self.silence_duration_ms:
                    self._speaking = False
                    self._voiced_run = 0
                    events.append(VadEvent("stopped", self._elapsed_ms - self._silent_ms))
        return events

    def reset(self) -> None:
        self._pending.clear()
        self._voiced_run = 0
        self._silent_ms = 0
        self._speaking = False
