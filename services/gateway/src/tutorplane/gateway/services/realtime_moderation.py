"""Version B: moderation of the browser's Realtime transcripts (the OpenAI Agents SDK pattern).

The browser posts transcript deltas as they arrive. Assistant text is accumulated per response in
Redis and checked whenever a sentence completes (and at the end); a flagged sentence answers
``cancel_response`` so the browser sends ``response.cancel`` (audio already played cannot be
recalled: an inherent trade-off of speech-to-speech, reported in the A/B comparison). A finished
student transcription gets the input check. Final texts become transcript turns.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from redis.exceptions import RedisError
from tutorplane.gateway.api.schemas import TranscriptDeltaIn, TranscriptVerdictOut
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.escalation_service import submit_system_escalation
from tutorplane.gateway.services.redis_bus import KEY_PREFIX
from tutorplane.gateway.services.session_directory import SessionInfo, SessionUnavailableError
from tutorplane.guardrail.audit import submit_decision
from tutorplane.guardrail.decision import CheckContext
from tutorplane.guardrail.policy import Action, Direction

BOUNDARY = re.compile(r"[.!?…](?=[\s\"')\]]|$)|\n")
BUFFER_TTL_S = 600
CANCEL_LINE = "Let's pause that and talk about something else."

log = logging.getLogger(__name__)


def _last_boundary(text: str, start: int) -> int:
    end = -1
    for match in BOUNDARY.finditer(text, start):
        end = match.end()
    return end


async def moderate(state: GatewayState, info: SessionInfo, body: TranscriptDeltaIn) -> TranscriptVerdictOut:
    context = CheckContext(session_id=info.id, source="gateway:realtime")
    guardrail = state.pipeline.guardrail
    if body.role == "user":
        if not body.final or not body.delta.strip():
            return TranscriptVerdictOut(action="continue")
        decision = await guardrail.check_input(body.delta, context=context)
        await _store_turn(state, info, speaker="student", role="user", content=decision.text or body.delta)
        if decision.action == Action.allow:
            return TranscriptVerdictOut(action="continue")
        if decision.escalate:
            submit_system_escalation(
                state,
                info,
                reason=f"student said something flagged ({decision.category})",
                source="guardrail",
            )
        return TranscriptVerdictOut(
            action="cancel_response",
            category=decision.category,
            message=decision.safe_line or CANCEL_LINE,
            escalated=decision.escalate,
        )

    key = f"{KEY_PREFIX}rt:{info.id}:{body.response_id}"
    try:
        async with state.redis.pipeline(transaction=False) as pipe:
            pipe.append(key, body.delta.encode())
            pipe.get(key)
            pipe.get(f"{key}:checked")
            pipe.expire(key, BUFFER_TTL_S)
            _, full_raw, checked_raw, _ = await pipe.execute()
        full = (full_raw or b"").decode(errors="replace")
    except (RedisError, OSError):
        # Without the buffer only this delta can be judged; still better than not checking.
        full, checked_raw = body.delta, None
    checked = int(checked_raw or 0)
    end = len(full) if body.final else _last_boundary(full, checked)
    verdict = TranscriptVerdictOut(action="continue")
    if end > checked and full[checked:end].strip():
        segment = full[checked:end].strip()
        (decision,) = await guardrail.checker.check([segment], direction=Direction.output, context=context)
        submit_decision(
            state.audit, decision, direction=Direction.output, context=context, hash_key=guardrail.hash_key
        )
        if decision.action != Action.allow:
            if decision.escalate:
                submit_system_escalation(
                    state, info, reason=f"Realtime answer flagged ({decision.category})", source="guardrail"
                )
            verdict = TranscriptVerdictOut(
                action="cancel_response",
                category=decision.category,
                message=decision.safe_line or CANCEL_LINE,
                escalated=decision.escalate,
            )
        try:
            await state.redis.set(f"{key}:checked", end, ex=BUFFER_TTL_S)
        except (RedisError, OSError):
            pass
    if body.final:
        if full.strip():
            await _store_turn(
                state, info, speaker="english", role="assistant", content=full.strip(), subject="english"
            )
        if body.usage is not None:
            _store_usage(state, info, body)
        try:
            await state.redis.delete(key, f"{key}:checked")
        except (RedisError, OSError):
            pass
    return verdict


async def _store_turn(
    state: GatewayState,
    info: SessionInfo,
    *,
    speaker: str,
    role: str,
    content: str,
    subject: str | None = None,
) -> None:
    try:
        turn_index, _ = await state.sessions.begin_turn(info.id, 0)
    except SessionUnavailableError as exc:
        log.warning(
            "realtime transcript turn not stored: neither Redis nor PostgreSQL answered",
            extra={"session_id": info.id, "speaker": speaker, "error": str(exc)},
        )
        return
    row: dict[str, Any] = {
        "session_id": uuid.UUID(info.id),
        "turn_index": turn_index,
        "speaker": speaker,
        "role": role,
        "content": content[:8000],
    }
    if subject:
        row["subject"] = subject
    state.audit.submit("transcript_turns", row)


def _store_usage(state: GatewayState, info: SessionInfo, body: TranscriptDeltaIn) -> None:
    assert body.usage is not None
    state.audit.submit(
        "provider_usage",
        {
            "session_id": uuid.UUID(info.id),
            "provider": "openai",
            "model": state.settings.realtime_model,
            "input_tokens": body.usage.input_tokens,
            "output_tokens": body.usage.output_tokens,
            "audio_seconds": body.usage.audio_seconds,
            "kind": "realtime",
        },
    )
