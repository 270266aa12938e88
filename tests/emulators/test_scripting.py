"""Per-test scripting through the Python API and the HTTP control endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from tutorplane.emulators import EmulatorServer, EmulatorThread, Script

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(emulator: EmulatorThread) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0) as c:
        yield c


async def ask(client: openai.AsyncOpenAI, question: str) -> str:
    result = await client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": question}]
    )
    return result.choices[0].message.content or ""


async def test_queued_replies_fifo_match_then_default(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    emulator.script.chat("About Rome.", match="rome")
    emulator.script.chat("One.")
    emulator.script.chat("Two.", usage={"prompt_tokens": 7, "completion_tokens": 3})
    assert await ask(client, "hello") == "One."
    assert await ask(client, "Tell me about ROME") == "About Rome."
    result = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert result.choices[0].message.content == "Two."
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        7,
        3,
        10,
    )  # type: ignore[union-attr]
    assert "offline" in await ask(client, "What is 2 plus 2?")


async def test_fail_429_then_500_then_recovers(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    emulator.script.fail("chat", status=429, retry_after_s=2)
    emulator.script.fail("chat", status=500, times=2)
    with pytest.raises(openai.RateLimitError) as limited:
        await ask(client, "hi")
    assert limited.value.response.headers["retry-after"] == "2"
    assert limited.value.response.headers["retry-after-ms"] == "2000"
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await ask(client, "hi")
    assert await ask(client, "hi")
    assert len(emulator.script.requests("chat")) == 4


async def test_sdk_retries_honour_retry_after(emulator: EmulatorThread) -> None:
    emulator.script.fail("moderations", status=429, retry_after_s=0.01)
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=1) as c:
        result = await c.moderations.create(input="hello")
    assert result.results[0].flagged is False
    retries = [r["_headers"].get("x-stainless-retry-count") for r in emulator.script.requests("moderations")]
    assert retries == ["0", "1"]


async def test_fail_with_status_zero_is_a_timeout_or_a_dropped_connection(emulator: EmulatorThread) -> None:
    async with openai.AsyncOpenAI(
        api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0, timeout=0.3
    ) as c:
        emulator.script.fail("speech", status=0, delay_s=5)
        with pytest.raises(openai.APITimeoutError):
            await c.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="hi")
        emulator.script.fail("chat", status=0)
        with pytest.raises(openai.APIConnectionError):
            await ask(c, "hi")


async def test_latency_delays_every_response(emulator: EmulatorThread) -> None:
    emulator.script.latency("chat", 5)
    async with openai.AsyncOpenAI(
        api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0, timeout=0.2
    ) as c:
        with pytest.raises(openai.APITimeoutError):
            await ask(c, "hi")
        emulator.script.latency("chat", 0)
        assert await ask(c, "hi")


async def test_reset_forgets_everything(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    emulator.script.chat("queued")
    emulator.script.fail("chat", status=500)
    emulator.script.latency("chat", 5)
    emulator.script.reset()
    assert emulator.script.requests("chat") == []
    assert "offline" in await ask(client, "Tell me a joke")


async def test_http_control_endpoints(client: openai.AsyncOpenAI, emulator: EmulatorThread) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        health = await http.get("/_emulator/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        scripted = await http.post(
            "/_emulator/script", json={"op": "chat", "text": "From HTTP.", "match": "http"}
        )
        assert scripted.json() == {"ok": True, "op": "chat"}
        await http.post(
            "/_emulator/script", json={"op": "moderation", "pattern": "lava", "categories": {"violence": 0.9}}
        )
        assert await ask(client, "reply over HTTP please") == "From HTTP."
        flagged = await client.moderations.create(input="hot lava")
        assert flagged.results[0].categories.violence is True

        recorded = await http.get("/_emulator/requests", params={"route": "chat"})
        assert recorded.json()["requests"][-1]["messages"][0]["content"] == "reply over HTTP please"

        bad_op = await http.post("/_emulator/script", json={"op": "explode"})
        assert bad_op.status_code == 400 and "valid ops" in bad_op.json()["error"]
        bad_args = await http.post("/_emulator/script", json={"op": "fail", "route": "nowhere"})
        assert bad_args.status_code == 400 and "valid routes" in bad_args.json()["error"]
        bad_route = await http.get("/_emulator/requests", params={"route": "nowhere"})
        assert bad_route.status_code == 400

        assert (await http.post("/_emulator/reset")).json() == {"ok": True}
        empty = await http.get("/_emulator/requests", params={"route": "chat"})
        assert empty.json()["requests"] == []


async def test_in_loop_server_with_its_own_script() -> None:
    script = Script()
    script.chat("Own script.")
    async with EmulatorServer(host="127.0.0.1", port=0, script=script) as emu:
        assert emu.port > 0 and emu.realtime_base_url == f"ws://127.0.0.1:{emu.port}/v1"
        assert emu.anthropic_base_url == emu.url and emu.openai_base_url == f"{emu.url}/v1"
        async with openai.AsyncOpenAI(api_key="k", base_url=emu.openai_base_url, max_retries=0) as c:
            assert await ask(c, "hi") == "Own script."
        async with httpx.AsyncClient() as http:
            models = await http.get(f"{emu.openai_base_url}/models", headers={"Authorization": "Bearer k"})
            anthropic_models = await http.get(
                f"{emu.url}/v1/models", headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
            )
        assert models.json()["object"] == "list"
        assert anthropic_models.json()["data"][0]["type"] == "model"


async def test_realtime_handshake_failure_and_browser_subprotocol_key(
    client: openai.AsyncOpenAI, emulator: EmulatorThread
) -> None:
    import websockets

    emulator.script.fail("realtime", status=503)
    with pytest.raises(websockets.InvalidStatus) as rejected:
        async with client.realtime.connect(model="gpt-realtime"):
            pass
    assert rejected.value.response.status_code == 503
    with pytest.raises(websockets.InvalidStatus) as no_key:
        async with websockets.connect(f"{emulator.realtime_base_url}/realtime?model=gpt-realtime"):
            pass
    assert no_key.value.response.status_code == 401
    secret = await client.realtime.client_secrets.create(session={"type": "realtime"})
    browser_protocols = ["realtime", f"openai-insecure-api-key.{secret.value}"]  # a key minted here
    async with websockets.connect(
        f"{emulator.realtime_base_url}/realtime?model=gpt-realtime",
        subprotocols=browser_protocols,  # type: ignore[arg-type]
    ) as ws:
        assert ws.subprotocol == "realtime"
        assert '"session.created"' in str(await ws.recv())
