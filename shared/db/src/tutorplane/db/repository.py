"""Reads and awaited writes the services need. Each function takes a pool or a connection.

High-volume audit rows (routing decisions, guardrail events, usage, most transcript turns) go
through :class:`tutorplane.db.audit.AuditWriter` instead; the writes here are the ones a caller
needs the result of (a session row, an escalation id for the SSE feed, a teacher hint's turn).

These functions run as whatever role the pool logs in as (the services use service_role or a
superuser); authorisation such as "only this teacher's students" is applied in the queries.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import asyncpg.pool
from tutorplane.db.records import Escalation, Session, Turn, User, VariantReport
from tutorplane.db.reports import SESSION_REPORT_SQL, VARIANT_REPORT_SQL

Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

VARIANTS = ("A", "B")
ASSIGNMENT_REASONS = ("weighted", "override")
ESCALATION_SOURCES = ("student", "guardrail", "router", "agent", "teacher")

# Fixed ids of the demo data: the local login offers exactly these users.
DEMO_CLASS_ID = UUID("c1a55000-0000-4000-8000-000000000001")
DEMO_TEACHER_ID = UUID("7eac4e00-0000-4000-8000-000000000001")
DEMO_STUDENT_ID = UUID("57d0e000-0000-4000-8000-000000000001")
DEMO_STUDENT_2_ID = UUID("57d0e000-0000-4000-8000-000000000002")
DEMO_STUDENT_IDS = (DEMO_STUDENT_ID, DEMO_STUDENT_2_ID)
DEMO_CLASS_NAME = "Demo class 7B"
DEMO_TEACHER_NAME = "Ms. Rivera"
DEMO_TEACHER_EMAIL = "ms.rivera@demo.tutorplane.test"
DEMO_STUDENT_NAMES = {DEMO_STUDENT_ID: "Alex", DEMO_STUDENT_2_ID: "Sam"}


class SessionNotFoundError(LookupError):
    def __init__(self, session_id: UUID) -> None:
        super().__init__(f"learning session {session_id} does not exist")
        self.session_id = session_id


@contextlib.asynccontextmanager
async def _connection(db: Executor) -> AsyncIterator[asyncpg.Connection | asyncpg.pool.PoolConnectionProxy]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


# ---------------------------------------------------------------------------------------------
# People and classes
# ---------------------------------------------------------------------------------------------


async def upsert_class(db: Executor, *, class_id: UUID, name: str) -> None:
    await db.execute(
        """INSERT INTO public.classes (id, name) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name""",
        class_id,
        _text("class name", name),
    )


async def upsert_teacher(db: Executor, *, teacher_id: UUID, display_name: str, email: str) -> None:
    await db.execute(
        """INSERT INTO public.teachers (id, display_name, email) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, email = EXCLUDED.email""",
        teacher_id,
        _text("display_name", display_name),
        _text("email", email).strip().lower(),
    )


async def upsert_student(db: Executor, *, student_id: UUID, display_name: str, class_id: UUID) -> None:
    await db.execute(
        """INSERT INTO public.students (id, display_name, class_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE
           SET display_name = EXCLUDED.display_name, class_id = EXCLUDED.class_id""",
        student_id,
        _text("display_name", display_name),
        class_id,
    )


async def assign_teacher(db: Executor, *, class_id: UUID, teacher_id: UUID) -> None:
    await db.execute(
        "INSERT INTO public.class_teachers (class_id, teacher_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        class_id,
        teacher_id,
    )


async def get_user(db: Executor, user_id: UUID) -> User | None:
    """The teacher or student with this id (the JWT ``sub``), with the classes they belong to."""
    row = await db.fetchrow(
        """SELECT 'teacher' AS kind, t.id, t.display_name, t.email,
                  coalesce(array_agg(ct.class_id ORDER BY ct.class_id)
                           FILTER (WHERE ct.class_id IS NOT NULL), '{}') AS class_ids
           FROM public.teachers t LEFT JOIN public.class_teachers ct ON ct.teacher_id = t.id
           WHERE t.id = $1 GROUP BY t.id
           UNION ALL
           SELECT 'student', s.id, s.display_name, NULL, ARRAY[s.class_id]
           FROM public.students s WHERE s.id = $1""",
        user_id,
    )
    if row is None:
        return None
    return User(
        id=row["id"],
        kind=row["kind"],
        display_name=row["display_name"],
        class_ids=tuple(row["class_ids"]),
        email=row["email"],
    )


async def teacher_can_see_student(db: Executor, *, teacher_id: UUID, student_id: UUID) -> bool:
    """True when the student is in one of the teacher's classes."""
    return bool(
        await db.fetchval(
            """SELECT EXISTS (
                   SELECT 1 FROM public.students s
                   JOIN public.class_teachers ct ON ct.class_id = s.class_id
                   WHERE s.id = $1 AND ct.teacher_id = $2)""",
            student_id,
            teacher_id,
        )
    )


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------


async def create_session(
    db: Executor,
    *,
    student_id: UUID,
    deployment: str,
    variant: str,
    revision: str = "",
    assignment_reason: str = "weighted",
    room_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    session_id: UUID | None = None,
    started_at: datetime | None = None,
) -> Session:
    """Insert a session; ``session_id``/``started_at`` default to a new uuid and now()."""
    row = await db.fetchrow(
        """INSERT INTO public.learning_sessions
               (id, student_id, deployment, variant, revision, assignment_reason, room_name, metadata,
                started_at)
           VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()))
           RETURNING *""",
        session_id,
        student_id,
        _text("deployment", deployment),
        _choice("variant", variant, VARIANTS),
        revision,
        _choice("assignment_reason", assignment_reason, ASSIGNMENT_REASONS),
        room_name,
        dict(metadata or {}),
        started_at,
    )
    assert row is not None
    return Session.from_record(row)


async def get_session(db: Executor, session_id: UUID) -> Session | None:
    row = await db.fetchrow("SELECT * FROM public.learning_sessions WHERE id = $1", session_id)
    return Session.from_record(row) if row is not None else None


async def build_session_report(
    db: Executor, session_id: UUID, *, ended_at: datetime | None = None
) -> dict[str, Any]:
    """The server-built report: turns, subjects, routing summary, escalations, guardrail counts,
    usage totals and duration (up to ``ended_at``, the session's end, or now)."""
    report = await db.fetchval(SESSION_REPORT_SQL, session_id, ended_at)
    if report is None:
        raise SessionNotFoundError(session_id)
    return dict(report)


async def close_session(
    db: Executor,
    session_id: UUID,
    *,
    report: Mapping[str, Any] | None = None,
    ended_at: datetime | None = None,
) -> Session:
    """End a session and store its report (server-built when ``report`` is None).

    Idempotent: closing an ended session returns it unchanged. Flush the audit writer first so the
    server-built report sees the session's last rows.
    """
    if report is not None and not isinstance(report, Mapping):
        raise ValueError(f"session report must be a JSON object, got {type(report).__name__}")
    async with _connection(db) as conn, conn.transaction():
        current = await conn.fetchrow(
            "SELECT * FROM public.learning_sessions WHERE id = $1 FOR UPDATE", session_id
        )
        if current is None:
            raise SessionNotFoundError(session_id)
        if current["ended_at"] is not None:
            return Session.from_record(current)
        end = max(ended_at or datetime.now(UTC), current["started_at"])
        stored = (
            dict(report) if report is not None else await build_session_report(conn, session_id, ended_at=end)
        )
        row = await conn.fetchrow(
            """UPDATE public.learning_sessions SET ended_at = $2, session_report = $3
               WHERE id = $1 RETURNING *""",
            session_id,
            end,
            stored,
        )
    assert row is not None
    return Session.from_record(row)


async def idle_sessions(db: Executor, *, idle_s: float, limit: int = 200) -> list[tuple[UUID, datetime]]:
    """Open sessions without a start or a transcript turn in the last ``idle_s`` seconds, oldest
    first, each with its last activity (when it should be recorded as ended)."""
    rows = await db.fetch(
        """SELECT id, last_activity FROM (
               SELECT s.id, greatest(s.started_at, (
                   SELECT max(t.created_at) FROM public.transcript_turns t WHERE t.session_id = s.id
               )) AS last_activity
               FROM public.learning_sessions s
               WHERE s.ended_at IS NULL AND s.started_at < now() - make_interval(secs => $1)
           ) open
           WHERE last_activity < now() - make_interval(secs => $1)
           ORDER BY last_activity
           LIMIT $2""",
        float(idle_s),
        limit,
    )
    return [(r["id"], r["last_activity"]) for r in rows]


# ---------------------------------------------------------------------------------------------
# Transcript
# ---------------------------------------------------------------------------------------------


async def add_transcript_turn(
    db: Executor,
    *,
    session_id: UUID,
    turn_index: int,
    speaker: str,
    role: str,
    content: str,
    subject: str | None = None,
    latency_ms: float | None = None,
) -> int:
    """Insert one turn now (e.g. a teacher hint) and return its id."""
    turn_id = await db.fetchval(
        """INSERT INTO public.transcript_turns
               (session_id, turn_index, speaker, role, content, subject, latency_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        session_id,
        turn_index,
        speaker,
        role,
        _text("content", content),
        subject,
        latency_ms,
    )
    return int(turn_id)


async def next_turn_index(db: Executor, session_id: UUID) -> int:
    """One past the highest recorded turn index (0 for a new session)."""
    return int(
        await db.fetchval(
            "SELECT coalesce(max(turn_index) + 1, 0) FROM public.transcript_turns WHERE session_id = $1",
            session_id,
        )
    )


async def recent_turns(db: Executor, session_id: UUID, limit: int) -> list[Turn]:
    """The last ``limit`` student and tutor messages (no system lines), in conversation order."""
    rows = await db.fetch(
        """SELECT * FROM (
               SELECT * FROM public.transcript_turns
               WHERE session_id = $1 AND role IN ('user', 'assistant')
               ORDER BY turn_index DESC, id DESC LIMIT $2
           ) recent ORDER BY turn_index, id""",
        session_id,
        limit,
    )
    return [Turn.from_record(r) for r in rows]


async def session_transcript(db: Executor, session_id: UUID) -> list[Turn]:
    """Turns in conversation order (turn index, then insertion order)."""
    rows = await db.fetch(
        "SELECT * FROM public.transcript_turns WHERE session_id = $1 ORDER BY turn_index, id", session_id
    )
    return [Turn.from_record(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Escalations
# ---------------------------------------------------------------------------------------------

_ESCALATION_SELECT = """
    SELECT e.*, s.display_name AS student_name, s.class_id
    FROM public.escalation_events e JOIN public.students s ON s.id = e.student_id
"""


async def create_escalation(db: Executor, *, session_id: UUID, reason: str, source: str) -> Escalation:
    """Record an escalation for the session's student; the insert trigger NOTIFYs the teachers' feeds."""
    row = await db.fetchrow(
        f"""WITH inserted AS (
                INSERT INTO public.escalation_events (session_id, student_id, reason, source)
                SELECT ls.id, ls.student_id, $2, $3 FROM public.learning_sessions ls WHERE ls.id = $1
                RETURNING *
            )
            {_ESCALATION_SELECT.replace("public.escalation_events e", "inserted e")}""",
        session_id,
        _text("reason", reason),
        _choice("source", source, ESCALATION_SOURCES),
    )
    if row is None:
        raise SessionNotFoundError(session_id)
    return Escalation.from_record(row)


async def escalations_since(
    db: Executor, *, teacher_id: UUID, last_id: int = 0, limit: int = 500
) -> list[Escalation]:
    """Escalations of the teacher's students with id > ``last_id``, oldest first (SSE replay)."""
    rows = await db.fetch(
        f"""{_ESCALATION_SELECT}
            WHERE e.id > $2
              AND EXISTS (SELECT 1 FROM public.class_teachers ct
                          WHERE ct.class_id = s.class_id AND ct.teacher_id = $1)
            ORDER BY e.id
            LIMIT $3""",
        teacher_id,
        last_id,
        limit,
    )
    return [Escalation.from_record(r) for r in rows]


async def _set_escalation_status(
    db: Executor, *, escalation_id: int, teacher_id: UUID, status: str, allowed_from: tuple[str, ...]
) -> Escalation | None:
    row = await db.fetchrow(
        f"""WITH updated AS (
                UPDATE public.escalation_events e
                SET status = $3,
                    acknowledged_by = coalesce(e.acknowledged_by, $2),
                    acknowledged_at = coalesce(e.acknowledged_at, now())
                FROM public.students s
                WHERE e.id = $1 AND s.id = e.student_id AND e.status = ANY($4::text[])
                  AND EXISTS (SELECT 1 FROM public.class_teachers ct
                              WHERE ct.class_id = s.class_id AND ct.teacher_id = $2)
                RETURNING e.*
            )
            {_ESCALATION_SELECT.replace("public.escalation_events e", "updated e")}""",
        escalation_id,
        teacher_id,
        status,
        list(allowed_from),
    )
    if row is not None:
        return Escalation.from_record(row)
    # Already in (or past) the requested state: return it if this teacher may see it.
    current = await db.fetchrow(
        f"""{_ESCALATION_SELECT}
            WHERE e.id = $1
              AND EXISTS (SELECT 1 FROM public.class_teachers ct
                          WHERE ct.class_id = s.class_id AND ct.teacher_id = $2)""",
        escalation_id,
        teacher_id,
    )
    return Escalation.from_record(current) if current is not None else None


async def acknowledge_escalation(db: Executor, *, escalation_id: int, teacher_id: UUID) -> Escalation | None:
    """Mark an open escalation acknowledged by this teacher.

    Returns the escalation (also when it was already acknowledged or resolved), or None when it
    does not exist or belongs to a student outside the teacher's classes.
    """
    return await _set_escalation_status(
        db, escalation_id=escalation_id, teacher_id=teacher_id, status="acknowledged", allowed_from=("open",)
    )


async def resolve_escalation(db: Executor, *, escalation_id: int, teacher_id: UUID) -> Escalation | None:
    """Mark an escalation resolved (acknowledging it on the way when still open); None as above."""
    return await _set_escalation_status(
        db,
        escalation_id=escalation_id,
        teacher_id=teacher_id,
        status="resolved",
        allowed_from=("open", "acknowledged"),
    )


# ---------------------------------------------------------------------------------------------
# A/B report
# ---------------------------------------------------------------------------------------------


async def variant_report(
    db: Executor, *, deployment: str | None = None, since: datetime | None = None
) -> list[VariantReport]:
    """Per-(deployment, variant) aggregates of sessions started since ``since``."""
    rows = await db.fetch(VARIANT_REPORT_SQL, deployment, since)
    return [VariantReport.from_record(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------------


async def seed_demo_data(db: Executor) -> None:
    """The demo class, its teacher (Ms. Rivera) and two students, with the fixed DEMO_* ids.

    Idempotent: re-running restores names and memberships.
    """
    async with _connection(db) as conn, conn.transaction():
        await upsert_class(conn, class_id=DEMO_CLASS_ID, name=DEMO_CLASS_NAME)
        await upsert_teacher(
            conn, teacher_id=DEMO_TEACHER_ID, display_name=DEMO_TEACHER_NAME, email=DEMO_TEACHER_EMAIL
        )
        await assign_teacher(conn, class_id=DEMO_CLASS_ID, teacher_id=DEMO_TEACHER_ID)
        for student_id, name in DEMO_STUDENT_NAMES.items():
            await upsert_student(conn, student_id=student_id, display_name=name, class_id=DEMO_CLASS_ID)
