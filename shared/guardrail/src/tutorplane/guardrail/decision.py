"""Check results and request context, shared by the in-process checker, the HTTP client and the service."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tutorplane.guardrail.policy import Action, Direction, GuardrailPolicy

AGE_BANDS = ("8-10", "11-13", "14-16")
_SOURCE = re.compile(r"[a-z0-9][a-z0-9:_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Who is asking: stamped on audit rows and used for the rewrite's reading level."""

    session_id: str | None = None
    source: str = "unknown"
    age_band: str | None = None

    def __post_init__(self) -> None:
        if self.session_id is not None:
            try:
                uuid.UUID(self.session_id)
            except ValueError:
                raise ValueError(
                    f"session_id must be a UUID (the learning session id), got {self.session_id!r}"
                ) from None
        if not _SOURCE.fullmatch(self.source):
            raise ValueError(
                f"source must be 1-64 lower-case characters [a-z0-9:_.-] (e.g. 'gateway', 'agent:math'), "
                f"got {self.source!r}"
            )
        if self.age_band is not None and self.age_band not in AGE_BANDS:
            raise ValueError(f"age_band must be one of {', '.join(AGE_BANDS)} (got {self.age_band!r})")

    def to_wire(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "source": self.source, "age_band": self.age_band}


@dataclass(frozen=True, slots=True)
class Decision:
    """The guardrail's answer for one text.

    Output: ``text`` is what may be spoken (the original, a rewrite, or a safe line).
    Input: ``text`` is the PII-masked student text to forward to the model; when the action is not
    allow, ``safe_line`` is what the tutor says back instead of answering.
    """

    text: str
    original: str
    action: Action
    category: str | None = None
    score: float = 0.0
    flagged: bool = False  # moderation scored some category at or above its threshold
    fail_closed: bool = False  # blocked because moderation was unavailable
    reason: str = "clean"  # clean | moderation | rewritten | rewrite_* | unavailable:<why>
    pii: tuple[str, ...] = field(default=())  # kinds masked in the input
    safe_line: str | None = None

    @property
    def escalate(self) -> bool:
        return self.action == Action.escalate

    @property
    def unchecked(self) -> bool:
        return self.reason.startswith("unavailable")

    def to_wire(self) -> dict[str, Any]:
        """The service's per-text result. The original is not echoed back."""
        return {
            "text": self.text,
            "action": self.action.value,
            "category": self.category,
            "score": self.score,
            "flagged": self.flagged,
            "fail_closed": self.fail_closed,
            "escalate": self.escalate,
            "reason": self.reason,
            "pii": list(self.pii),
            "safe_line": self.safe_line,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any], original: str) -> Decision:
        return cls(
            text=str(data["text"]),
            original=original,
            action=Action(data["action"]),
            category=data.get("category"),
            score=float(data.get("score") or 0.0),
            flagged=bool(data.get("flagged", False)),
            fail_closed=bool(data.get("fail_closed", False)),
            reason=str(data.get("reason") or "clean"),
            pii=tuple(data.get("pii") or ()),
            safe_line=data.get("safe_line"),
        )


def unavailable_decision(
    policy: GuardrailPolicy,
    original: str,
    direction: Direction,
    why: str,
    *,
    masked: str | None = None,
    pii: tuple[str, ...] = (),
) -> Decision:
    """Moderation (or the guardrail service) gave no answer: apply the policy's fail mode."""
    verdict = policy.unavailable_verdict(direction)
    reason = f"unavailable:{why}"
    if direction == Direction.output:
        text = (
            policy.safe_line(verdict.action, None, direction, fail=True) if verdict.fail_closed else original
        )
        return Decision(
            text,
            original,
            verdict.action,
            None,
            0.0,
            False,
            verdict.fail_closed,
            reason,
            safe_line=text if verdict.fail_closed else None,
        )
    safe = policy.safe_line(verdict.action, None, direction, fail=True) if verdict.fail_closed else None
    return Decision(
        masked if masked is not None else original,
        original,
        verdict.action,
        None,
        0.0,
        False,
        verdict.fail_closed,
        reason,
        pii,
        safe,
    )
