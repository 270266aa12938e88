"""Server-wide state shared by the route handlers of one emulator app."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .script import Script

if TYPE_CHECKING:
    from .realtime_webrtc import RealtimeCall


@dataclass
class MintedSecret:
    expires_at: int
    session: dict[str, Any]

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class EmulatorState:
    script: Script
    # Realtime ephemeral keys minted by POST /v1/realtime/client_secrets (value -> secret).
    secrets: dict[str, MintedSecret] = field(default_factory=dict)
    websockets: set[web.WebSocketResponse] = field(default_factory=set)
    # WebRTC calls answered by POST /v1/realtime/calls (call id -> call), closed on shutdown.
    calls: dict[str, RealtimeCall] = field(default_factory=dict)


STATE = web.AppKey("tutorplane_emulator_state", EmulatorState)
