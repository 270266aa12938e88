"""Audit rows for guardrail decisions (table ``guardrail_events``), submitted fire-and-forget.

The sink is anything with ``submit(table, row) -> None`` that never blocks (``tutorplane.db``'s
``AuditWriter``). Rows carry a hash of the sentence and a short PII-masked excerpt, never the raw
text. With a hash key the hash is an HMAC, so a guessed sentence cannot be confirmed from the table.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Protocol, runtime_checkable

from tutorplane.common.metrics import counter
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.pii import masked_excerpt
from tutorplane.guardrail.policy import Action, Direction

log = logging.getLogger(__name__)

TABLE = "guardrail_events"
EXCERPT_CHARS = 200

AUDIT_SUBMIT_ERRORS = counter(
    "tutorplane_guardrail_audit_submit_errors_total", "Audit rows the sink refused at submit time."
)


@runtime_checkable
class AuditSink(Protocol):
    def submit(self, table: str, row: dict[str, Any]) -> None: ...


def sentence_hash(text: str, key: bytes | None = None) -> str:
    data = text.encode("utf-8")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def should_audit(decision: Decision) -> bool:
    """Every non-allow decision, every moderation flag, and every sentence released unchecked."""
    return decision.action != Action.allow or decision.flagged or decision.unchecked


def guardrail_event_row(
    decision: Decision, *, direction: Direction, context: CheckContext, hash_key: bytes | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "direction": direction.value,
        "score": min(1.0, max(0.0, float(decision.score))),
        "action": decision.action.value,
        "sentence_hash": sentence_hash(decision.original, hash_key),
        "excerpt": masked_excerpt(decision.original, EXCERPT_CHARS),
        "source": context.source,
        "fail_closed": decision.fail_closed,
    }
    # Absent columns take the table's defaults (category 'none' when nothing fired or nothing
    # was known; session_id NULL outside a learning session).
    if decision.category is not None:
        row["category"] = decision.category
    if context.session_id is not None:
        row["session_id"] = context.session_id
    return row


def submit_decision(
    sink: AuditSink | None,
    decision: Decision,
    *,
    direction: Direction,
    context: CheckContext,
    hash_key: bytes | None = None,
) -> None:
    """Hand the row to the sink when the decision is auditable. Never raises, never awaits."""
    if sink is None or not should_audit(decision):
        return
    try:
        sink.submit(
            TABLE, guardrail_event_row(decision, direction=direction, context=context, hash_key=hash_key)
        )
    except Exception:
        AUDIT_SUBMIT_ERRORS.inc()
        log.exception("guardrail audit row refused by the sink", extra={"action": decision.action.value})
