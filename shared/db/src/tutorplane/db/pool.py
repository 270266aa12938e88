"""asyncpg connection pools with the codecs and timeouts every Tutorplane service uses.

``json``/``jsonb`` values travel as Python objects (dicts, lists, ...) in both directions; UUIDs,
datetimes and decimals inside them are written as strings. DSNs may point at a unix socket with a
``?host=/socket/dir`` query (the embedded PostgreSQL does).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# A query that runs longer than this is cancelled client-side (seconds).
DEFAULT_COMMAND_TIMEOUT_S = 30.0
# Opening one connection, including the server handshake (seconds).
DEFAULT_CONNECT_TIMEOUT_S = 10.0
# The server ends a session that sits idle inside an open transaction this long (milliseconds),
# so a crashed client cannot hold row locks forever.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(
        f"{type(value).__name__} is not JSON serializable; convert it before storing it in a json column"
    )


def dumps(value: Any) -> str:
    """JSON text for a json/jsonb parameter (compact, UTF-8, no NaN)."""
    return json.dumps(
        value, default=_json_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


async def init_connection(conn: asyncpg.Connection) -> None:
    """Register the json/jsonb codecs on one connection (pools call it for every new connection)."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=dumps, decoder=json.loads, schema="pg_catalog")


def server_settings(application_name: str) -> dict[str, str]:
    return {
        "application_name": application_name,
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
    }


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT_S,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    application_name: str = "tutorplane",
) -> asyncpg.Pool:
    """Open a pool; raises :class:`DatabaseUnavailableError` naming the (password-free) DSN on failure."""
    if not dsn:
        raise ValueError("empty PostgreSQL DSN: set TUTOR_DATABASE_URL (e.g. postgresql://user@host:5432/db)")
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            timeout=connect_timeout,
            init=init_connection,
            server_settings=server_settings(application_name),
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailableError(dsn, exc) from exc
    assert pool is not None
    return pool


async def connect(
    dsn: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S, application_name: str = "tutorplane"
) -> asyncpg.Connection:
    """One connection with the same codecs and settings as the pool's."""
    if not dsn:
        raise ValueError("empty PostgreSQL DSN: set TUTOR_DATABASE_URL (e.g. postgresql://user@host:5432/db)")
    try:
        conn = await asyncpg.connect(
            dsn, timeout=connect_timeout, server_settings=server_settings(application_name)
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailableError(dsn, exc) from exc
    await init_connection(conn)
    return conn


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (safe for logs and error messages)."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable DSN>"
    if parts.password is None:
        return dsn
    userinfo = f"{parts.username or ''}:***"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL could not be reached or refused the connection."""

    def __init__(self, dsn: str, cause: BaseException) -> None:
        self.dsn = redact_dsn(dsn)
        detail = str(cause) or type(cause).__name__
        super().__init__(
            f"cannot connect to PostgreSQL at {self.dsn}: {detail}. Check the DSN (--dsn or "
            "TUTOR_DATABASE_URL), that the server is running and that the user may log in."
        )
