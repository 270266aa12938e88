"""Graceful shutdown: after SIGTERM the replica reports not-ready (``stopping``) and keeps serving
through the settle; then (``draining``) long-lived feeds are told to reconnect elsewhere, which by
now means another replica, and open turn streams get ``drain_grace_s`` to finish before the server
exits.
"""

from __future__ import annotations

import asyncio
import time


class DrainState:
    def __init__(self) -> None:
        self.stopping = False
        self.draining = False
        self.started_at: float | None = None
        self.open_streams = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def stop(self) -> None:
        """SIGTERM: not ready any more; requests are still served."""
        self.stopping = True

    def begin(self) -> None:
        """Traffic has moved away: feeds are told to reconnect, open streams are waited for."""
        self.stopping = True
        if not self.draining:
            self.draining = True
            self.started_at = time.monotonic()

    def stream_opened(self) -> None:
        self.open_streams += 1
        self._idle.clear()

    def stream_closed(self) -> None:
        self.open_streams = max(0, self.open_streams - 1)
        if self.open_streams == 0:
            self._idle.set()

    async def wait_idle(self, grace_s: float) -> bool:
        """True when every stream ended within ``grace_s`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            return False
        return True
