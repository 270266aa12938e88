"""Reads the teacher view needs beyond the shared repository (scoped to the teacher's classes)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

RECENT_SESSIONS_SQL = """
SELECT ls.id, ls.student_id, s.display_name AS student_name, ls.variant, ls.revision,
       ls.started_at, ls.ended_at, ls.room_name,
       (SELECT count(*) FROM public.escalation_events e
         WHERE e.session_id = ls.id AND e.status = 'open') AS open_escalations
FROM public.learning_sessions ls
JOIN public.students s ON s.id = ls.student_id
JOIN public.class_teachers ct ON ct.class_id = s.class_id AND ct.teacher_id = $1
WHERE ($2::boolean IS FALSE OR ls.ended_at IS NULL)
ORDER BY ls.started_at DESC
LIMIT $3
"""


async def recent_sessions(
    pool: asyncpg.Pool, teacher_id: uuid.UUID, *, active_only: bool, limit: int
) -> list[dict[str, Any]]:
    rows = await pool.fetch(RECENT_SESSIONS_SQL, teacher_id, active_only, limit)
    return [dict(r) for r in rows]
