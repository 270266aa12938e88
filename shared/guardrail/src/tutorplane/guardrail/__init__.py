"""Streaming guardrail engine: sentence splitting, pipelined checking, policy, PII masking, HTTP client.

Start with :class:`Guardrail` (``guard.py``); the parts are one strategy per module:
``splitter`` · ``policy`` / ``categories`` · ``pii`` · ``moderation`` (port) with
``openai_moderation`` and ``scripted_moderation`` · ``rewrite`` · ``checker`` (in-process) and
``http_client`` (the guardrail service) · ``pipeline`` (GuardedStream, check_input) · ``audit``.
"""

from tutorplane.guardrail.audit import AuditSink
from tutorplane.guardrail.categories import SEVERE, Category
from tutorplane.guardrail.checker import GuardrailChecker, LocalChecker
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.guard import Guardrail, build_checker
from tutorplane.guardrail.http_client import HttpGuardrailClient
from tutorplane.guardrail.moderation import ModerationClient, ModerationError, ModerationResult
from tutorplane.guardrail.openai_moderation import OpenAIModeration
from tutorplane.guardrail.pii import mask_pii
from tutorplane.guardrail.pipeline import (
    GuardedSentence,
    GuardedStream,
    GuardrailEvent,
    PipelineConfig,
    check_input,
)
from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy
from tutorplane.guardrail.rewrite import OpenAIRewriter, Rewriter
from tutorplane.guardrail.scripted_moderation import ScriptedModeration
from tutorplane.guardrail.splitter import SentenceSplitter, split_sentences

__all__ = [
    "SEVERE",
    "Action",
    "AuditSink",
    "Category",
    "CheckContext",
    "Decision",
    "Direction",
    "GuardedSentence",
    "GuardedStream",
    "Guardrail",
    "GuardrailChecker",
    "GuardrailEvent",
    "GuardrailPolicy",
    "HttpGuardrailClient",
    "LocalChecker",
    "ModerationClient",
    "ModerationError",
    "ModerationResult",
    "OpenAIModeration",
    "OpenAIRewriter",
    "PipelineConfig",
    "Rewriter",
    "ScriptedModeration",
    "SentenceSplitter",
    "build_checker",
    "check_input",
    "mask_pii",
    "split_sentences",
]
