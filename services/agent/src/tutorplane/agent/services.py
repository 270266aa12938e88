"""Everything the agents of one session share: settings, model clients, guardrail, router, audit,
events, dispatch and the session state. Built once per job (see :mod:`tutorplane.agent.session`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from tutorplane.agent.audit import AuditSink
from tutorplane.agent.background import BackgroundTasks
from tutorplane.agent.config import AgentSettings
from tutorplane.agent.dispatch import AgentDispatcher
from tutorplane.agent.escalation import Escalations
from tutorplane.agent.events import EventBus
from tutorplane.agent.handoff_targets import HandoffTargets
from tutorplane.agent.partner import PartnerWatch
from tutorplane.agent.providers import ProviderFactory
from tutorplane.agent.speech_guard import SpeechGuard
from tutorplane.agent.state import SessionState
from tutorplane.routing.router import Router


@dataclass
class SessionServices:
    settings: AgentSettings
    state: SessionState
    guard: SpeechGuard
    audit: AuditSink
    events: EventBus
    router: Router | None = None
    dispatcher: AgentDispatcher | None = None
    providers: ProviderFactory | None = None
    # Per-agent LLM overrides (agent key -> LLM): tests script replies here.
    llm_overrides: dict[str, llm.LLM] = field(default_factory=dict)
    # False for console sessions: their ids are not learning sessions, nothing is stored.
    store_rows: bool = True
    tasks: BackgroundTasks = field(default_factory=lambda: BackgroundTasks("session"))
    escalations: Escalations = field(init=False)
    # Agent names handoffs are dispatched to (the pool revision in service).
    targets: HandoffTargets = field(init=False)
    # Agents joining the room (set when there is a room): a handover waits for its partner.
    partner: PartnerWatch | None = None

    def __post_init__(self) -> None:
        if self.providers is None:
            self.providers = ProviderFactory(self.settings)
        self.escalations = Escalations(self.state, self.audit, self.events)
        self.targets = HandoffTargets(self.settings)

    @property
    def persistable(self) -> bool:
        """Rows reference learning_sessions by uuid; a console session stores nothing."""
        if not self.store_rows:
            return False
        try:
            uuid.UUID(self.state.session_id)
        except ValueError:
            return False
        return True

    def llm_for(self, agent_key: str) -> llm.LLM:
        if (override := self.llm_overrides.get(agent_key)) is not None:
            return override
        assert self.providers is not None
        factory = {
            "orchestrator": self.providers.orchestrator_llm,
            "math": self.providers.math_llm,
            "history": self.providers.history_llm,
            "english_fallback": self.providers.english_fallback_llm,
        }.get(agent_key)
        if factory is None:
            raise ValueError(f"no pipeline LLM for agent {agent_key!r}")
        return factory()

    def voice_for(self, agent_key: str) -> str:
        s = self.settings
        return {
            "orchestrator": s.orchestrator_voice,
            "math": s.math_voice,
            "history": s.history_voice,
            "english": s.english_voice,
            "english_fallback": s.english_voice,
        }[agent_key]

    def tts_for(self, agent_key: str) -> Any:
        """The agent's own TTS voice."""
        assert self.providers is not None
        return self.providers.tts(self.voice_for(agent_key))
