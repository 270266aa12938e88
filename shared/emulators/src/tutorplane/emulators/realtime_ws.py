"""OpenAI Realtime over a websocket: ``GET /v1/realtime?model=...`` (``&intent=transcription``).

Client events arrive as JSON text frames and go to :class:`~.realtime.RealtimeConnection`; audio
travels inside the events (base64 PCM). Browsers cannot set headers on a websocket, so the key is
also accepted from the ``openai-insecure-api-key.<key>`` subprotocol, as the real API does.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from .errors import OPENAI, error_response
from .gate import admit
from .realtime import RealtimeConnection
from .realtime_session import ephemeral_key_problem, session_for_key
from .state import STATE

_KEY_PROTOCOL = "openai-insecure-api-key."
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class _WebSocketEvents:
    """The websocket as the session's event transport."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send_text(self, text: str) -> None:
        await self.ws.send_str(text)


def _ws_key(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith(_KEY_PROTOCOL) and len(protocol) > len(_KEY_PROTOCOL):
            return protocol[len(_KEY_PROTOCOL) :]
    return None


async def realtime_ws(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    key = _ws_key(request)
    if key is None:
        return error_response(
            OPENAI,
            401,
            "Missing API key: send 'Authorization: Bearer <key>' or the "
            "'openai-insecure-api-key.<key>' subprotocol; the emulator accepts any non-empty key.",
        )
    if (problem := ephemeral_key_problem(state, key)) is not None:  # same rule as WebRTC calls
        return error_response(OPENAI, 401, problem)
    model = request.query.get("model")
    intent = request.query.get("intent", "conversation")
    entry = {"type": "websocket.connect", "model": model, "intent": intent}
    if (refused := await admit(request, "realtime", OPENAI, entry)) is not None:
        return refused
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return error_response(
            OPENAI, 400, "GET /v1/realtime is a websocket endpoint: open it with a websocket client."
        )

    session = session_for_key(state, key, "transcription" if intent == "transcription" else "realtime", model)
    ws = web.WebSocketResponse(protocols=("realtime",), max_msg_size=_MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    state.websockets.add(ws)
    connection = RealtimeConnection(_WebSocketEvents(ws), state, session)
    try:
        await connection.open()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await connection.handle(message.data)
            elif message.type == WSMsgType.BINARY:
                await connection.error("Send client events as JSON text frames.", code="invalid_json")
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        await connection.close()
        state.websockets.discard(ws)
    return ws
