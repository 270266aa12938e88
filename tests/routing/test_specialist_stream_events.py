"""The specialists read provider streams as plain events: framing, usage, and errors inside a stream.

A loopback server speaks the providers' SSE formats (including an ``error`` event after a few
deltas, which the emulators do not script); the real SDK clients talk to it over a socket.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anthropic
import openai
import pytest
from aiohttp import web
from tutorplane.routing.prompts import FALLBACK_MID_ANSWER
from tutorplane.routing.specialists import HistorySpecialist, MathSpecialist
from tutorplane.routing.specialists.sse import sse_event_batches
from tutorplane.routing.types import Usage


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.unit
async def test_events_split_across_reads_and_crlf_framing_are_reassembled() -> None:
    stream = chunks(
        b'event: a\r\ndata: {"x"',
        b': 1}\r\n\r\n: comment\n\nevent: b\ndata: {"y":\ndata: 2}\n\n',
        b"data: [DONE]\n\n",
        b'data: {"tail": true}',
    )
    got = [event async for batch in sse_event_batches(stream) for event in batch]
    assert got == [("a", {"x": 1}), ("b", {"y": 2}), (None, {"tail": True})]


@pytest.mark.unit
async def test_events_completed_by_one_read_come_as_one_batch() -> None:
    stream = chunks(
        b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: {"n"',  # two complete, one started
        b": 3}\n\n",
        b": keep-alive\n\n",  # a read with no event yields nothing
        b'data: {"n": 4}\n\ndata: [DONE]\n\n',
    )
    got = [[data["n"] for _, data in batch] async for batch in sse_event_batches(stream)]
    assert got == [[1, 2], [3], [4]]


def _anthropic_frames(fail_after: int | None) -> list[bytes]:
    def frame(event: str, data: dict[str, object]) -> bytes:
        return f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n".encode()

    out = [
        frame(
            "message_start", {"message": {"id": "msg_1", "usage": {"input_tokens": 42, "output_tokens": 1}}}
        ),
        frame("ping", {}),
        frame("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    words = ["Seven ", "times ", "eight ", "is ", "fifty-six."]
    for i, word in enumerate(words):
        if fail_after is not None and i == fail_after:
            out.append(frame("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}))
            return out
        out.append(frame("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}}))
    out.append(frame("content_block_stop", {"index": 0}))
    out.append(frame("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}))
    out.append(frame("message_stop", {}))
    return out


def _openai_frames(fail_after: int | None) -> list[bytes]:
    out = []
    for i, word in enumerate(["The ", "Magna ", "Carta ", "was ", "sealed in 1215."]):
        if fail_after is not None and i == fail_after:
            out.append(b'data: {"error": {"message": "The server had an error", "type": "server_error"}}\n\n')
            return out
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": word}}],
        }
        out.append(f"data: {json.dumps(chunk)}\n\n".encode())
    usage = {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}
    out.append(f"data: {json.dumps({'id': 'c1', 'choices': [], 'usage': usage})}\n\n".encode())
    out.append(b"data: [DONE]\n\n")
    return out


@pytest.fixture
async def provider() -> AsyncIterator[dict[str, object]]:
    """``state["fail_after"]``: index of the delta replaced by an error event (None: a clean answer)."""
    state: dict[str, object] = {"fail_after": None}

    async def stream(request: web.Request, frames: list[bytes]) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for frame in frames:
            await response.write(frame)
        await response.write_eof()
        return response

    async def messages(request: web.Request) -> web.StreamResponse:
        return await stream(request, _anthropic_frames(state["fail_after"]))  # type: ignore[arg-type]

    async def completions(request: web.Request) -> web.StreamResponse:
        return await stream(request, _openai_frames(state["fail_after"]))  # type: ignore[arg-type]

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state["anthropic"] = anthropic.AsyncAnthropic(
        api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0
    )
    state["openai"] = openai.AsyncOpenAI(api_key="k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    yield state
    await state["anthropic"].close()  # type: ignore[attr-defined]
    await state["openai"].close()  # type: ignore[attr-defined]
    await runner.cleanup()


@pytest.mark.integration
async def test_anthropic_answer_and_usage(provider: dict[str, object]) -> None:
    math = MathSpecialist(provider["anthropic"], model="claude-test")  # type: ignore[arg-type]
    reply = math.stream("What is 7 x 8?", [])
    assert "".join([d async for d in reply]) == "Seven times eight is fifty-six."
    assert reply.usage == Usage("anthropic", "claude-test", 42, 9) and reply.error is None


@pytest.mark.integration
async def test_anthropic_error_event_mid_answer_ends_with_the_apology(provider: dict[str, object]) -> None:
    provider["fail_after"] = 2
    math = MathSpecialist(provider["anthropic"], model="claude-test")  # type: ignore[arg-type]
    reply = math.stream("What is 7 x 8?", [])
    deltas = [d async for d in reply]
    # The text before the error is kept (joined per network read), then the apology.
    assert "".join(deltas[:-1]) == "Seven times " and deltas[-1] == FALLBACK_MID_ANSWER
    assert reply.error == "server_error"


@pytest.mark.integration
async def test_openai_answer_usage_and_error_chunk(provider: dict[str, object]) -> None:
    history = HistorySpecialist(provider["openai"], model="gpt-test")  # type: ignore[arg-type]
    reply = history.stream("When was the Magna Carta sealed?", [])
    assert "".join([d async for d in reply]) == "The Magna Carta was sealed in 1215."
    assert reply.usage == Usage("openai", "gpt-test", 30, 8)
    provider["fail_after"] = 1
    reply = history.stream("When was the Magna Carta sealed?", [])
    assert [d async for d in reply] == ["The ", FALLBACK_MID_ANSWER]
    assert reply.error == "server_error"
