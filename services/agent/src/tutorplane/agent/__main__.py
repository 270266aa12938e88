"""``python -m tutorplane.agent <command>`` (also the ``tutorplane-agent`` script).

* ``start``: production worker (registers with LiveKit, health server, drain on SIGTERM).
* ``console [--text]``, ``dev``, ``connect``: the LiveKit SDK's developer commands on the same
  worker (``console --text`` needs no LiveKit server).
"""

from __future__ import annotations

import asyncio
import os
import sys


def _prepare_metrics_dir() -> None:
    # prometheus_client picks its multi-process mode when first imported, so the directory is
    # exported before anything imports it (job processes inherit it).
    directory = os.environ.get("TUTOR_METRICS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", directory)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _prepare_metrics_dir()
    from tutorplane.agent.config import AgentSettings
    from tutorplane.common.logging import configure_logging
    from tutorplane.common.telemetry import setup_tracing

    settings = AgentSettings()
    if argv[:1] == ["start"]:
        if not settings.livekit_configured():
            print(
                "tutorplane-agent start needs a LiveKit server: set TUTOR_LIVEKIT_URL, TUTOR_LIVEKIT_API_KEY and "
                "TUTOR_LIVEKIT_API_SECRET (or LIVEKIT_URL/LIVEKIT_API_KEY/LIVEKIT_API_SECRET). "
                "Without one, try `python -m tutorplane.agent console --text`.",
                file=sys.stderr,
            )
            return 2
        from tutorplane.agent.worker import run_worker

        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        setup_tracing(settings)
        return asyncio.run(run_worker(settings))
    from livekit.agents import cli
    from tutorplane.agent.worker import build_server

    sys.argv = [sys.argv[0], *argv]
    cli.run_app(build_server(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
