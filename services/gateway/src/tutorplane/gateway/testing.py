"""Test and benchmark helpers: the gateway as a real uvicorn process, an API client that handles
sign-in and CSRF, a Server-Sent Events reader, and a TCP proxy that can cut PostgreSQL away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tutorplane.gateway.core.identity import Role, issue_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GatewayProcess:
    """``python -m tutorplane.gateway`` on a loopback port with the given environment."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int | None = None,
        log_path: Path | None = None,
        cpu: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, **env, "TUTOR_PORT": str(self.port), "TUTOR_HOST": "127.0.0.1"}
        self.log_path = log_path
        self.cpu = cpu
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> GatewayProcess:
        argv = [sys.executable, "-m", "tutorplane.gateway"]
        if self.cpu is not None and shutil.which("taskset") is not None:
            argv = ["taskset", "-c", str(self.cpu), *argv]
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.proc.returncode} during start-up; see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"gateway did not answer /healthz within {timeout}s; see {self.log_path}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None = None


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Events from an SSE line stream (comments skipped; ``data`` JSON-decoded when possible)."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    payload: Any = json.loads(text)
                except ValueError:
                    payload = text
                yield SseEvent(event, payload, event_id)
            event, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


@dataclass
class ApiClient:
    """A browser-like client: cookies, CSRF double submit, JSON, SSE."""

    base_url: str
    timeout: float = 30.0
    http: httpx.Client = field(init=False)
    csrf: str | None = None

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def refresh_csrf(self) -> str:
        response = self.http.get("/api/auth/csrf")
        response.raise_for_status()
        self.csrf = str(response.json()["token"])
        return self.csrf

    def login(self, login: str) -> dict[str, Any]:
        self.refresh_csrf()
        response = self.post("/api/auth/login", json={"login": login})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        self.csrf = body["csrf_token"]
        return body

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.refresh_csrf()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return headers

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(
        self, path: str, *, json: Any = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.http.post(path, json=json, headers=self.headers(headers), **kw)

    def create_session(self, **kwargs: Any) -> dict[str, Any]:
        response = self.post("/api/sessions", json={}, **kwargs)
        response.raise_for_status()
        return dict(response.json())

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[Iterator[SseEvent]]:
        with self.http.stream(
            method, path, json=json, headers=self.headers(headers), timeout=timeout or self.timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                raise httpx.HTTPStatusError(
                    f"{response.status_code}: {response.text}", request=response.request, response=response
                )
            yield parse_sse(response.iter_lines())

    def turn(self, session_id: str, text: str, *, speak: bool = True) -> list[SseEvent]:
        with self.stream(
            "POST", f"/api/sessions/{session_id}/turns", json={"text": text, "speak": speak}
        ) as events:
            return list(events)


def token_for(secret: str, user_id: str, role: Role, *, ttl_s: int = 3600, name: str = "") -> str:
    token, _ = issue_token(secret, user_id=user_id, role=role, ttl_s=ttl_s, display_name=name)
    return token


class TcpProxy:
    """A loopback TCP proxy to a TCP or unix-socket upstream that can be cut (connections dropped,
    new ones refused) and restored: a database outage without stopping the database."""

    def __init__(
        self,
        *,
        upstream_host: str | None = None,
        upstream_port: int | None = None,
        upstream_unix: str | None = None,
    ) -> None:
        self.upstream = (upstream_host, upstream_port, upstream_unix)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.cut_off = False

    def start(self) -> TcpProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port, unix = self.upstream
        if unix:
            return await asyncio.open_unix_connection(unix)
        return await asyncio.open_connection(host, port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})

    def cut(self) -> None:
        def _cut() -> None:
            self.cut_off = True
            for w in list(self._writers):
                with contextlib.suppress(Exception):
                    w.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(_cut)
        time.sleep(0.05)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "cut_off", False)
        time.sleep(0.05)

    def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()  # else its self-pipe is closed by the garbage collector, with a warning


class SseReader:
    """Reads an SSE stream on a background thread; the test takes events (and heartbeats) from a queue."""

    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.items: queue.Queue[SseEvent | str] = queue.Queue()
        self.status: int | None = None
        self._client = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(30.0, read=None), cookies=cookies
        )
        self._path = path
        self._headers = headers or {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True, name=f"sse {path}")

    def start(self, timeout: float = 10.0) -> SseReader:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"no response headers from {self._path} within {timeout}s")
        return self

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._path, headers=self._headers) as response:
                self.status = response.status_code
                self._ready.set()
                if response.status_code != 200:
                    return
                lines: list[str] = []
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.items.put(line)
                        continue
                    lines.append(line)
                    if line == "":
                        for event in parse_sse(iter(lines)):
                            self.items.put(event)
                        lines = []
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self._ready.set()
            self.items.put("<closed>")

    def next_event(self, name: str | None = None, timeout: float = 15.0) -> SseEvent:
        """The next event (of ``name`` when given), skipping heartbeats."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {name or 'event'} on {self._path} within {timeout}s")
            try:
                item = self.items.get(timeout=remaining)
            except queue.Empty:
                continue
            if item == "<closed>":
                raise EOFError(f"{self._path} closed while waiting for {name or 'an event'}")
            if isinstance(item, SseEvent) and (name is None or item.event == name):
                return item

    def events_until_heartbeats(self, heartbeats: int = 2, timeout: float = 15.0) -> list[SseEvent]:
        """Every event seen before ``heartbeats`` heartbeat comments arrive (the stream went quiet)."""
        seen: list[SseEvent] = []
        beats = 0
        deadline = time.monotonic() + timeout
        while beats < heartbeats:
            try:
                item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty as exc:
                raise TimeoutError(f"{self._path} sent no heartbeat within {timeout}s") from exc
            if item == "<closed>":
                break
            if isinstance(item, SseEvent):
                seen.append(item)
            else:
                beats += 1
        return seen

    def close(self) -> None:
        self._client.close()
        self._thread.join(5)
