"""The init containers' wait-for.sh against real sockets: TCP, HTTP status, PostgreSQL login,
the timeout, and a bad target. Both charts ship the same script."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from chartkit import CHARTS_DIR

pytestmark = pytest.mark.integration

SCRIPT = CHARTS_DIR / "langfuse" / "files" / "wait-for.sh"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ready" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    *targets: str, timeout: int = 3, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *targets],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": "/usr/bin:/bin",
            "WAIT_TIMEOUT_SECONDS": str(timeout),
            "WAIT_INTERVAL_SECONDS": "0.2",
            **(env or {}),
        },
    )


def test_both_charts_ship_the_same_script() -> None:
    assert (CHARTS_DIR / "supabase" / "files" / "wait-for.sh").read_bytes() == SCRIPT.read_bytes()


def test_ready_targets_pass(http_port: int) -> None:
    result = wait_for(f"127.0.0.1:{http_port}", f"http://127.0.0.1:{http_port}/ready")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("is ready") == 2


def test_unhealthy_http_status_times_out(http_port: int) -> None:
    result = wait_for(f"http://127.0.0.1:{http_port}/not-ready", timeout=1)
    assert result.returncode == 1
    assert "did not answer within 1s" in result.stderr


def test_closed_port_times_out() -> None:
    result = wait_for(f"127.0.0.1:{closed_port()}", timeout=1)
    assert result.returncode == 1


def test_unparseable_target_is_refused() -> None:
    result = wait_for("just-a-host")
    assert result.returncode == 2
    assert "use host:port, http://host:port/path or postgresql://" in result.stderr


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed (Debian: postgresql-client)")
def test_postgresql_login(pg_admin_dsn: str) -> None:
    result = wait_for(pg_admin_dsn, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    result = wait_for(pg_admin_dsn.replace("/postgres?", "/no_such_database?"), timeout=1)
    assert result.returncode == 1
