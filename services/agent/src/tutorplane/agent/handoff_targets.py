"""Where a handoff goes: the agent names of the pool revision in service.

A worker registers under its own revision's name. Once a newer revision is ready, the old
revision's workers drain: they finish the sessions they have, but LiveKit gives them no new jobs.
A handoff (to English, or back to the pipeline) dispatched to the old revision's partner would
reach nobody and leave the student in a silent room. The operator publishes the names of the
revision in service (``agentNames.A`` and ``englishAgentNames.A`` of the variant config); handoffs
go there. Without a published config (local runs, tests) the worker's own names are used.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tutorplane.agent.config import AgentSettings
from tutorplane.common.variants import VariantConfig, VariantConfigSource

_UNPUBLISHED = VariantConfig(weights={"A": 100})


@functools.cache
def _source(path: Path) -> VariantConfigSource:
    """One watcher per file and process: every session of a worker shares it."""
    return VariantConfigSource(path, _UNPUBLISHED)


class HandoffTargets:
    def __init__(self, settings: AgentSettings, source: VariantConfigSource | None = None) -> None:
        self._settings = settings
        path = settings.variant_config_path
        self._source = source or (_source(path) if path is not None else None)

    def _published(self) -> VariantConfig:
        return self._source.current() if self._source is not None else _UNPUBLISHED

    def pipeline(self) -> str:
        """The pipeline worker a student goes back to from English."""
        return self._published().agent_names.get("A") or self._settings.pipeline_agent_name

    def english(self) -> str:
        """The English Realtime worker the orchestrator hands English questions to."""
        return self._published().english_agent_names.get("A") or self._settings.english_agent_name
