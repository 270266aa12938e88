"""uvicorn with the stop a pod behind a Service needs.

At the first SIGTERM (or SIGINT) ``on_stop()`` runs at once (readiness turns 503), new requests
are still served for ``settle_s`` (the Service and the ingress stop sending to a terminating pod
only some seconds later; closing the port at once refuses what they still send), then ``drain()``
is awaited (open streams finish), and only then does uvicorn shut down. A second signal stops at
once. The pod's termination grace must cover the settle and the drain.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)


class SettlingServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        *,
        settle_s: float = 0.0,
        on_stop: Callable[[], None] | None = None,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self.settle_s = settle_s
        self._on_stop = on_stop
        self._drain = drain
        self._stopping: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._stopping is not None:
            super().handle_exit(sig, frame)  # a second signal: stop now
            return
        if self._on_stop is not None:
            self._on_stop()
        if self.settle_s <= 0 and self._drain is None:
            super().handle_exit(sig, frame)
            return
        self._stopping = asyncio.get_event_loop().create_task(self._stop(sig, frame))

    async def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.settle_s > 0:
            log.info("stopping: serving new requests for %.0fs more while traffic moves away", self.settle_s)
            await asyncio.sleep(self.settle_s)
        if self._drain is not None:
            await self._drain()
        super().handle_exit(sig, frame)
