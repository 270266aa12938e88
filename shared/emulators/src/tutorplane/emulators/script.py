"""Per-test scripting of the emulators: queued replies, moderation rules, failures, latency.

A :class:`Script` is shared between the test (any thread) and the server's event loop, so every
method takes one lock for a short, non-blocking critical section. Every public method is also
reachable over HTTP (``POST /_emulator/script {"op": <method>, ...kwargs}``) through
:meth:`Script.apply`.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .moderation import validate_categories

ROUTES: tuple[str, ...] = (
    "chat",
    "messages",
    "moderations",
    "speech",
    "transcriptions",
    "client_secrets",
    "realtime",
)
_MAX_RECORDED = 500


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] | str


@dataclass(frozen=True)
class Reply:
    """One queued reply. Text and tool calls both empty means: the offline answer, with these timings."""

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    match: str | None
    delay_s: float
    chunk_delay_s: float
    usage: dict[str, int] | None = None

    def matches(self, last_user_text: str) -> bool:
        return self.match is None or self.match.lower() in last_user_text.lower()

    @property
    def scripted_content(self) -> bool:
        return self.text is not None or bool(self.tool_calls)


@dataclass
class Failure:
    status: int
    remaining: int
    delay_s: float
    retry_after_s: float


@dataclass
class _State:
    replies: dict[str, list[Reply]] = field(
        default_factory=lambda: {"chat": [], "messages": [], "realtime": []}
    )
    moderation_rules: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    transcriptions: deque[str] = field(default_factory=deque)
    recorded: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)


def _check_route(route: str) -> str:
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; valid routes: {list(ROUTES)}")
    return route


def _non_negative(name: str, value: float) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return number


def _tool_calls(raw: Any, *, argument_keys: tuple[str, ...], param: str) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, dict) else list(raw)
    calls: list[ToolCall] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError(
                f'{param} entries must look like {{"name": "tool", "{argument_keys[0]}": {{...}}}}'
            )
        arguments: Any = next((item[k] for k in argument_keys if k in item), {})
        if isinstance(arguments, str):
            try:
                json.loads(arguments)
            except ValueError as exc:
                raise ValueError(f"{param}[{item['name']!r}] arguments are not valid JSON: {exc}") from exc
        elif not isinstance(arguments, dict):
            raise ValueError(f"{param}[{item['name']!r}] arguments must be an object or a JSON string")
        calls.append(ToolCall(item["name"], arguments))
    return tuple(calls)


class Script:
    """What the emulators do next. Unscripted requests get the deterministic offline tutor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State()

    # -- queued replies ------------------------------------------------------------------------

    def chat(
        self,
        text: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        match: str | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        usage: dict[str, int] | None = None,
    ) -> None:
        """Queue one chat-completions reply; tool_calls: [{"name": ..., "arguments": {...}}]."""
        self._queue(
            "chat",
            text,
            _tool_calls(tool_calls, argument_keys=("arguments", "input"), param="tool_calls"),
            match,
            delay_s,
            chunk_delay_s,
            usage,
        )

    def messages(
        self,
        text: str | None = None,
        *,
        tool_use: list[dict[str, Any]] | dict[str, Any] | None = None,
        match: str | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        """Queue one Anthropic messages reply; tool_use: [{"name": ..., "input": {...}}]."""
        self._queue(
            "messages",
            text,
            _tool_calls(tool_use, argument_keys=("input", "arguments"), param="tool_use"),
            match,
            delay_s,
            chunk_delay_s,
            None,
        )

    def realtime(
        self,
        text: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        match: str | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        """Queue one Realtime response (text/audio transcript, or function calls)."""
        self._queue(
            "realtime",
            text,
            _tool_calls(tool_calls, argument_keys=("arguments", "input"), param="tool_calls"),
            match,
            delay_s,
            chunk_delay_s,
            None,
        )

    def _queue(
        self,
        kind: str,
        text: str | None,
        calls: tuple[ToolCall, ...],
        match: str | None,
        delay_s: float,
        chunk_delay_s: float,
        usage: dict[str, int] | None,
    ) -> None:
        if text is not None and not isinstance(text, str):
            raise ValueError(f"text must be a string or None, got {type(text).__name__}")
        if match is not None and (not isinstance(match, str) or not match):
            raise ValueError("match must be a non-empty substring or None")
        if usage is not None and (
            not isinstance(usage, dict) or not all(isinstance(v, int) for v in usage.values())
        ):
            raise ValueError('usage must map token fields to integers, e.g. {"prompt_tokens": 10}')
        reply = Reply(
            text=text,
            tool_calls=calls,
            match=match,
            delay_s=_non_negative("delay_s", delay_s),
            chunk_delay_s=_non_negative("chunk_delay_s", chunk_delay_s),
            usage=dict(usage) if usage else None,
        )
        with self._lock:
            self._state.replies[kind].append(reply)

    # -- other behaviour -----------------------------------------------------------------------

    def moderation(self, pattern: str, categories: dict[str, float]) -> None:
        """Inputs containing `pattern` (case-insensitive) get these category scores."""
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("moderation pattern must be a non-empty string")
        clean = validate_categories(categories)
        with self._lock:
            self._state.moderation_rules.append((pattern.lower(), clean))

    def fail(
        self, route: str, status: int = 500, times: int = 1, delay_s: float = 0.0, retry_after_s: float = 1.0
    ) -> None:
        """The next `times` requests on `route` fail with the provider's error body.

        ``status=0`` hangs for `delay_s` and then drops the connection (a timeout to the client).
        A 429 carries ``retry-after`` (`retry_after_s`, also as ``retry-after-ms``).
        """
        _check_route(route)
        status = int(status)
        if status != 0 and not 400 <= status <= 599:
            raise ValueError(f"fail status must be 0 (timeout) or an HTTP error 400..599, got {status}")
        if int(times) < 1:
            raise ValueError(f"times must be >= 1, got {times!r}")
        failure = Failure(
            status,
            int(times),
            _non_negative("delay_s", delay_s),
            _non_negative("retry_after_s", retry_after_s),
        )
        with self._lock:
            self._state.failures.setdefault(route, deque()).append(failure)

    def latency(self, route: str, seconds: float) -> None:
        """Fixed extra latency before every response on `route` (0 removes it)."""
        _check_route(route)
        value = _non_negative("seconds", seconds)
        with self._lock:
            if value:
                self._state.latency[route] = value
            else:
                self._state.latency.pop(route, None)

    def transcription(self, text: str) -> None:
        """The next speech-to-text result (HTTP transcriptions or a Realtime audio commit)."""
        if not isinstance(text, str):
            raise ValueError("transcription text must be a string")
        with self._lock:
            self._state.transcriptions.append(text)

    def reset(self) -> None:
        """Forget every queued reply, rule, failure, latency and recorded request."""
        with self._lock:
            self._state = _State()

    def requests(self, route: str) -> list[dict[str, Any]]:
        """Recorded request bodies on `route`, oldest first, each with `_path` and `_headers`."""
        _check_route(route)
        with self._lock:
            return copy.deepcopy(list(self._state.recorded.get(route, ())))

    # -- HTTP control ---------------------------------------------------------------------------

    OPS = ("chat", "messages", "realtime", "moderation", "fail", "latency", "transcription", "reset")

    def apply(self, op: str, kwargs: dict[str, Any]) -> None:
        """Run one scripting call from its JSON form; raises ValueError with what to fix."""
        if op not in self.OPS:
            raise ValueError(f"unknown op {op!r}; valid ops: {list(self.OPS)}")
        try:
            getattr(self, op)(**kwargs)
        except TypeError as exc:
            raise ValueError(f"bad arguments for op {op!r}: {exc}") from exc

    # -- server side ----------------------------------------------------------------------------

    def take_reply(self, kind: str, last_user_text: str) -> Reply | None:
        """The first queued reply (FIFO) whose `match` fits, removed from the queue."""
        with self._lock:
            queue = self._state.replies[kind]
            for index, reply in enumerate(queue):
                if reply.matches(last_user_text):
                    return queue.pop(index)
        return None

    def take_failure(self, route: str) -> Failure | None:
        with self._lock:
            queue = self._state.failures.get(route)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return Failure(failure.status, 1, failure.delay_s, failure.retry_after_s)

    def latency_s(self, route: str) -> float:
        with self._lock:
            return self._state.latency.get(route, 0.0)

    def moderation_overrides(self, text: str) -> dict[str, float]:
        lowered = text.lower()
        merged: dict[str, float] = {}
        with self._lock:
            for pattern, categories in self._state.moderation_rules:
                if pattern in lowered:
                    merged.update(categories)
        return merged

    def take_transcription(self) -> str | None:
        with self._lock:
            return self._state.transcriptions.popleft() if self._state.transcriptions else None

    def record(self, route: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._state.recorded.setdefault(route, deque(maxlen=_MAX_RECORDED)).append(entry)
