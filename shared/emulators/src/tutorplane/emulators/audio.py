"""Speech-like audio for the emulators: 24 kHz s16le mono PCM whose length follows the text.

Each word becomes one voiced segment (a harmonic tone with a syllable envelope and a falling
pitch across the sentence) followed by a short gap, so the audio has real energy, real pauses
and a duration of about ``MS_PER_WORD`` per word. It is deterministic: the same text and voice
always give the same bytes.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import wave
from collections.abc import Iterator

import numpy as np

from .offline import stable_hash

SAMPLE_RATE = 24_000
BYTES_PER_SAMPLE = 2
MS_PER_WORD = 60
_VOICED_FRACTION = 0.8
_AMPLITUDE = 0.3 * 32767
_VOICE_PITCH_HZ = {
    "alloy": 180.0,
    "ash": 130.0,
    "ballad": 150.0,
    "coral": 210.0,
    "echo": 115.0,
    "fable": 160.0,
    "onyx": 100.0,
    "nova": 220.0,
    "sage": 200.0,
    "shimmer": 230.0,
    "verse": 140.0,
    "marin": 205.0,
    "cedar": 125.0,
}
_WORD = re.compile(r"\S+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def voice_pitch(voice: str) -> float:
    return _VOICE_PITCH_HZ.get(voice.lower(), 110.0 + stable_hash(voice) % 120)


def samples_per_word(sample_rate: int = SAMPLE_RATE, speed: float = 1.0) -> int:
    speed = min(4.0, max(0.25, speed))
    return int(sample_rate * MS_PER_WORD / 1000 / speed)


def _segment(word: str, position: float, pitch: float, n: int, sample_rate: int) -> np.ndarray:
    voiced = int(n * _VOICED_FRACTION)
    t = np.arange(voiced) / sample_rate
    # Declination: pitch falls ~20 % across the utterance; each word gets a small deterministic lift.
    f0 = pitch * (1.0 - 0.2 * position) * (1.0 + (stable_hash(word) % 9 - 4) / 100)
    tone = sum((1.0 / k) * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 7))
    envelope = np.sin(np.pi * np.arange(voiced) / max(1, voiced - 1)) ** 0.5
    segment = np.zeros(n, dtype=np.float64)
    segment[:voiced] = tone * envelope / 2.45
    return segment


def word_segments(
    text: str, *, voice: str = "alloy", speed: float = 1.0, sample_rate: int = SAMPLE_RATE
) -> list[tuple[str, bytes]]:
    """(word, PCM bytes) for every word, in order; the PCM of a word has a fixed length."""
    words = words_of(text) or [""]
    n = samples_per_word(sample_rate, speed)
    pitch = voice_pitch(voice)
    out: list[tuple[str, bytes]] = []
    for index, word in enumerate(words):
        position = index / max(1, len(words) - 1)
        samples = _segment(word, position, pitch, n, sample_rate) if word else np.zeros(n)
        pcm = np.clip(samples * _AMPLITUDE, -32768, 32767).astype("<i2").tobytes()
        out.append((word, pcm))
    return out


@functools.lru_cache(maxsize=512)
def synthesize(
    text: str, *, voice: str = "alloy", speed: float = 1.0, sample_rate: int = SAMPLE_RATE
) -> bytes:
    """Raw PCM (s16le mono) for the whole text (deterministic, so repeated texts come from a cache:
    a load test repeats its answers and should measure the server under test, not this synthesis)."""
    return b"".join(pcm for _, pcm in word_segments(text, voice=voice, speed=speed, sample_rate=sample_rate))


def wav_header(data_bytes: int, *, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    """A 44-byte RIFF/WAVE header for 16-bit PCM with the exact data length."""
    byte_rate = sample_rate * channels * BYTES_PER_SAMPLE
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, byte_rate, channels * BYTES_PER_SAMPLE, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def to_wav(pcm: bytes, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    return wav_header(len(pcm), sample_rate=sample_rate) + pcm


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def decode_upload(data: bytes) -> tuple[bytes, int] | None:
    """(PCM s16le mono, sample rate) from a WAV upload; None for formats the emulator cannot read."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if wav.getsampwidth() != BYTES_PER_SAMPLE:
                return None
            frames = wav.readframes(wav.getnframes())
            channels, rate = wav.getnchannels(), wav.getframerate()
    except (wave.Error, EOFError):
        return None
    if channels > 1:
        samples = np.frombuffer(frames[: len(frames) // (2 * channels) * 2 * channels], dtype="<i2")
        frames = samples.reshape(-1, channels).mean(axis=1).astype("<i2").tobytes()
    return frames, rate


def rms(pcm: bytes) -> float:
    """Root-mean-square level of s16le PCM, 0..1."""
    usable = len(pcm) - len(pcm) % 2
    if usable == 0:
        return 0.0
    samples = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64) / 32768.0
    return float(np.sqrt(np.mean(samples * samples)))


def duration_s(pcm_bytes: int, sample_rate: int = SAMPLE_RATE) -> float:
    return pcm_bytes / (sample_rate * BYTES_PER_SAMPLE)
