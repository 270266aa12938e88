"""The audit port of the agent: fire-and-forget rows for ``tutorplane.db.audit.AuditWriter``.

Nothing here is awaited in a turn: ``submit`` enqueues and returns. Without a database (console
mode) rows go to :class:`LogOnlyAudit`, which logs them at DEBUG and keeps a count.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)


class AuditSink(Protocol):
    def submit(self, table: str, row: Mapping[str, Any]) -> None: ...


class LogOnlyAudit:
    """Used when no database is configured: rows are validated, logged and counted, not stored."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def submit(self, table: str, row: Mapping[str, Any]) -> None:
        from tutorplane.db.tables import validate_row

        validate_row(table, row)
        self.counts[table] += 1
        log.debug("audit row (no database configured)", extra={"table": table})
