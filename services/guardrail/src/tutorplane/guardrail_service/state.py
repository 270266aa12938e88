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
