"""Which columns callers may write in each audit table (schema v1), and row validation.

Ids are assigned by the database. ``created_at`` may be given (the audit writer stamps the submit
time when it is missing, so a row written late still carries the time of the event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TableColumns:
    required: frozenset[str]
    optional: frozenset[str]

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional


AUDIT_TABLES: dict[str, TableColumns] = {
    "transcript_turns": TableColumns(
        required=frozenset({"session_id", "turn_index", "speaker", "role", "content"}),
        optional=frozenset({"subject", "latency_ms", "checked_sentences", "created_at"}),
    ),
    "routing_decisions": TableColumns(
        required=frozenset(
            {"session_id", "turn_index", "subject", "confidence", "strategy", "stage", "latency_ms"}
        ),
        optional=frozenset({"rationale", "excerpt", "created_at"}),
    ),
    "guardrail_events": TableColumns(
        required=frozenset({"direction", "action", "source"}),
        optional=frozenset(
            {"session_id", "category", "score", "sentence_hash", "excerpt", "fail_closed", "created_at"}
        ),
    ),
    "escalation_events": TableColumns(
        required=frozenset({"session_id", "student_id", "reason", "source"}),
        optional=frozenset({"created_at"}),
    ),
    "provider_usage": TableColumns(
        required=frozenset({"session_id", "provider", "model", "kind"}),
        optional=frozenset({"turn_index", "input_tokens", "output_tokens", "audio_seconds", "created_at"}),
    ),
}


def validate_row(table: str, row: Mapping[str, Any]) -> None:
    """Raise ValueError naming the problem when ``row`` cannot be written to ``table``.

    This is a programming error (wrong table or column name), reported at the call site rather than
    discovered later by a background writer.
    """
    spec = AUDIT_TABLES.get(table)
    if spec is None:
        raise ValueError(f"unknown audit table {table!r}; accepted tables: {', '.join(sorted(AUDIT_TABLES))}")
    if not isinstance(row, Mapping):
        raise ValueError(
            f"audit row for {table} must be a mapping of column -> value, got {type(row).__name__}"
        )
    keys = set(row)
    unknown = keys - spec.allowed
    if unknown:
        raise ValueError(
            f"unknown column(s) {sorted(map(str, unknown))} for {table}; allowed: {sorted(spec.allowed)}"
        )
    missing = {c for c in spec.required if row.get(c) is None}
    if missing:
        raise ValueError(f"{table} row is missing required column(s) {sorted(missing)}")


def _check_columns(table: str, columns: tuple[str, ...]) -> None:
    """Only whitelisted names ever reach SQL text."""
    if not set(columns) <= AUDIT_TABLES[table].allowed:
        raise ValueError(f"columns {columns} not allowed for {table}")


def stored_sql(table: str, columns: tuple[str, ...]) -> str:
    """Whether a row with exactly these values is stored (whitelisted names only)."""
    _check_columns(table, columns)
    match = " AND ".join(f'"{c}" IS NOT DISTINCT FROM ${i}' for i, c in enumerate(columns, start=1))
    return f'SELECT EXISTS (SELECT 1 FROM public."{table}" WHERE {match})'


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """An INSERT for whitelisted names only (callers validate first)."""
    _check_columns(table, columns)
    names = ", ".join(f'"{c}"' for c in columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f'INSERT INTO public."{table}" ({names}) VALUES ({params})'
