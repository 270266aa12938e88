"""``python -m tutorplane.gateway``: serve the gateway with uvicorn (127.0.0.1:8080 by default).

On SIGTERM the replica turns not-ready, tells long-lived feeds to reconnect elsewhere, keeps serving
new requests for ``drain_settle_s`` (until the Service and the ingress have stopped sending them),
then waits up to ``drain_grace_s`` for open turn streams before uvicorn shuts down. A second signal
stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from types import FrameType

import uvicorn
from tutorplane.common.logging import configure_logging
from tutorplane.common.settings import SettingsError
from tutorplane.gateway.app import create_app
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.services.drain import DrainState

log = logging.getLogger("tutorplane.gateway")


class DrainingServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, drain: DrainState, grace_s: float, settle_s: float = 0.0
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.grace_s = grace_s
        self.settle_s = settle_s
        self._drain_task: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or (sig == signal.SIGINT and self.grace_s == 0):
            super().handle_exit(sig, frame)
            return
        log.info(
            "draining: not ready; waiting up to %.0fs for %d open stream(s)",
            self.grace_s,
            self.drain.open_streams,
        )
        self.drain.begin()
        loop = asyncio.get_event_loop()
        self._drain_task = loop.create_task(self._finish(sig, frame))

    async def _finish(self, sig: int, frame: FrameType | None) -> None:
        if self.settle_s > 0:
            await asyncio.sleep(self.settle_s)
        drained = await self.drain.wait_idle(self.grace_s)
        if not drained:
            log.warning("drain grace over with %d stream(s) still open", self.drain.open_streams)
        super().handle_exit(sig, frame)


def main() -> int:
    try:
        settings = GatewaySettings()
    except (SettingsError, ValueError) as exc:
        print(f"tutorplane-gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    # One line per model call would drown the request logs; failures are logged where handled.
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    drain = DrainState()
    app = create_app(settings, drain=drain)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_config=None,
        proxy_headers=False,  # ClientIPMiddleware applies the trusted-proxy list itself
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    server = DrainingServer(config, drain, settings.drain_grace_s, settings.drain_settle_s)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
