"""Fire-and-forget audit writes that are never silently lost.

Request paths call :meth:`AuditWriter.submit`, which validates the row and enqueues it without
awaiting anything. One background task drains the queue in batches: each batch is written in one
transaction, rows in submit order (so per-table order is kept). Outcomes:

* written                       ``tutorplane_audit_writes_total{table}``
* transient failure (connection lost, server restarting, too many connections, deadlock, ...):
  the batch is retried with exponential backoff and jitter, up to ``max_retries`` times
  (``tutorplane_audit_retries_total{table}``); after that every row is logged at ERROR with its
  content and counted in ``tutorplane_audit_write_failures_total{table}``
* permanent failure (a CHECK/FK violation, bad value): the batch is split and rows are written one
  by one, so only the offending row fails (logged and counted like above), the rest are written; a
  row refused by a unique key that is already stored with exactly its values (a retried batch whose
  COMMIT had succeeded) counts as ``tutorplane_audit_already_written_total{table}``, not a failure
* queue full (the database has been away for a long time): the new row is logged at WARNING and
  counted in ``tutorplane_audit_dropped_total{table}``

While one batch waits for its retry, later rows wait behind it (that is what keeps the order).
Delivery is at least once: a batch whose COMMIT succeeded but whose reply was lost is written again.
Use from the event loop's thread only (``submit`` is not thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from tutorplane.common.metrics import counter, gauge, histogram
from tutorplane.db.pool import dumps
from tutorplane.db.tables import AUDIT_TABLES, insert_sql, stored_sql, validate_row

log = logging.getLogger(__name__)

WRITES = counter("tutorplane_audit_writes_total", "Audit rows written.", ["table"])
FAILURES = counter(
    "tutorplane_audit_write_failures_total",
    "Audit rows given up after retries, rejected by the database or unwritten at shutdown (each is logged).",
    ["table"],
)
ALREADY_WRITTEN = counter(
    "tutorplane_audit_already_written_total",
    "Audit rows found already stored, with the same values, when written again (at-least-once delivery: "
    "a retried batch whose COMMIT had succeeded). Nothing is lost.",
    ["table"],
)
DROPPED = counter(
    "tutorplane_audit_dropped_total",
    "Audit rows refused because the queue was full or closed (logged).",
    ["table"],
)
# What the services pass as ``linger_s``: a turn's rows arrive within a few milliseconds of each
# other; 20 ms of waiting is invisible in an audit trail and saves a transaction per row.
SERVICE_LINGER_S = 0.02

RETRIES = counter("tutorplane_audit_retries_total", "Audit batch write attempts retried.", ["table"])
QUEUE_ROWS = gauge("tutorplane_audit_queue_rows", "Audit rows waiting to be written.")
BATCH_SECONDS = histogram("tutorplane_audit_batch_write_seconds", "Time to write one audit batch.")

# SQLSTATE classes/codes worth retrying: connection (08), resources (53), operator intervention
# (57: shutdown, cannot connect now, statement timeout), transaction rollback (40: deadlock,
# serialization), system error (58), lock not available, read-only transaction (fail-over).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40", "58")
_TRANSIENT_SQLSTATES = {"55P03", "25006"}


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same write later may succeed."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] in _TRANSIENT_SQLSTATE_CLASSES or state in _TRANSIENT_SQLSTATES
    if isinstance(exc, asyncpg.DataError | asyncpg.ClientConfigurationError):
        return False  # a Python value the column cannot take
    return isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.InternalClientError)


@dataclass
class AuditStats:
    """This writer's own counts (the Prometheus counters are process-wide)."""

    written: Counter[str] = field(default_factory=Counter)
    already_written: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    transactions: int = 0  # batches committed


@dataclass(eq=False)
class _Item:
    table: str
    row: dict[str, Any]
    columns: tuple[str, ...]
    done: bool = False


class AuditWriter:
    """Background, batched, ordered audit writer (see the module docstring for the guarantees)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_retries: int = 5,
        queue_size: int = 10000,
        batch_size: int = 500,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 5.0,
        acquire_timeout_s: float = 10.0,
        linger_s: float = 0.0,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be >= 1")
        if linger_s < 0:
            raise ValueError("linger_s must be >= 0")
        self._pool = pool
        # Every table's series exist from start-up at 0: "no row lost" reads as 0, not as no data.
        for table in AUDIT_TABLES:
            for family in (WRITES, ALREADY_WRITTEN, FAILURES, DROPPED):
                family.labels(table=table)
        self.linger_s = linger_s
        self.max_retries = max_retries
        self.batch_size = batch_size
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.acquire_timeout_s = acquire_timeout_s
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._inflight: list[_Item] = []
        self._closed = False
        self._submitted = 0
        self._finished = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.stats = AuditStats()

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Start the background task (idempotent). Needs a running event loop."""
        if self._closed:
            raise RuntimeError("AuditWriter was closed; create a new one")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tutorplane-audit-writer")

    def submit(self, table: str, row: Mapping[str, Any]) -> None:
        """Queue one row; never blocks and never raises on database trouble.

        Raises ValueError for an unknown table/column or a missing required column (a bug in the
        caller, reported where it happens).
        """
        validate_row(table, row)
        values = dict(row)
        values.setdefault("created_at", datetime.now(UTC))
        item = _Item(table, values, tuple(sorted(values)))
        if self._closed:
            self._drop(item, "the audit writer is closed")
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._drop(item, f"the audit queue is full ({self._queue.maxsize} rows)")
            return
        self._submitted += 1
        QUEUE_ROWS.inc()

    async def flush(self, timeout: float | None = 10.0) -> bool:  # noqa: ASYNC109 - contract API
        """Wait until every row submitted so far is written or given up; False on timeout."""
        target = self._submitted
        if self._finished >= target:
            return True
        if self._task is None:
            raise RuntimeError("AuditWriter.flush() before start(): rows cannot drain")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters = [(t, f) for t, f in self._waiters if f is not future]
        return True

    async def aclose(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - contract API
        """Stop accepting rows, flush for up to ``timeout`` s, then count and log what is left."""
        if self._closed and self._task is None:
            return
        self._closed = True
        if self._task is not None:
            await self.flush(timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        leftover = [item for item in self._inflight if not item.done]
        self._inflight = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
        for item in leftover:
            self._fail(item, "not written before shutdown")
        if leftover:
            log.error("audit writer closed with %d unwritten row(s)", len(leftover))

    @property
    def pending(self) -> int:
        """Rows submitted and not yet written or given up."""
        return self._submitted - self._finished

    # ------------------------------------------------------------------ worker

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            self._inflight = batch  # the same list grows below; shutdown accounting sees it all
            if self.linger_s and not self._closed and self._queue.qsize() < self.batch_size - 1:
                # Rows come in bursts (a turn writes several within milliseconds): waiting a
                # moment lets them share one transaction instead of one each.
                await asyncio.sleep(self.linger_s)
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not kill the writer; the rows are logged
                log.exception("audit writer error")
                for item in batch:
                    if not item.done:
                        self._fail(item, f"unexpected error: {exc!r}")
            self._inflight = []

    async def _write(self, items: list[_Item]) -> None:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                await self._insert(items)
            except Exception as exc:
                if not is_transient(exc):
                    if len(items) == 1:
                        if isinstance(exc, asyncpg.UniqueViolationError) and await self._stored(items[0]):
                            self._already_written(items[0])
                        else:
                            self._fail(items[0], f"rejected by the database: {type(exc).__name__}: {exc}")
                        return
                    # Isolate the offending row(s); the others are still written, in order.
                    for item in items:
                        await self._write([item])
                    return
                attempt += 1
                if attempt > self.max_retries:
                    for item in items:
                        self._fail(
                            item, f"gave up after {self.max_retries} retries: {type(exc).__name__}: {exc}"
                        )
                    return
                for table in {item.table for item in items}:
                    RETRIES.labels(table=table).inc()
                    self.stats.retries[table] += 1
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                log.warning(
                    "audit write failed (%s: %s); retry %d/%d in %.2fs",
                    type(exc).__name__,
                    exc,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            BATCH_SECONDS.observe(time.perf_counter() - started)
            self.stats.transactions += 1
            for item in items:
                self._succeed(item)
            return

    async def _insert(self, items: list[_Item]) -> None:
        # Rows of different tables interleave on the request path; audit tables only reference
        # sessions, never each other, so the batch is split by table and each table's rows keep their
        # order (ids follow it: a transcript reads in id order). Within a table, one statement per run
        # of rows with the same columns.
        by_table: dict[str, list[_Item]] = {}
        for item in items:
            by_table.setdefault(item.table, []).append(item)
        async with self._pool.acquire(timeout=self.acquire_timeout_s) as conn, conn.transaction():
            for rows in by_table.values():
                run: list[_Item] = []
                for item in rows:
                    if run and item.columns != run[0].columns:
                        await self._insert_run(conn, run)
                        run = []
                    run.append(item)
                if run:
                    await self._insert_run(conn, run)

    async def _stored(self, item: _Item) -> bool:
        """The row is already stored with exactly these values (False when that cannot be read)."""
        try:
            async with self._pool.acquire(timeout=self.acquire_timeout_s) as conn:
                return bool(
                    await conn.fetchval(
                        stored_sql(item.table, item.columns), *(item.row[c] for c in item.columns)
                    )
                )
        except Exception as exc:
            log.warning("could not read back a refused audit row (%s: %s)", type(exc).__name__, exc)
            return False

    @staticmethod
    async def _insert_run(conn: asyncpg.Connection, run: list[_Item]) -> None:
        columns = run[0].columns
        await conn.executemany(
            insert_sql(run[0].table, columns), [tuple(item.row[c] for c in columns) for item in run]
        )

    # ------------------------------------------------------------------ bookkeeping

    def _succeed(self, item: _Item) -> None:
        WRITES.labels(table=item.table).inc()
        self.stats.written[item.table] += 1
        self._finish(item)

    def _already_written(self, item: _Item) -> None:
        ALREADY_WRITTEN.labels(table=item.table).inc()
        self.stats.already_written[item.table] += 1
        log.info("audit row was already stored (written again after a retry)", extra={"table": item.table})
        self._finish(item)

    def _fail(self, item: _Item, reason: str) -> None:
        FAILURES.labels(table=item.table).inc()
        self.stats.failed[item.table] += 1
        log.error(
            "audit row not written: %s",
            reason,
            extra={"table": item.table, "row": _row_json(item.row), "reason": reason},
        )
        self._finish(item)

    def _drop(self, item: _Item, reason: str) -> None:
        DROPPED.labels(table=item.table).inc()
        self.stats.dropped[item.table] += 1
        log.warning(
            "audit row dropped: %s",
            reason,
            extra={"table": item.table, "row": _row_json(item.row), "reason": reason},
        )

    def _finish(self, item: _Item) -> None:
        if item.done:
            return
        item.done = True
        self._finished += 1
        QUEUE_ROWS.dec()
        if self._waiters:
            for target, future in self._waiters:
                if target <= self._finished and not future.done():
                    future.set_result(None)


# Free text written by or to a student. A row that could not be stored is logged so an operator
# can see what was lost, but the words themselves never reach the logs: they are replaced by their
# length and a short hash (enough to match a row against a transcript, not to read it).
REDACTED_COLUMNS = frozenset({"content", "rationale", "excerpt", "reason"})


def _redact(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"<redacted {len(value)} chars sha256:{digest}>"


def _row_json(row: Mapping[str, Any]) -> str:
    safe = {k: _redact(v) if k in REDACTED_COLUMNS else v for k, v in row.items()}
    try:
        return dumps(safe)
    except (TypeError, ValueError):
        return repr(safe)
