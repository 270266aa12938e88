"""``tutorplane-db``: apply and inspect migrations, run the embedded PostgreSQL.

    tutorplane-db migrate up     [--dsn DSN] [--dir DIR]
    tutorplane-db migrate status [--dsn DSN] [--dir DIR]
    tutorplane-db embedded start [--data-dir DIR] [--migrate]   prints the DSN; leaves it running
    tutorplane-db embedded stop  [--data-dir DIR]

The DSN defaults to TUTOR_DATABASE_URL (or DATABASE_URL). Exit codes: 0 ok, 1 refused or failed
(the message says why and what to do), 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from tutorplane.common.settings import DatabaseSettings
from tutorplane.db import embedded
from tutorplane.db.migrations import MigrationError, migrate_up, migration_status
from tutorplane.db.pool import DatabaseUnavailableError


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutorplane-db", description="Tutorplane database tools")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="apply or inspect schema migrations")
    migrate.add_argument("action", choices=["up", "status"])
    migrate.add_argument("--dsn", help="PostgreSQL DSN (default: $TUTOR_DATABASE_URL, then $DATABASE_URL)")
    migrate.add_argument(
        "--dir", help="migrations directory (default: the migrations shipped in this package)"
    )

    emb = commands.add_parser("embedded", help="start/stop the embedded PostgreSQL used by the local demo")
    emb.add_argument("action", choices=["start", "stop"])
    emb.add_argument(
        "--data-dir", default=str(embedded.DEFAULT_DATA_DIR), help="data folder (default: %(default)s)"
    )
    emb.add_argument(
        "--database", default=embedded.DEFAULT_DATABASE, help="database to create (default: %(default)s)"
    )
    emb.add_argument("--migrate", action="store_true", help="apply migrations after starting")
    return parser


def resolve_dsn(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        settings = DatabaseSettings()
    except ValidationError as exc:
        raise UsageError(f"invalid database settings: {exc}") from exc
    if settings.database_url is None or not settings.database_url.get_secret_value().strip():
        raise UsageError(
            "no database given: pass --dsn postgresql://user:password@host:5432/dbname or set "
            "TUTOR_DATABASE_URL (for the local demo: `tutorplane-db embedded start` prints one)"
        )
    return settings.database_url.get_secret_value().strip()


async def _migrate(action: str, dsn: str, directory: str | None) -> int:
    if action == "up":
        applied = await migrate_up(dsn, directory=directory)
        if applied:
            print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
        else:
            print("schema is up to date; nothing applied")
        return 0
    statuses = await migration_status(dsn, directory=directory)
    width = max((len(f"{s.version}_{s.name}") for s in statuses), default=10)
    for s in statuses:
        when = s.applied_at.isoformat(timespec="seconds") if s.applied_at else ""
        print(f"{s.version}_{s.name:<{width - 5}}  {s.state:<8}  {when}")
    counts = {
        state: sum(1 for s in statuses if s.state == state) for state in ("applied", "pending", "changed")
    }
    print(f"{counts['applied']} applied, {counts['pending']} pending, {counts['changed']} changed")
    if counts["changed"]:
        print(
            "changed migrations block `migrate up`: restore their original contents and add a new migration",
            file=sys.stderr,
        )
        return 1
    return 0


def _embedded(args: argparse.Namespace) -> int:
    if args.action == "stop":
        stopped = embedded.stop_embedded(args.data_dir)
        print("stopped" if stopped else f"no embedded PostgreSQL running in {args.data_dir}")
        return 0
    server = embedded.start_embedded(args.data_dir, database=args.database)
    if args.migrate:
        applied = asyncio.run(migrate_up(server.dsn))
        print(f"applied {len(applied)} migration(s)", file=sys.stderr)
    print(server.dsn)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "migrate":
            return asyncio.run(_migrate(args.action, resolve_dsn(args.dsn), args.dir))
        return _embedded(args)
    except UsageError as exc:
        print(f"tutorplane-db: {exc}", file=sys.stderr)
        return 2
    except (MigrationError, DatabaseUnavailableError, embedded.EmbeddedPostgresError, ValueError) as exc:
        print(f"tutorplane-db: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
