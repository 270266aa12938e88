"""Tutorplane data layer: asyncpg pool, versioned migrations, repositories, fire-and-forget audit writer.

Modules: ``pool`` (create_pool), ``migrations`` (migrate_up, migration_status), ``audit``
(AuditWriter), ``repository`` (reads and awaited writes, demo data), ``embedded`` (local
PostgreSQL 18), ``cli`` (``tutorplane-db``), ``testing`` (pytest fixtures).
"""
