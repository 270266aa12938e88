"""Versioned schema migrations; the ``NNNN_*.sql`` files beside this module are the migrations."""

from tutorplane.db.migrations.runner import (
    ChecksumMismatchError,
    Migration,
    MigrationError,
    MigrationStatus,
    default_directory,
    load_migrations,
    migrate_up,
    migration_status,
    sha256_of,
)

__all__ = [
    "ChecksumMismatchError",
    "Migration",
    "MigrationError",
    "MigrationStatus",
    "default_directory",
    "load_migrations",
    "migrate_up",
    "migration_status",
    "sha256_of",
]
