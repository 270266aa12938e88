"""Benchmark: audit rows through the batched AuditWriter versus one awaited INSERT per row.

Runs on a throwaway embedded PostgreSQL. Figures are ratios against the per-row baseline measured
in the same run, plus the time ``submit()`` costs the request path.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from tutorplane.db import repository
from tutorplane.db.audit import AuditWriter
from tutorplane.db.embedded import start_embedded
from tutorplane.db.migrations import migrate_up
from tutorplane.db.pool import create_pool

ROWS = 5000
# Awaited single-row commits each wait for a WAL flush; fewer rows keep the run short.
BASELINE_ROWS = 1000


def _turn(session_id: uuid.UUID, i: int) -> dict[str, object]:
    return {
        "session_id": session_id,
        "turn_index": i,
        "speaker": "student",
        "role": "user",
        "content": f"how do I add fractions, part {i}?",
    }


async def _run(dsn: str) -> None:
    started = time.perf_counter()
    applied = await migrate_up(dsn)
    print(f"  migrate up ({len(applied)} files, fresh database): {time.perf_counter() - started:.3f}s")
    pool = await create_pool(dsn, min_size=2, max_size=4)
    try:
        await repository.seed_demo_data(pool)
        baseline_session = await repository.create_session(
            pool, student_id=repository.DEMO_STUDENT_ID, deployment="bench", variant="A"
        )
        writer_session = await repository.create_session(
            pool, student_id=repository.DEMO_STUDENT_ID, deployment="bench", variant="B"
        )

        started = time.perf_counter()
        for i in range(BASELINE_ROWS):
            row = _turn(baseline_session.id, i)
            await pool.execute(
                "INSERT INTO transcript_turns (session_id, turn_index, speaker, role, content)"
                " VALUES ($1, $2, $3, $4, $5)",
                *row.values(),
            )
        baseline_s = time.perf_counter() - started

        writer = AuditWriter(pool, queue_size=ROWS + 1)
        writer.start()
        started = time.perf_counter()
        for i in range(ROWS):
            writer.submit("transcript_turns", _turn(writer_session.id, i))
        submit_s = time.perf_counter() - started
        flushed = await writer.flush(timeout=120)
        writer_s = time.perf_counter() - started
        await writer.aclose()
        assert flushed and writer.stats.written["transcript_turns"] == ROWS, writer.stats

        baseline_per_row = baseline_s / BASELINE_ROWS
        writer_per_row = writer_s / ROWS
        submit_per_row = submit_s / ROWS
        print(f"  per-row awaited INSERT (baseline): {1 / baseline_per_row:,.0f} rows/s")
        print(f"  AuditWriter batched:               {1 / writer_per_row:,.0f} rows/s")
        print(f"  throughput ratio writer/baseline:  {baseline_per_row / writer_per_row:.1f}x")
        print(
            f"  request-path cost: submit() {submit_per_row * 1e6:.1f} us/row vs awaited INSERT "
            f"{baseline_per_row * 1e6:.0f} us/row ({baseline_per_row / submit_per_row:.0f}x less)"
        )
    finally:
        await pool.close()


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="tutorplane-db-bench-"))
    server = start_embedded(workdir / "pg", database="bench")
    try:
        asyncio.run(_run(server.dsn))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
