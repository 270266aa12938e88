"""Dispatching another worker into the student's room (the English handoff out and back).

:class:`AgentDispatcher` is the port the agents use; :class:`LiveKitDispatcher` is the real one (the
LiveKit server API ``AgentDispatchService.CreateDispatch``); tests use
:class:`tutorplane.agent.testing.RecordingDispatcher`.

The request is a ``CreateAgentDispatchRequest`` protobuf message, never keyword arguments: the SDK's
``create_dispatch`` takes the message, and the earlier system's kwargs call failed on every handoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from livekit import api
from tutorplane.agent.metadata import JobMetadata

log = logging.getLogger(__name__)


class DispatchError(RuntimeError):
    """The other worker could not be dispatched; the caller falls back in-session."""


@dataclass(frozen=True, slots=True)
class DispatchReceipt:
    dispatch_id: str
    agent_name: str
    room: str


class AgentDispatcher(Protocol):
    async def dispatch(self, *, agent_name: str, room: str, metadata: JobMetadata) -> DispatchReceipt:
        """Ask LiveKit to start ``agent_name`` in ``room`` with ``metadata``; raise DispatchError on failure."""
        ...

    async def withdraw(self, receipt: DispatchReceipt) -> None:
        """Delete a dispatch no worker has taken; raise DispatchError on failure."""
        ...


class LiveKitDispatcher:
    """Explicit agent dispatch through the LiveKit server API."""

    def __init__(self, url: str, api_key: str, api_secret: str, *, timeout_s: float = 5.0) -> None:
        if not (url and api_key and api_secret):
            raise ValueError(
                "LiveKit dispatch needs TUTOR_LIVEKIT_URL, TUTOR_LIVEKIT_API_KEY and TUTOR_LIVEKIT_API_SECRET"
            )
        self._url = url
        self._api_key = api_key
        self._api_secret = api_secret
        self._timeout_s = timeout_s
        self._lkapi: api.LiveKitAPI | None = None

    def _client(self) -> api.LiveKitAPI:
        # Created lazily inside the job's event loop (aiohttp sessions are loop-bound).
        if self._lkapi is None:
            import aiohttp

            self._lkapi = api.LiveKitAPI(
                self._url,
                self._api_key,
                self._api_secret,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            )
        return self._lkapi

    async def dispatch(self, *, agent_name: str, room: str, metadata: JobMetadata) -> DispatchReceipt:
        request = api.CreateAgentDispatchRequest(
            agent_name=agent_name, room=room, metadata=metadata.to_json()
        )
        try:
            created = await self._client().agent_dispatch.create_dispatch(request)
        except Exception as exc:
            log.warning(
                "agent dispatch failed", extra={"agent_name": agent_name, "room": room, "error": str(exc)}
            )
            raise DispatchError(f"could not dispatch {agent_name!r} into room {room!r}: {exc}") from exc
        return DispatchReceipt(dispatch_id=created.id, agent_name=agent_name, room=room)

    async def withdraw(self, receipt: DispatchReceipt) -> None:
        try:
            await self._client().agent_dispatch.delete_dispatch(receipt.dispatch_id, receipt.room)
        except Exception as exc:
            raise DispatchError(f"could not withdraw dispatch {receipt.dispatch_id}: {exc}") from exc

    async def aclose(self) -> None:
        if self._lkapi is not None:
            await self._lkapi.aclose()
            self._lkapi = None
