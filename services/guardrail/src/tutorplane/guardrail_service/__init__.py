"""Tutorplane guardrail HTTP service: moderation + policy + PII (``create_app``, ``POST /v1/check``)."""

from tutorplane.guardrail_service.app import create_app
from tutorplane.guardrail_service.settings import GuardrailServiceSettings

__all__ = ["GuardrailServiceSettings", "create_app"]
