"""Running the emulator app: in the caller's event loop, or on a background thread for sync code."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

from aiohttp import web

from .app import build_app
from .script import Script
from .state import STATE, EmulatorState

_SHUTDOWN_TIMEOUT_S = 1.0


class _Urls:
    """The base URLs every client needs, derived from the bound host and port."""

    _host: str
    port: int
    script: Script

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def realtime_base_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/v1"

    def env(self) -> dict[str, str]:
        """Environment for a service that should talk to this emulator (keys are dummies)."""
        return {
            "TUTOR_OPENAI_BASE_URL": self.openai_base_url,
            "TUTOR_OPENAI_WEBSOCKET_BASE_URL": self.realtime_base_url,
            "TUTOR_ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "TUTOR_OPENAI_API_KEY": "sk-offline-emulator",
            "TUTOR_ANTHROPIC_API_KEY": "sk-ant-offline-emulator",
        }


class EmulatorServer(_Urls):
    """The emulator on `host`:`port` (0 picks a free port) in the running event loop.

    ``async with EmulatorServer() as emu: ...`` — then ``emu.openai_base_url`` and friends.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, script: Script | None = None) -> None:
        self._host = host
        self._requested_port = port
        self.port = port
        self.script = script or Script()
        self._runner: web.AppRunner | None = None

    async def start(self) -> EmulatorServer:
        if self._runner is not None:
            raise RuntimeError("emulator server already started")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno,
                f"emulator cannot listen on {self._host}:{self._requested_port} ({exc.strerror}); "
                "pick another --port or stop the process using it",
            ) from exc
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        runner = web.AppRunner(
            build_app(self.script),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner
        return self

    @property
    def state(self) -> EmulatorState:
        """The running app's server-side state (minted Realtime keys, open calls), for tests."""
        if self._runner is None:
            raise RuntimeError("emulator server not started")
        return self._runner.app[STATE]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> EmulatorServer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class EmulatorThread(_Urls):
    """The emulator on its own event loop in a daemon thread, for synchronous tests and tools."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, script: Script | None = None) -> None:
        self._host = host
        self.script = script or Script()
        self._server = EmulatorServer(host, port, script=self.script)
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> EmulatorThread:
        if self._thread is not None:
            raise RuntimeError("emulator thread already started")
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._server.stop())
                leftovers = asyncio.all_tasks(loop)
                for task in leftovers:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="tutorplane-emulator", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError(f"emulator did not start within {timeout}s")
        if failure:
            self._thread = None
            raise failure[0]
        self.port = self._server.port
        return self

    @property
    def state(self) -> EmulatorState:
        """The running app's server-side state (minted Realtime keys, open calls), for tests."""
        return self._server.state

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
