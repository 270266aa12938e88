"""What the running service holds: the checker it answers with and its readiness."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer
from tutorplane.guardrail.checker import LocalChecker
from tutorplane.guardrail_service.settings import GuardrailServiceSettings


@dataclass
class ServiceState:
    settings: GuardrailServiceSettings
    tracer: Tracer
    checker: LocalChecker | None = None
    ready: bool = False
    # SIGTERM came: still answering checks (the settle), but /readyz says 503 so the pod leaves the
    # Service's endpoints.
    stopping: bool = False
