"""Whether the worker a student was handed to has come: another agent joining the room.

LiveKit holds a dispatch that no worker takes (every worker of that name full, crashing, or none
registered) instead of refusing it. A session that closed once its transition line was heard would
then leave the student in a silent room. So the handing-over session stays until another agent
joins, and takes the student back if none does within ``handoff_join_timeout_s``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from livekit import rtc


def is_agent(participant: Any) -> bool:
    return getattr(participant, "kind", None) == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


class PartnerWatch:
    """Follows agents joining one room (``participant_connected``)."""

    def __init__(self, room: Any) -> None:
        self._arrived: asyncio.Event | None = None
        room.on("participant_connected", self._on_participant)

    def expect(self) -> None:
        """An agent has just been dispatched here: an agent joining from now on is the one."""
        self._arrived = asyncio.Event()

    async def arrived(self, timeout_s: float) -> bool:
        """True once an agent has joined since :meth:`expect` (waiting up to ``timeout_s``)."""
        if self._arrived is None:
            return False
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def _on_participant(self, participant: Any) -> None:
        if self._arrived is not None and is_agent(participant):
            self._arrived.set()
