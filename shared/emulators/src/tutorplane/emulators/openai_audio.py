"""OpenAI ``POST /v1/audio/speech`` (real PCM/WAV audio) and ``POST /v1/audio/transcriptions``.

Speech: ``pcm`` is raw 24 kHz s16le mono; every other format is answered as WAV with
``Content-Type: audio/wav`` (the emulator does not encode mp3/opus/aac/flac), which clients that
decode by content type (the LiveKit plugin does) play as-is. ``stream_format=sse`` is honoured for
``pcm`` and ``wav``.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from aiohttp import web

from . import audio
from .errors import OPENAI, BadRequest, bad_request
from .gate import admit, missing_key, read_json
from .offline import DEFAULT_TRANSCRIPT
from .state import STATE
from .wire import estimate_tokens, new_id, send_sse, start_sse, start_stream, text_chunks

SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
TRANSCRIPTION_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
_CHUNK_BYTES = audio.SAMPLE_RATE * audio.BYTES_PER_SAMPLE // 10  # 100 ms
_SILENCE_RMS = 0.005


def _speech_params(body: dict[str, Any]) -> tuple[str, str, str, float, str]:
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Missing required parameter: 'input' (the text to speak).", param="input")
    if len(text) > 4096:
        raise BadRequest("'input' is longer than 4096 characters.", param="input")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("Missing required parameter: 'model'.", param="model")
    voice = body.get("voice")
    if isinstance(voice, dict):
        voice = voice.get("id")
    if not isinstance(voice, str) or not voice:
        raise BadRequest("Missing required parameter: 'voice'.", param="voice")
    response_format = body.get("response_format") or "mp3"
    if response_format not in SPEECH_FORMATS:
        raise BadRequest(
            f"Invalid 'response_format': use one of {list(SPEECH_FORMATS)}.", param="response_format"
        )
    try:
        raw_speed = body.get("speed")
        speed = 1.0 if raw_speed is None else float(raw_speed)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'speed' must be a number between 0.25 and 4.0.", param="speed") from exc
    if not 0.25 <= speed <= 4.0:
        raise BadRequest("'speed' must be between 0.25 and 4.0.", param="speed")
    stream_format = body.get("stream_format") or "audio"
    if stream_format not in ("audio", "sse"):
        raise BadRequest("Invalid 'stream_format': use 'audio' or 'sse'.", param="stream_format")
    return text, voice, response_format, speed, stream_format


async def speech(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, OPENAI)) is not None:
        return denied
    try:
        body = await read_json(request)
        if (answered := await admit(request, "speech", OPENAI, body)) is not None:
            return answered
        text, voice, response_format, speed, stream_format = _speech_params(body)
    except BadRequest as exc:
        return bad_request(OPENAI, exc.message, param=exc.param)

    pcm = audio.synthesize(text, voice=voice, speed=speed)
    payload = pcm if response_format == "pcm" else audio.to_wav(pcm)
    headers = {"x-request-id": new_id("req_")}
    if stream_format == "sse" and response_format in ("pcm", "wav"):
        response = await start_sse(request, headers)
        for piece in audio.chunks(payload, _CHUNK_BYTES):
            await send_sse(
                response, {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}
            )
            await asyncio.sleep(0)
        tokens_in = estimate_tokens(text)
        tokens_out = len(pcm) // 960  # ~20 ms of audio per output token
        await send_sse(
            response,
            {
                "type": "speech.audio.done",
                "usage": {
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                },
            },
        )
        await response.write_eof()
        return response

    content_type = "audio/pcm" if response_format == "pcm" else "audio/wav"
    if response_format not in ("pcm", "wav"):
        headers["x-emulator-note"] = (
            f"{response_format} requested; answered as WAV (the emulator does not encode it)"
        )
    response = web.StreamResponse(status=200, headers={"Content-Type": content_type, **headers})
    response.content_length = len(payload)
    await start_stream(request, response)
    for piece in audio.chunks(payload, _CHUNK_BYTES):
        await response.write(piece)
        await asyncio.sleep(0)
    await response.write_eof()
    return response


def heard_text(data: bytes, scripted: str | None) -> tuple[str, float]:
    """(transcript, duration in seconds) for uploaded audio."""
    decoded = audio.decode_upload(data)
    if decoded is None:
        duration = len(data) / 16_000  # unknown codec: assume ~128 kbit/s
        return (scripted if scripted is not None else DEFAULT_TRANSCRIPT), round(duration, 3)
    pcm, rate = decoded
    duration = audio.duration_s(len(pcm), rate)
    if scripted is not None:
        return scripted, round(duration, 3)
    return ("" if audio.rms(pcm) < _SILENCE_RMS else DEFAULT_TRANSCRIPT), round(duration, 3)


def _timestamp(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02}:{ms // 60_000 % 60:02}:{ms // 1000 % 60:02}{separator}{ms % 1000:03}"


async def transcriptions(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, OPENAI)) is not None:
        return denied
    try:
        form = await request.post()
    except ValueError as exc:
        return bad_request(OPENAI, f"Send the audio as multipart/form-data ({exc}).")
    upload = form.get("file")
    data = upload.file.read() if isinstance(upload, web.FileField) else b""
    fields: dict[str, Any] = {k: str(v) for k, v in form.items() if not isinstance(v, web.FileField)}
    if isinstance(upload, web.FileField):
        fields.update(filename=upload.filename, file_content_type=upload.content_type)
    fields["file_bytes"] = len(data)
    if (answered := await admit(request, "transcriptions", OPENAI, fields)) is not None:
        return answered
    if not data:
        return bad_request(
            OPENAI, "Missing required parameter: 'file' (the audio to transcribe).", param="file"
        )
    model = fields.get("model")
    if not model:
        return bad_request(OPENAI, "Missing required parameter: 'model'.", param="model")
    response_format = fields.get("response_format") or "json"
    if response_format not in TRANSCRIPTION_FORMATS:
        return bad_request(
            OPENAI,
            f"Invalid 'response_format': use one of {list(TRANSCRIPTION_FORMATS)}.",
            param="response_format",
        )

    text, duration = heard_text(data, request.app[STATE].script.take_transcription())
    language = fields.get("language") or "en"
    headers = {"x-request-id": new_id("req_")}
    tokens_in, tokens_out = max(1, round(duration * 10)), estimate_tokens(text)
    token_usage = {
        "type": "tokens",
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "input_token_details": {"text_tokens": 0, "audio_tokens": tokens_in},
    }
    if fields.get("stream") == "true" and model != "whisper-1":
        response = await start_sse(request, headers)
        for piece in text_chunks(text):
            await send_sse(response, {"type": "transcript.text.delta", "delta": piece})
        await send_sse(response, {"type": "transcript.text.done", "text": text, "usage": token_usage})
        await response.write_eof()
        return response
    if response_format == "text":
        return web.Response(text=text + "\n", content_type="text/plain", headers=headers)
    if response_format in ("srt", "vtt"):
        sep = "," if response_format == "srt" else "."
        cue = f"{_timestamp(0, sep)} --> {_timestamp(duration, sep)}\n{text}\n"
        body = f"1\n{cue}" if response_format == "srt" else f"WEBVTT\n\n{cue}"
        return web.Response(text=body, content_type="text/plain", headers=headers)
    if response_format == "verbose_json":
        words = text.split()
        step = duration / max(1, len(words))
        return web.json_response(
            {
                "task": "transcribe",
                "language": "english" if language.startswith("en") else language,
                "duration": duration,
                "text": text,
                "words": [
                    {"word": w, "start": round(i * step, 3), "end": round((i + 1) * step, 3)}
                    for i, w in enumerate(words)
                ],
                "segments": [
                    {
                        "id": 0,
                        "seek": 0,
                        "start": 0.0,
                        "end": duration,
                        "text": text,
                        "tokens": [],
                        "temperature": 0.0,
                        "avg_logprob": -0.1,
                        "compression_ratio": 1.0,
                        "no_speech_prob": 0.01,
                    }
                ],
                "usage": {"type": "duration", "seconds": duration},
            },
            headers=headers,
        )
    usage: dict[str, Any] = {"type": "duration", "seconds": duration} if model == "whisper-1" else token_usage
    return web.json_response({"text": text, "usage": usage}, headers=headers)
