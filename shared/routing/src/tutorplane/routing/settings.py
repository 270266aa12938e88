"""Routing settings: the per-deployment strategy switch, stage-2 threshold and timeouts.

``RoutingSettings`` is a mixin like the ones in ``tutorplane.common.settings``: a service combines
it with ``ServiceSettings``, ``ProviderSettings`` and ``ModelSettings`` into its one settings
class; the operator sets ``TUTOR_ROUTING_*`` from the TutorDeployment spec. Model ids,
temperatures and voices come from ``ModelSettings``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore", populate_by_name=True)

    routing_strategy: Literal["two_stage", "function_tools"] = Field(
        default="two_stage",
        description=(
            "two_stage: local classifier, LLM classifier only when unsure. function_tools: the "
            "orchestrator LLM picks a route_to_<subject> tool (the reference design, version A only)."
        ),
    )
    routing_threshold: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description=(
            "Stage-1 confidence below which the stage-2 LLM classifier is asked. 0.7 keeps ~90% of "
            "turns local on the labelled set; raise it to trade latency and cost for accuracy."
        ),
    )
    routing_context_turns: int = Field(
        default=4, ge=0, le=20, description="Earlier turns the router sees (follow-ups need the last two)."
    )
    routing_llm_timeout_s: float = Field(
        default=2.5,
        gt=0,
        description="Stage-2 budget; on timeout the stage-1 answer is used (a classifier costs a TTFT).",
    )
    routing_llm_max_tokens: int = Field(default=200, gt=0, le=1024)
    specialist_timeout_s: float = Field(
        default=15.0, gt=0, description="Per-request timeout of a specialist stream (connect and each read)."
    )
    specialist_context_turns: int = Field(
        default=8, ge=0, le=40, description="Earlier turns sent to a specialist with the question."
    )
    student_age_range: str = Field(default="8-16", description="Stated in every system prompt.")
