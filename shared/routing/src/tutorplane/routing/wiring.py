"""Build the configured router: two-stage (default) or function tools, per deployment."""

from __future__ import annotations

from tutorplane.common.settings import ModelSettings
from tutorplane.routing.clients import ProviderClients
from tutorplane.routing.function_tools import FunctionToolRouter
from tutorplane.routing.llm_classifier import LLMClassifier
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.router import AuditSink, Router, TwoStageRouter
from tutorplane.routing.settings import RoutingSettings


def build_router(
    clients: ProviderClients,
    models: ModelSettings,
    routing: RoutingSettings,
    *,
    audit: AuditSink | None = None,
    local: LocalClassifier | None = None,
) -> Router:
    """The router ``routing.routing_strategy`` selects, sharing the given SDK clients."""
    classifier = local or LocalClassifier.load(context_turns=routing.routing_context_turns)
    if routing.routing_strategy == "function_tools":
        return FunctionToolRouter(
            clients.openai,
            model=models.orchestrator_model,
            temperature=models.classifier_temperature,
            timeout_s=routing.routing_llm_timeout_s,
            context_turns=routing.routing_context_turns,
            ages=routing.student_age_range,
            local=classifier,
            audit=audit,
        )
    llm = LLMClassifier(
        clients.anthropic,
        model=models.classifier_model,
        temperature=models.classifier_temperature,
        timeout_s=routing.routing_llm_timeout_s,
        max_tokens=routing.routing_llm_max_tokens,
        context_turns=routing.routing_context_turns,
        ages=routing.student_age_range,
    )
    return TwoStageRouter(classifier, llm, routing.routing_threshold, audit=audit)
