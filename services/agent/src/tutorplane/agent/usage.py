"""Provider usage per turn (``provider_usage`` rows), for the cost-per-session side of the A/B report.

The SDK aggregates usage per model over the whole session (``AgentSession.usage``). At each new
student turn, and when the session closes, the growth since the last snapshot is written as rows
for the turn that just ended: model tokens (``chat`` / ``realtime``), TTS characters' tokens and
audio seconds (``tts``), STT audio seconds (``stt``). Fire-and-forget like every audit row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from tutorplane.agent.audit import AuditSink
from tutorplane.agent.state import SessionState
from tutorplane.agent.transcript import is_injected

log = logging.getLogger(__name__)

_KINDS = {"llm_usage": "chat", "tts_usage": "tts", "stt_usage": "stt"}


@dataclass(frozen=True)
class _Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    audio_seconds: float = 0.0


@dataclass
class UsageRecorder:
    state: SessionState
    audit: AuditSink
    persist: bool = True
    realtime: bool = False
    _seen: dict[tuple[str, str, str], _Totals] = field(default_factory=dict)
    _turn: int | None = None
    _session: Any = None

    def attach(self, session: Any) -> None:
        """Attach after the session's TranscriptRecorder (it decides what starts a turn)."""
        self._session = session
        self._turn = self.state.turn_index
        session.on("conversation_item_added", self._on_item)
        session.on("close", lambda _ev: self.flush())

    def _on_item(self, event: Any) -> None:
        item = getattr(event, "item", event)
        if isinstance(item, llm.ChatMessage) and item.role == "user" and not is_injected(item):
            self.flush()  # what was used so far belongs to the turn that just ended
            # The transcript recorder (attached first) has already decided whether this item
            # starts a student turn; follow it rather than deciding twice.
            self._turn = self.state.turn_index

    def flush(self) -> None:
        if self._session is None or not self.persist:
            return
        try:
            models = self._session.usage.model_usage
        except Exception:  # a session that never started has no usage to report
            return
        for usage in models:
            kind = _KINDS.get(getattr(usage, "type", ""))
            if kind is None:
                continue
            if kind == "chat" and self.realtime:
                kind = "realtime"
            key = (kind, str(usage.provider or "unknown"), str(usage.model or "unknown"))
            now = _Totals(
                input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
                output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
                audio_seconds=float(getattr(usage, "audio_duration", 0.0) or 0.0),
            )
            before = self._seen.get(key, _Totals())
            self._seen[key] = now
            delta = _Totals(
                now.input_tokens - before.input_tokens,
                now.output_tokens - before.output_tokens,
                round(now.audio_seconds - before.audio_seconds, 3),
            )
            if delta.input_tokens <= 0 and delta.output_tokens <= 0 and delta.audio_seconds <= 0:
                continue
            row: dict[str, Any] = {
                "session_id": self.state.session_id,
                "provider": key[1],
                "model": key[2],
                "kind": kind,
                "input_tokens": max(0, delta.input_tokens),
                "output_tokens": max(0, delta.output_tokens),
                "audio_seconds": max(0.0, delta.audio_seconds),
            }
            if self._turn is not None:
                row["turn_index"] = self._turn
            try:
                self.audit.submit("provider_usage", row)
            except ValueError:
                log.exception("provider_usage row rejected", extra={"model": key[2]})
