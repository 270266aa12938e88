"""Liveness, readiness and metrics on the worker's health port.

* ``GET /healthz``: the worker process and its event loop answer (liveness). Fails only when the
  LiveKit connection is given up for good, since a restart is then the fix.
* ``GET /readyz``: ready only after LiveKit acknowledged the worker's registration, and not while
  draining or reconnecting. A pod that is not ready receives no new sessions.
* ``GET /metrics``: Prometheus text exposition (aggregated over job processes in multi-process mode).

Probes must target ``127.0.0.1`` or the pod IP, never ``localhost`` (it may resolve to ``::1``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector
from tutorplane.common.metrics import render_latest

log = logging.getLogger(__name__)


@dataclass
class WorkerReadiness:
    """Readiness facts, fed by the worker's events (registration, drain, connection loss)."""

    registered: bool = False
    worker_id: str | None = None
    draining: bool = False
    failed: str | None = None
    # Extra live checks (e.g. "is the LiveKit websocket connected right now"); each returns a
    # reason string when not ready, else None.
    probes: list[Callable[[], str | None]] = field(default_factory=list)

    def mark_registered(self, worker_id: str) -> None:
        self.registered = True
        self.worker_id = worker_id
        log.info("worker registered with LiveKit", extra={"worker_id": worker_id})

    def mark_draining(self) -> None:
        self.draining = True

    def mark_failed(self, reason: str) -> None:
        self.failed = reason

    def reasons(self) -> list[str]:
        out: list[str] = []
        if self.failed:
            out.append(f"failed: {self.failed}")
        if not self.registered:
            out.append("not registered with the LiveKit server yet")
        if self.draining:
            out.append("draining: finishing running sessions, taking no new ones")
        for probe in self.probes:
            try:
                if (reason := probe()) is not None:
                    out.append(reason)
            except Exception as exc:
                out.append(f"probe error: {exc!r}")
        return out

    @property
    def ready(self) -> bool:
        return not self.reasons()

    def attach(self, server: Any) -> None:
        """Follow an ``AgentServer``: registration event, drain flag and connection state."""

        def on_registered(worker_id: str, _server_info: Any = None) -> None:
            self.mark_registered(worker_id)

        server.on("worker_registered", on_registered)

        def livekit_probe() -> str | None:
            # The SDK exposes no public connection flag; these two attributes are the worker's
            # own state (reconnecting after a lost websocket / given up after max_retry).
            if getattr(server, "draining", False):
                return "draining: finishing running sessions, taking no new ones"
            if getattr(server, "_connection_failed", False):
                return "failed: could not reach the LiveKit server after all retries"
            if self.registered and getattr(server, "_connecting", False):
                return "reconnecting to the LiveKit server"
            return None

        self.probes.append(livekit_probe)


def metrics_payload(multiproc_dir: str | None, worker: Collector | None = None) -> bytes:
    """This process's registry (or the aggregate of every job process), plus the live worker gauges."""
    if multiproc_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
        payload = generate_latest(registry)
    else:
        payload = render_latest()
    if worker is not None:
        live = CollectorRegistry()
        live.register(worker)
        payload += generate_latest(live)
    return payload


def build_app(
    readiness: WorkerReadiness, *, multiproc_dir: str | None = None, worker: Collector | None = None
) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        if readiness.failed:
            return web.json_response({"status": "failed", "reason": readiness.failed}, status=503)
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        reasons = readiness.reasons()
        body = {"ready": not reasons, "worker_id": readiness.worker_id, "reasons": reasons}
        return web.Response(
            text=json.dumps(body), status=200 if not reasons else 503, content_type="application/json"
        )

    async def metrics_view(_: web.Request) -> web.Response:
        try:
            payload = metrics_payload(multiproc_dir, worker)
        except Exception:
            log.exception("metrics exposition failed")
            return web.Response(status=500, text="metrics exposition failed; see the worker log")
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


class HealthServer:
    """The aiohttp server for the three routes above."""

    def __init__(
        self,
        readiness: WorkerReadiness,
        *,
        host: str,
        port: int,
        multiproc_dir: str | None = None,
        worker: Collector | None = None,
    ) -> None:
        self.readiness = readiness
        self._host = host
        self._port = port
        self._app = build_app(readiness, multiproc_dir=multiproc_dir, worker=worker)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("health server listening", extra={"host": self._host, "port": self.port})

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
