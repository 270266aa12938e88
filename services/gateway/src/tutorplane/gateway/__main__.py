"""``python -m tutorplane.gateway``: serve the gateway with uvicorn (127.0.0.1:8080 by default).

On SIGTERM the replica turns not-ready and keeps serving new requests for ``drain_settle_s`` (until
the Service and the ingress have stopped sending them); then it tells long-lived feeds to reconnect
(to another replica by now) and waits up to ``drain_grace_s`` for open turn streams before uvicorn
shuts down. A second signal stops at once.
"""

from __future__ import annotations

import logging
import sys

import uvicorn
from tutorplane.common.logging import configure_logging
from tutorplane.common.serving import SettlingServer
from tutorplane.common.settings import SettingsError
from tutorplane.gateway.app import create_app
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.services.drain import DrainState

log = logging.getLogger("tutorplane.gateway")


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

    def on_stop() -> None:
        log.info("stopping: not ready; %d open stream(s)", drain.open_streams)
        drain.stop()

    async def drain_streams() -> None:
        log.info(
            "draining: waiting up to %.0fs for %d open stream(s)", settings.drain_grace_s, drain.open_streams
        )
        drain.begin()
        if not await drain.wait_idle(settings.drain_grace_s):
            log.warning("drain grace over with %d stream(s) still open", drain.open_streams)

    server = SettlingServer(config, settle_s=settings.drain_settle_s, on_stop=on_stop, drain=drain_streams)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
