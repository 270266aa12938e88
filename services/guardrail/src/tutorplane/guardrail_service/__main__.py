"""``python -m tutorplane.guardrail_service``: serve the guardrail on TUTOR_HOST:TUTOR_PORT (127.0.0.1:8090).

On SIGTERM the service turns not-ready and keeps answering checks for ``drain_settle_s`` while the
Service stops sending it any (a refused check fails closed for audio), then shuts down.
"""

from __future__ import annotations

import sys

import uvicorn
from tutorplane.common.logging import configure_logging
from tutorplane.common.serving import SettlingServer
from tutorplane.common.settings import SettingsError
from tutorplane.guardrail_service.app import create_app
from tutorplane.guardrail_service.settings import GuardrailServiceSettings


def main() -> int:
    try:
        settings = GuardrailServiceSettings()
    except (SettingsError, ValueError) as exc:
        sys.stderr.write(f"tutorplane-guardrail: invalid configuration: {exc}\n")
        return 2
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        # Callers pool connections for up to 60 s; holding them longer here means a caller never
        # picks a connection this side is just closing, and a quiet spell costs no new connects.
        timeout_keep_alive=75,
        timeout_graceful_shutdown=10,
    )

    def on_stop() -> None:
        app.state.guardrail.stopping = True

    SettlingServer(config, settle_s=settings.drain_settle_s, on_stop=on_stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
