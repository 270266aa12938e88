"""Gateway benchmark (`make bench`): full guarded turns and light endpoints.

Set-up: a gateway process pinned to CPU 0; embedded PostgreSQL, Redis, the guardrail service and
the model emulators (zero latency, every answer ten sentences) pinned to CPU 1, where the load
comes from, over raw HTTP/1.1 sockets (a Python HTTP client library would be the bottleneck). A bare
Starlette JSON endpoint, served by the same uvicorn on the same core, is measured in the same run
as the baseline for light endpoints.

Figures: single-turn latency, saturation throughput (closed loop), p50/p99 at 25 and 50 turns/s
(open loop), server CPU per turn, RSS before/after saturation, and the CPU the same upstream calls
cost through the gateway's clients with no gateway around them (the floor a turn cannot go below
with these SDKs); health and session-create throughput as a ratio of the bare endpoint. Anchor (the earlier A/B backend on this kind of
machine): 4.2 turns/s, ~240 ms CPU per turn, 247 ms single turn, health at 0.59x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SERVER_CPU = 0
LOAD_CPU = 1
TEN_SENTENCES = " ".join(
    f"Step {i}: multiply the {i} rows by the columns and write the product down." for i in range(1, 11)
)
QUESTION = "What is 7 times 8?"
JWT_SECRET = "bench-jwt-secret-7d3f9a1c5e8b2d4f6a0c1e3b5d7f9a2c"
CSRF_SECRET = "bench-csrf-secret-2b4d6f8a0c1e3f5a7c9e1b3d5f7a9c0e"


async def _bare_json(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


bare_app = Starlette(routes=[Route("/json", _bare_json)])


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------


def _taskset(cpu: int) -> list[str]:
    """Command prefix pinning a child to ``cpu`` (nothing when taskset or the core is missing)."""
    if shutil.which("taskset") is None or cpu >= (os.cpu_count() or 1):
        return []
    return ["taskset", "-c", str(cpu)]


def _pin(cpu: int, pid: int | None = None) -> None:
    """Pin a process (this one by default) and its descendants to ``cpu``; children forked later
    inherit it. Nothing happens where affinity or the core is missing."""
    if not hasattr(os, "sched_setaffinity") or cpu >= (os.cpu_count() or 1):
        return
    pending = [os.getpid() if pid is None else pid]
    while pending:
        current = pending.pop()
        try:
            os.sched_setaffinity(current, {cpu})
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        pending.extend(int(c) for c in children)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _emulator_main(port: int, replies: int, cpu: int) -> None:
    _pin(cpu)
    from tutorplane.emulators import EmulatorServer, Script

    script = Script()
    for _ in range(replies):
        script.messages(TEN_SENTENCES)

    async def serve() -> None:
        async with EmulatorServer(host="127.0.0.1", port=port, script=script):
            await asyncio.Event().wait()

    _run_fast(serve())


def _run_fast(coroutine: Any) -> Any:
    """Run on uvloop, as the services under test do (uvicorn picks it): the emulators and the load
    generator share the other core and should spend it on their work, not on the event loop."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def _stopper(process: Any) -> Callable[[], None]:
    """Stop a subprocess.Popen or multiprocessing.Process and wait for it."""

    def stop() -> None:
        process.terminate()
        if hasattr(process, "wait"):
            process.wait(10)
        else:
            process.join(10)

    return stop


def _stop_load(conn: Any, process: Any) -> None:
    conn.send(None)
    process.join(10)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ------------------------------------------------------------------------------------------------
# Load generator (runs in its own process on LOAD_CPU)
# ------------------------------------------------------------------------------------------------


@dataclass
class Target:
    port: int
    students: list[dict[str, str]]  # token, csrf, session


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


def _request(
    method: str, path: str, headers: dict[str, str], body: bytes = b"", *, close: bool = False
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _auth(student: dict[str, str]) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {student['token']}",
        "X-CSRF-Token": student["csrf"],
        "Cookie": f"tutor_csrf={student['csrf']}",
    }


async def _turn(port: int, student: dict[str, str]) -> float:
    """One full turn (request to the end of the stream); raises when it did not complete."""
    body = json.dumps({"text": QUESTION, "speak": True}).encode()
    headers = {**_auth(student), "Content-Type": "application/json"}
    started = time.perf_counter()
    reader, writer = await _open(port)
    try:
        writer.write(_request("POST", f"/api/sessions/{student['session']}/turns", headers, body, close=True))
        data = await reader.read()
    finally:
        writer.close()
    elapsed = time.perf_counter() - started
    if not data.startswith(b"HTTP/1.1 200") or b'"outcome":"completed"' not in data:
        raise RuntimeError(f"turn failed: {data[:300]!r} ... {data[-300:]!r}")
    return elapsed


async def _single(target: Target, n: int) -> list[float]:
    return [await _turn(target.port, target.students[i % len(target.students)]) for i in range(n)]


async def _closed_loop(target: Target, concurrency: int, seconds: float) -> dict[str, Any]:
    deadline = time.perf_counter() + seconds
    durations: list[float] = []
    errors = 0

    async def worker(index: int) -> None:
        nonlocal errors
        student = target.students[index % len(target.students)]
        while time.perf_counter() < deadline:
            try:
                durations.append(await _turn(target.port, student))
            except (RuntimeError, OSError, asyncio.IncompleteReadError):
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return {"durations": durations, "errors": errors, "elapsed": time.perf_counter() - started}


async def _open_loop(target: Target, rate: float, seconds: float) -> dict[str, Any]:
    durations: list[float] = []
    errors = 0
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int) -> None:
        nonlocal errors
        try:
            durations.append(await _turn(target.port, target.students[index % len(target.students)]))
        except (RuntimeError, OSError, asyncio.IncompleteReadError):
            errors += 1

    started = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return {"durations": durations, "errors": errors, "elapsed": time.perf_counter() - started}


async def _light(port: int, make: Callable[[int], bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    """Keep-alive requests as fast as the server answers; ``make(i)`` builds request ``i``."""
    deadline = time.perf_counter() + seconds
    done = 0
    errors = 0

    async def worker(index: int) -> None:
        nonlocal done, errors
        reader, writer = await _open(port)
        i = index
        try:
            while time.perf_counter() < deadline:
                writer.write(make(i))
                status, _ = await _read_response(reader)
                if status >= 400:
                    errors += 1
                done += 1
                i += concurrency
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": done, "errors": errors, "rps": done / elapsed}


def _load_main(conn: Any, cpu: int) -> None:
    _pin(cpu)
    while True:
        command = conn.recv()
        if command is None:
            return
        kind, args = command
        target = Target(**args.pop("target")) if "target" in args else None
        if kind == "single":
            assert target is not None
            result: Any = _run_fast(_single(target, args["n"]))
        elif kind == "closed":
            assert target is not None
            result = _run_fast(_closed_loop(target, args["concurrency"], args["seconds"]))
        elif kind == "open":
            assert target is not None
            result = _run_fast(_open_loop(target, args["rate"], args["seconds"]))
        elif kind == "light":
            result = _run_fast(_light_by_name(**args))
        else:
            result = None
        conn.send(result)


# --------------------------------------------------------------------------------------------
# The upstream calls alone (runs in its own process on SERVER_CPU while the gateway is idle)
# --------------------------------------------------------------------------------------------

# How a ten-sentence turn groups its sentences at saturation: guardrail output checks (about 4.6
# calls per turn with the input check, from the gateway's own metrics) and speech requests (3).
CHECK_GROUPS: tuple[tuple[int, ...], ...] = ((0,), (1, 2), (3, 4, 5), (6, 7, 8, 9))
SPEECH_GROUPS: tuple[tuple[int, ...], ...] = ((0,), (1, 2), (3, 4, 5, 6, 7, 8, 9))


def _floor_main(conn: Any, env: dict[str, str], phases: list[tuple[str, int, float]]) -> None:
    """What one turn's upstream calls cost through the gateway's own clients, with no gateway
    around them: one input check, the specialist's stream, four output checks, three speech
    requests. The gateway's CPU per turn over this is what serving, routing, the guardrail
    pipeline, SSE, Redis and the audit add."""
    _pin(SERVER_CPU)
    os.environ.update(env)
    conn.send(_run_fast(_upstream_floor(phases)))


async def _upstream_floor(phases: list[tuple[str, int, float]]) -> list[dict[str, Any]]:
    """For each (what, concurrency, seconds): how many were made and the process CPU they took;
    ``turn`` is a turn's upstream calls, ``mint`` a version-B session's Realtime secret."""
    from tutorplane.gateway.core.build import guardrail_checker, realtime_minter, speech_synthesizer
    from tutorplane.gateway.core.config import GatewaySettings
    from tutorplane.guardrail.decision import CheckContext
    from tutorplane.guardrail.policy import Direction
    from tutorplane.routing.clients import build_clients
    from tutorplane.routing.specialists import build_specialists
    from tutorplane.routing.types import Subject

    settings = GatewaySettings()
    clients = build_clients(settings)
    checker = guardrail_checker(settings, clients)
    specialists = build_specialists(clients, settings, settings)
    math = specialists.for_subject(Subject.math)
    minter = realtime_minter(settings, clients, specialists)
    speech = speech_synthesizer(settings, clients)
    context = CheckContext(session_id=str(uuid.uuid4()), source="bench")

    async def turn() -> None:
        await checker.check([QUESTION], direction=Direction.input, context=context)
        answer = "".join([delta async for delta in math.stream(QUESTION)])
        sentences = [f"{s.strip()}." for s in answer.split(".") if s.strip()]
        for group in CHECK_GROUPS:
            texts = [sentences[i] for i in group if i < len(sentences)]
            await checker.check(texts, direction=Direction.output, context=context)
        for group in SPEECH_GROUPS:
            text = " ".join(sentences[i] for i in group if i < len(sentences))
            async for _chunk in speech.stream(text, settings.math_voice):
                pass

    async def mint() -> None:
        await minter.mint()

    done = 0
    deadline = 0.0

    async def worker(one: Callable[[], Any]) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one()
            done += 1

    results: list[dict[str, Any]] = []
    try:
        for what, concurrency, seconds in phases:
            one = turn if what == "turn" else mint
            deadline = time.perf_counter() + 1.0  # warm-up: connection pools at their working size
            await asyncio.gather(*(worker(one) for _ in range(concurrency)))
            done = 0
            cpu0, started = time.process_time(), time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(worker(one) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            results.append({"done": done, "cpu_s": time.process_time() - cpu0, "elapsed": elapsed})
        return results
    finally:
        await clients.aclose()
        closer = getattr(checker, "aclose", None)
        if closer is not None:
            await closer()


async def _light_by_name(
    name: str, port: int, concurrency: int, seconds: float, students: list[dict[str, str]]
) -> dict[str, Any]:
    if name == "bare":
        request = _request("GET", "/json", {})
        return await _light(port, lambda _i: request, concurrency, seconds)
    if name == "health":
        request = _request("GET", "/healthz", {})
        return await _light(port, lambda _i: request, concurrency, seconds)
    if name == "session_create":
        prepared = [
            _request("POST", "/api/sessions", {**_auth(s), "Content-Type": "application/json"}, b"{}")
            for s in students
        ]
        return await _light(port, lambda i: prepared[i % len(prepared)], concurrency, seconds)
    raise ValueError(name)


# ------------------------------------------------------------------------------------------------
# Orchestration
# ------------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.tmp = Path(tempfile.mkdtemp(prefix="tutorplane-gateway-bench-"))
        self.children: list[Any] = []
        self.ctx = mp.get_context("spawn")
        self.helpers: dict[str, int] = {}

    def close(self) -> None:
        for child in reversed(self.children):
            try:
                child()
            except Exception as exc:
                print(f"  (cleanup: {exc})")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_backends(self) -> dict[str, str]:
        from tutorplane.db.embedded import start_embedded
        from tutorplane.db.migrations import migrate_up

        pg = start_embedded(self.tmp / "pg", database="bench")
        self.children.append(pg.stop)
        # A helper like the others: on the load core, not competing with the server for its core
        # (its connection processes are forked by the postmaster and inherit the pinning).
        _pin(LOAD_CPU, int((self.tmp / "pg" / "postmaster.pid").read_text().split()[0]))
        asyncio.run(migrate_up(pg.dsn))
        redis_port = _free_port()
        redis_bin = shutil.which("redis-server")
        if redis_bin is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        redis = subprocess.Popen(
            [
                *_taskset(LOAD_CPU),
                redis_bin,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        self.children.append(_stopper(redis))
        self.helpers["redis"] = redis.pid
        emulator_port = _free_port()
        replies = 4000 if self.quick else 20000
        emulator = self.ctx.Process(
            target=_emulator_main, args=(emulator_port, replies, LOAD_CPU), daemon=True
        )
        emulator.start()
        self.children.append(_stopper(emulator))
        assert emulator.pid is not None
        self.helpers["emulators"] = emulator.pid
        _wait_port(redis_port)
        _wait_port(emulator_port)
        base = f"http://127.0.0.1:{emulator_port}"
        # The shared guardrail service, as deployed: moderation runs there, not on the gateway's core.
        guardrail_port = _free_port()
        guardrail = subprocess.Popen(
            [*_taskset(LOAD_CPU), sys.executable, "-m", "tutorplane.guardrail_service"],
            env={
                **os.environ,
                "TUTOR_ENVIRONMENT": "production",
                "TUTOR_PORT": str(guardrail_port),
                "TUTOR_OPENAI_BASE_URL": f"{base}/v1",
                "TUTOR_OPENAI_API_KEY": "sk-bench-emulator",
                "TUTOR_LOG_LEVEL": "WARNING",
            },
        )
        self.children.append(_stopper(guardrail))
        self.helpers["guardrail service"] = guardrail.pid
        _wait_port(guardrail_port, 120)
        variants = self.tmp / "variants.json"
        variants.write_text(json.dumps({"weights": {"A": 50, "B": 50}, "agentNames": {"A": "bench-a"}}))
        limits = dict.fromkeys(
            ("login", "session_create", "session_close", "turn", "cancel", "escalate", "events", "read"),
            10**9,
        )
        return {
            "TUTOR_ENVIRONMENT": "production",
            "TUTOR_DEPLOYMENT": "bench",
            "TUTOR_DATABASE_URL": pg.dsn,
            "TUTOR_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "TUTOR_OPENAI_BASE_URL": f"{base}/v1",
            "TUTOR_ANTHROPIC_BASE_URL": base,
            "TUTOR_GUARDRAIL_URL": f"http://127.0.0.1:{guardrail_port}",
            "TUTOR_OPENAI_API_KEY": "sk-bench-emulator",
            "TUTOR_ANTHROPIC_API_KEY": "sk-ant-bench-emulator",
            "TUTOR_JWT_SECRET": JWT_SECRET,
            "TUTOR_CSRF_SECRET": CSRF_SECRET,
            "TUTOR_LIVEKIT_URL": "wss://livekit.bench.invalid",
            "TUTOR_LIVEKIT_API_KEY": "APIbench",
            "TUTOR_LIVEKIT_API_SECRET": "livekit-bench-secret-4c6e8a0b2d4f6a8c0e2b4d6f",
            "TUTOR_VARIANT_CONFIG_PATH": str(variants),
            "TUTOR_RATE_LIMITS": json.dumps(limits),
            "TUTOR_LOG_LEVEL": "WARNING",
            "TUTOR_DB_POOL_MAX_SIZE": "10",
            "TUTOR_TURN_TIMEOUT_S": "120",
        }

    def students(self, dsn: str, port: int, n: int) -> list[dict[str, str]]:
        import httpx
        from tutorplane.db import repository
        from tutorplane.db.pool import create_pool
        from tutorplane.gateway.core.identity import Role
        from tutorplane.gateway.testing import token_for

        ids = [uuid.uuid4() for _ in range(n)]

        async def seed() -> None:
            pool = await create_pool(dsn, min_size=1, max_size=2)
            try:
                await repository.seed_demo_data(pool)
                for student_id in ids:
                    await repository.upsert_student(
                        pool, student_id=student_id, display_name="Bench", class_id=repository.DEMO_CLASS_ID
                    )
            finally:
                await pool.close()

        asyncio.run(seed())
        students = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for student_id in ids:
                token = token_for(JWT_SECRET, str(student_id), Role.student)
                auth = {"Authorization": f"Bearer {token}"}
                csrf = client.get("/api/auth/csrf", headers=auth).json()["token"]
                session = client.post(
                    "/api/sessions",
                    json={},
                    headers={**auth, "X-CSRF-Token": csrf},
                    cookies={"tutor_csrf": csrf},
                )
                session.raise_for_status()
                students.append({"token": token, "csrf": csrf, "session": session.json()["session_id"]})
        return students


def _bare_server(port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn; from tutorplane.gateway.bench import bare_app; "
        f"uvicorn.run(bare_app, host='127.0.0.1', port={port}, access_log=False, log_level='warning')"
    )
    return subprocess.Popen([*_taskset(SERVER_CPU), sys.executable, "-c", code])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutorplane-gateway-bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter phases (a smoke run)")
    args = parser.parse_args(argv)
    quick = args.quick
    phase_s = 5.0 if quick else 12.0
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        print("  note: fewer than 2 CPUs or no taskset: server and load share cores; figures are pessimistic")

    from tutorplane.gateway.testing import GatewayProcess

    bench = Bench(quick)
    parent, child = mp.get_context("spawn").Pipe()
    load = bench.ctx.Process(target=_load_main, args=(child, LOAD_CPU), daemon=True)
    try:
        env = bench.start_backends()
        gateway = GatewayProcess(env, log_path=bench.tmp / "gateway.log", cpu=SERVER_CPU).start(timeout=120)
        bench.children.append(gateway.stop)
        assert gateway.proc is not None
        pid = gateway.proc.pid
        load.start()
        bench.children.append(lambda: _stop_load(parent, load))
        assert load.pid is not None
        bench.helpers["load generator"] = load.pid

        def ask(kind: str, **kwargs: Any) -> Any:
            parent.send((kind, kwargs))
            return parent.recv()

        students = bench.students(env["TUTOR_DATABASE_URL"], gateway.port, 64)
        target = {"port": gateway.port, "students": students}
        print(
            "\nFull guarded text turn (moderation -> route -> specialist -> guardrail -> TTS), 10 sentences"
        )
        ask("single", target=dict(target), n=10)  # warm-up: connections, caches
        # ...and a short burst at the saturation concurrency, so connection pools are at their working
        # size before the RSS baseline: growth after that is what the run leaves behind, not the pools.
        ask("closed", target=dict(target), concurrency=32, seconds=2.0)
        rss_start = _rss_mb(pid)
        cpu0 = _cpu_seconds(pid)
        n_single = 20 if quick else 50
        single = ask("single", target=dict(target), n=n_single)
        cpu_single = (_cpu_seconds(pid) - cpu0) / n_single
        print(
            f"  single turn: p50 {_ms(statistics.median(single))}, p99 {_ms(_percentile(single, 99))}, "
            f"server CPU {_ms(cpu_single)} per turn"
        )

        cpu0 = _cpu_seconds(pid)
        helpers0 = {name: _cpu_seconds(p) for name, p in bench.helpers.items()}
        saturated = ask("closed", target=dict(target), concurrency=32, seconds=phase_s)
        turns = len(saturated["durations"])
        max_tps = turns / saturated["elapsed"]
        server_cpu = _cpu_seconds(pid) - cpu0
        cpu_turn = server_cpu / max(1, turns)
        helper_ms = {
            name: (_cpu_seconds(p) - helpers0[name]) / max(1, turns) * 1000
            for name, p in bench.helpers.items()
        }
        print(
            f"  saturation (32 concurrent): {max_tps:.1f} turns/s, p50 {_ms(_percentile(saturated['durations'], 50))}, "
            f"p99 {_ms(_percentile(saturated['durations'], 99))}, server CPU {_ms(cpu_turn)} per turn, "
            f"errors {saturated['errors']}"
        )
        print(
            f"    server-core capacity (1 / CPU per turn): {1 / max(cpu_turn, 1e-9):.0f} turns/s; the measured "
            "rate is lower when the other core (below) saturates first"
        )
        print(
            f"    server core busy {server_cpu / saturated['elapsed'] * 100:.0f}% at saturation; CPU {LOAD_CPU} "
            "(emulators, guardrail service, Redis, PostgreSQL, load) per turn: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in helper_ms.items())
        )
        rss_after = _rss_mb(pid)
        floor_parent, floor_child = bench.ctx.Pipe()
        floor = bench.ctx.Process(
            target=_floor_main,
            args=(
                floor_child,
                env,
                [("turn", 1, phase_s / 4), ("turn", 32, phase_s / 2), ("mint", 32, phase_s / 4)],
            ),
            daemon=True,
        )
        floor.start()
        floor_single, floor_saturated, mint_cpu = (
            r["cpu_s"] / max(1, r["done"]) for r in floor_parent.recv()
        )
        floor.join(30)
        print(
            f"    the same upstream calls alone (1 model stream, 5 guardrail checks, 3 speech requests through "
            f"the gateway's clients, no gateway): {_ms(floor_saturated)} CPU per turn, at most "
            f"{1 / max(floor_saturated, 1e-9):.0f} turns/s on one core; the whole turn costs "
            f"{cpu_turn / max(floor_saturated, 1e-9):.2f}x that"
        )
        print(
            f"    single turn, our own CPU beyond those calls: {_ms(max(0.0, cpu_single - floor_single))} "
            f"({_ms(cpu_single)} server CPU - {_ms(floor_single)} for the calls made one turn at a time)"
        )
        half = max(1, round(max_tps / 2))
        for rate in dict.fromkeys((half, 25, 50)):  # half of saturation may be 25 itself
            if rate > max_tps * 1.2:
                print(f"  at {rate} turns/s: skipped (above the saturation rate)")
                continue
            result = ask("open", target=dict(target), rate=rate, seconds=phase_s)
            label = " (half of saturation)" if rate == half else ""
            print(
                f"  at {rate} turns/s{label}: p50 {_ms(_percentile(result['durations'], 50))}, "
                f"p99 {_ms(_percentile(result['durations'], 99))}, errors {result['errors']}"
            )
        time.sleep(3.0)
        rss_settled = _rss_mb(pid)
        print(
            f"  RSS: {rss_start:.0f} MB before, {rss_after:.0f} MB after saturation, {rss_settled:.0f} MB "
            f"settled ({(rss_settled / rss_start - 1) * 100:+.1f}%)"
        )
        print(
            f"  vs anchor: {max_tps / 4.2:.1f}x the turns/s (4.2), {240 / (cpu_turn * 1000):.1f}x less CPU per turn "
            f"(240 ms), single turn {247 / (statistics.median(single) * 1000):.1f}x faster (247 ms)"
        )

        print("\nLight endpoints (32 keep-alive connections) vs a bare Starlette JSON endpoint, same core")
        bare_port = _free_port()
        bare = _bare_server(bare_port)
        bench.children.append(_stopper(bare))
        _wait_port(bare_port)
        light_s = phase_s / 2
        ask("light", name="bare", port=bare_port, concurrency=32, seconds=1.0, students=[])
        bare_rps = ask("light", name="bare", port=bare_port, concurrency=32, seconds=light_s, students=[])[
            "rps"
        ]
        bare.terminate()
        bare.wait(10)
        health = ask("light", name="health", port=gateway.port, concurrency=32, seconds=light_s, students=[])
        cpu0 = _cpu_seconds(pid)
        create = ask(
            "light",
            name="session_create",
            port=gateway.port,
            concurrency=32,
            seconds=light_s,
            students=students,
        )
        print(f"  bare Starlette: {bare_rps:.0f} req/s")
        print(f"  /healthz: {health['rps']:.0f} req/s ({health['rps'] / bare_rps:.2f}x bare; anchor 0.59x)")
        create_cpu_ms = (_cpu_seconds(pid) - cpu0) / max(1, create["requests"]) * 1000
        print(
            f"  POST /api/sessions: {create['rps']:.0f} req/s ({create['rps'] / bare_rps:.2f}x bare), "
            f"server CPU {create_cpu_ms:.2f} ms per session (a PostgreSQL insert; B also mints a Realtime "
            f"secret, A signs a LiveKit token), errors {create['errors']}"
        )
        print(
            f"    a Realtime secret minted through the OpenAI SDK alone (no gateway): {_ms(mint_cpu)} CPU; 0.5x "
            f"bare leaves {_ms(2 / bare_rps)} for a whole session request"
        )
        return 0
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
