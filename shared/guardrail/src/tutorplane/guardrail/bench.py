"""Guardrail benchmark (``make bench``): delay the guardrail adds, pipelined vs sequential, and its CPU cost.

A 10-sentence tutor answer; moderation takes a 50 ms round trip: a local double doing a real
``await asyncio.sleep(0.05)``, and (unless ``--no-emulator``) the emulator with 50 ms scripted latency
behind the real guardrail service, each in its own process, reached over HTTP.

* (a) all at once: the model delivers the whole answer instantly and the consumer takes sentences as
  fast as they come. Added delay = release time − arrival time (without a guardrail it is ~0).
* (b) speaking pace: word i of the answer arrives at i × ``WORD_S`` and the consumer speaks each
  sentence for ``WORD_S`` per word. Added delay = when each sentence starts (and the answer ends)
  being spoken, compared with the same run without a guardrail.

The sequential baseline is what the earlier systems did: take a sentence, await its check, hand it
over, and only then look at the next one. Baselines are measured in the same run, interleaved with the
pipelined runs so machine load affects both alike; medians are reported.

"Pipeline overhead" is the first sentence's delay minus the duration of the check call that carried it
(measured around the checker), i.e. what the engine itself adds on top of one round trip. CPU cost is
the engine's thread CPU time per sentence (splitting, scheduling, policy, bookkeeping) with an instant
double.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field

from tutorplane.guardrail.checker import GuardrailChecker, LocalChecker
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.pipeline import GuardedStream, PipelineConfig
from tutorplane.guardrail.policy import Direction, GuardrailPolicy
from tutorplane.guardrail.scripted_moderation import ScriptedModeration
from tutorplane.guardrail.splitter import SentenceSplitter

RTT_S = 0.050
WORD_S = 0.030  # speaking pace, compressed ~13x (150 words/min is 0.4 s/word) to keep the run short
ANCHOR_SEQUENTIAL_MS = 512.0  # the earlier A/B rebuild, 10-sentence instant answer, 50 ms moderation
SENTENCES = [
    "Great question about how plants make their own food.",
    "Plants use a process called photosynthesis to do this.",
    "They take in sunlight through their green leaves every day.",
    "The leaves also take in carbon dioxide from the air around them.",
    "Water travels up from the roots through tiny tubes in the stem.",
    "Inside the leaf, sunlight gives the energy to join these together.",
    "This makes a kind of sugar called glucose that feeds the plant.",
    "Oxygen is made too, and the plant lets it out into the air.",
    "That oxygen is the same air that people and animals breathe.",
    "So every green plant is a tiny food factory powered by the sun.",
]
ANSWER = " ".join(SENTENCES)
CONTEXT = CheckContext(source="bench")

Guard = Callable[[AsyncIterable[str], GuardrailChecker], AsyncIterator[str]]


@dataclass
class TimedChecker:
    """Records when each check call started and finished (to separate backend time from ours)."""

    inner: GuardrailChecker
    calls: list[tuple[float, float, list[str]]] = field(default_factory=list)

    @property
    def policy(self) -> GuardrailPolicy:
        return self.inner.policy

    async def check(
        self, texts: Sequence[str], *, direction: Direction, context: CheckContext
    ) -> list[Decision]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await self.inner.check(texts, direction=direction, context=context)
        self.calls.append((started, loop.time(), list(texts)))
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()


async def no_guard(deltas: AsyncIterable[str], checker: GuardrailChecker) -> AsyncIterator[str]:
    """Splitting only: the timeline the guardrail's delay is measured against."""
    splitter = SentenceSplitter()
    async for delta in deltas:
        for sentence in splitter.push(delta):
            yield sentence
    for sentence in splitter.flush():
        yield sentence


async def sequential_guard(deltas: AsyncIterable[str], checker: GuardrailChecker) -> AsyncIterator[str]:
    """The earlier systems' loop (with our splitter, so only the scheduling differs)."""
    splitter = SentenceSplitter()

    async def checked(sentences: list[str]) -> AsyncIterator[str]:
        for sentence in sentences:
            (decision,) = await checker.check([sentence], direction=Direction.output, context=CONTEXT)
            yield decision.text

    async for delta in deltas:
        async for text in checked(splitter.push(delta)):
            yield text
    async for text in checked(splitter.flush()):
        yield text


async def pipelined_guard(deltas: AsyncIterable[str], checker: GuardrailChecker) -> AsyncIterator[str]:
    async with GuardedStream(deltas, checker, context=CONTEXT, config=PipelineConfig()) as stream:
        async for sentence in stream:
            yield sentence.text


async def all_at_once() -> AsyncIterator[str]:
    yield ANSWER


async def speaking_pace() -> AsyncIterator[str]:
    """Word i arrives at i × WORD_S whether or not anyone is reading (a socket buffers the rest)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, word in enumerate(ANSWER.split(" ")):
        wait = start + i * WORD_S - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        yield word if i == 0 else " " + word


@dataclass
class Run:
    release_s: list[float]  # when each sentence was released (a) or started being spoken (b)
    end_s: float  # when the answer was fully released (a) or fully spoken (b)
    first_check_s: float = 0.0  # duration of the check call that carried sentence 1


async def run_once(
    guard: Guard, checker: TimedChecker, source: Callable[[], AsyncIterator[str]], speak: bool
) -> Run:
    loop = asyncio.get_running_loop()
    checker.calls.clear()
    start = loop.time()
    release: list[float] = []
    async for text in guard(source(), checker):
        release.append(loop.time() - start)
        if speak:
            await asyncio.sleep(WORD_S * len(text.split()))
    end = loop.time() - start
    first = next(((f - s) for s, f, texts in checker.calls if SENTENCES[0] in texts), 0.0)
    return Run(release, end, first)


def median_run(runs: list[Run]) -> Run:
    n = len(runs[0].release_s)
    return Run(
        [statistics.median(r.release_s[i] for r in runs) for i in range(n)],
        statistics.median(r.end_s for r in runs),
        statistics.median(r.first_check_s for r in runs),
    )


@dataclass
class Row:
    case: str
    backend: str
    mode: str
    first_ms: float  # added delay before sentence 1
    later_max_ms: float  # worst extra delay of sentences 2..10 beyond sentence 1's
    total_ms: float  # added delay at the end of the answer
    overhead_ms: float  # first_ms minus the check call that carried sentence 1


def to_row(case: str, backend: str, mode: str, run: Run, base: Run) -> Row:
    first = (run.release_s[0] - base.release_s[0]) * 1000
    total = (run.end_s - base.end_s) * 1000
    later = max((r - b) * 1000 - first for r, b in zip(run.release_s[1:], base.release_s[1:], strict=True))
    return Row(case, backend, mode, first, max(0.0, later), total, first - run.first_check_s * 1000)


async def delay_rows(checker: GuardrailChecker, backend: str, repeats: int) -> list[Row]:
    timed = TimedChecker(checker)
    guards: dict[str, Guard] = {
        "none": no_guard,
        "sequential": sequential_guard,
        "pipelined": pipelined_guard,
    }
    for guard in guards.values():
        await run_once(guard, timed, all_at_once, False)  # warm-up (connections, caches)
    rows: list[Row] = []
    for case, source, speak, reps in (
        ("a all at once", all_at_once, False, repeats),
        ("b speaking pace", speaking_pace, True, max(1, repeats // 5)),
    ):
        runs: dict[str, list[Run]] = {name: [] for name in guards}
        for _ in range(reps):  # interleaved, so load on the machine hits every mode alike
            for name, guard in guards.items():
                runs[name].append(await run_once(guard, timed, source, speak))
        base = median_run(runs["none"])
        for mode in ("sequential", "pipelined"):
            rows.append(to_row(case, backend, mode, median_run(runs[mode]), base))
    return rows


async def cpu_per_sentence(answers: int) -> tuple[float, float, float, float]:
    """(p50, p99) µs of engine thread-CPU per sentence with an instant double; and of split + policy."""
    checker = LocalChecker(ScriptedModeration(latency_s=0.0))
    tokens = [ANSWER[i : i + 4] for i in range(0, len(ANSWER), 4)]  # model-sized deltas

    async def token_stream() -> AsyncIterator[str]:
        for token in tokens:
            yield token

    async def one_answer() -> int:
        count = 0
        async for _text in pipelined_guard(token_stream(), checker):
            count += 1
        return count

    for _ in range(max(1, answers // 10)):
        await one_answer()  # warm-up
    samples: list[float] = []
    for _ in range(answers):
        started = time.thread_time_ns()
        count = await one_answer()
        samples.append((time.thread_time_ns() - started) / count / 1000)
    policy = GuardrailPolicy()
    scores = ScriptedModeration().score("x")
    split_samples: list[float] = []
    for _ in range(answers):
        started = time.thread_time_ns()
        splitter = SentenceSplitter()
        out: list[str] = []
        for token in tokens:
            out += splitter.push(token)
        out += splitter.flush()
        for _sentence in out:
            policy.decide(scores, Direction.output)
        split_samples.append((time.thread_time_ns() - started) / len(out) / 1000)
    return (*_p50_p99(samples), *_p50_p99(split_samples))


def _p50_p99(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# -- the HTTP path: emulator and guardrail service as separate processes ---------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s}s")
        time.sleep(0.05)


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(health)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def service_stack() -> Iterator[str | None]:
    """Emulator (50 ms moderation latency) + guardrail service, each its own process; yields the URL."""
    import importlib.util
    import json

    if importlib.util.find_spec("tutorplane.emulators") is None or (
        importlib.util.find_spec("tutorplane.guardrail_service") is None
    ):
        yield None
        return
    emu_port, svc_port = _free_port(), _free_port()
    env = {**os.environ, "TUTOR_LOG_LEVEL": "WARNING"}
    emu_args = [
        sys.executable,
        "-m",
        "tutorplane.emulators",
        "--port",
        str(emu_port),
        "--log-level",
        "WARNING",
    ]
    with _process(emu_args, env, f"http://127.0.0.1:{emu_port}/_emulator/health"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{emu_port}/_emulator/script",
            data=json.dumps({"op": "latency", "route": "moderations", "seconds": RTT_S}).encode(),
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()
        svc_env = {
            **env,
            "TUTOR_PORT": str(svc_port),
            "TUTOR_OPENAI_BASE_URL": f"http://127.0.0.1:{emu_port}/v1",
        }
        with _process(
            [sys.executable, "-m", "tutorplane.guardrail_service"],
            svc_env,
            f"http://127.0.0.1:{svc_port}/readyz",
        ):
            yield f"http://127.0.0.1:{svc_port}"


async def service_rows(url: str, repeats: int) -> list[Row]:
    from tutorplane.guardrail.http_client import HttpGuardrailClient

    client = HttpGuardrailClient(url)
    try:
        return await delay_rows(client, "service+emulator", repeats)
    finally:
        await client.aclose()


# -- report ------------------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    print(
        f"{'case':<17}{'backend':<18}{'mode':<12}{'1st sentence':>13}{'overhead':>11}{'later max':>12}"
        f"{'total added':>13}"
    )
    for r in rows:
        # In (b) sentence 1 is complete only when the next word arrives, so "overhead" is defined for (a).
        overhead = f"{r.overhead_ms:>8.2f} ms" if r.case.startswith("a") else f"{'n/a':>11}"
        print(
            f"{r.case:<17}{r.backend:<18}{r.mode:<12}{r.first_ms:>10.1f} ms{overhead}"
            f"{r.later_max_ms:>9.1f} ms{r.total_ms:>10.1f} ms"
        )


def verdicts(rows: list[Row], cpu: tuple[float, float, float, float]) -> list[str]:
    out: list[str] = []
    for backend in dict.fromkeys(r.backend for r in rows):
        pick = {(r.case[0], r.mode): r for r in rows if r.backend == backend}
        a_pipe, a_seq = pick[("a", "pipelined")], pick[("a", "sequential")]
        b_pipe, b_seq = pick[("b", "pipelined")], pick[("b", "sequential")]
        rtt = a_pipe.first_ms - a_pipe.overhead_ms
        out.append(
            f"[{backend}] (a) sentence 1 after {a_pipe.first_ms:.1f} ms = one check ({rtt:.1f} ms) + "
            f"{a_pipe.overhead_ms:.2f} ms pipeline overhead (target <= 1 ms: "
            f"{'met' if a_pipe.overhead_ms <= 1.0 else 'MISSED'})"
        )
        out.append(
            f"[{backend}] (a) total added {a_pipe.total_ms:.1f} ms vs sequential {a_seq.total_ms:.1f} ms in this run "
            f"({a_seq.total_ms / max(a_pipe.total_ms, 1e-9):.1f}x less; target <= 60 ms: "
            f"{'met' if a_pipe.total_ms <= 60 else 'MISSED'}; "
            f"{ANCHOR_SEQUENTIAL_MS / max(a_pipe.total_ms, 1e-9):.1f}x under the {ANCHOR_SEQUENTIAL_MS:.0f} ms anchor)"
        )
        out.append(
            f"[{backend}] (b) sentences 2-10 add at most {b_pipe.later_max_ms:.1f} ms beyond sentence 1 "
            f"(sequential {b_seq.later_max_ms:.1f} ms); answer ends {b_pipe.total_ms:.1f} ms later than without "
            f"a guardrail (sequential {b_seq.total_ms:.1f} ms)"
        )
    p50, p99, s50, s99 = cpu
    out.append(
        f"engine CPU per sentence: p50 {p50:.0f} µs, p99 {p99:.0f} µs (target p99 <= 1000 µs: "
        f"{'met' if p99 <= 1000 else 'MISSED'}); split + policy alone: p50 {s50:.1f} µs, p99 {s99:.1f} µs"
    )
    return out


async def _local(repeats: int, cpu_answers: int) -> tuple[list[Row], tuple[float, float, float, float]]:
    cpu = await cpu_per_sentence(cpu_answers)
    rows = await delay_rows(LocalChecker(ScriptedModeration(latency_s=RTT_S)), "local double", repeats)
    return rows, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutorplane-guardrail-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs per case (median reported)")
    parser.add_argument(
        "--no-emulator", action="store_true", help="skip the run through the service over HTTP"
    )
    parser.add_argument("--cpu-answers", type=int, default=300, help="answers for the CPU measurement")
    args = parser.parse_args(argv)
    rows, cpu = asyncio.run(_local(args.repeats, args.cpu_answers))
    if not args.no_emulator:
        with service_stack() as url:
            if url is not None:
                rows += asyncio.run(service_rows(url, args.repeats))
    print(
        f"guardrail: {len(SENTENCES)}-sentence answer, moderation RTT {RTT_S * 1000:.0f} ms, speaking pace "
        f"{WORD_S * 1000:.0f} ms/word; medians of {args.repeats} runs ((b): {max(1, args.repeats // 5)}); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print_table(rows)
    print()
    for line in verdicts(rows, cpu):
        print(line)
    return 0
