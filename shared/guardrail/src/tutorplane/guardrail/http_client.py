"""The guardrail service over HTTP: one pooled aiohttp session, short timeouts, fail closed.

aiohttp rather than httpx: a check is on every turn's path several times, and aiohttp's keep-alive
pool costs about a tenth of httpx's CPU per request (the gateway bench shows it). The session is
created on first use, inside the event loop that uses it.

When the service is down, slow, or answers nonsense, every text gets the local policy's fail-mode
decision (output: the neutral fallback line), so an outage can never let an unchecked sentence be
spoken. Student input is PII-masked here before it leaves the process.

A circuit breaker keeps a hung service from costing every check its full timeout: after
``breaker_failures`` failed calls in a row, checks get the fail-mode decision at once for
``breaker_open_s``; then one trial call goes through, and its success closes the breaker again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson
from tutorplane.common.metrics import counter, histogram
from tutorplane.guardrail.decision import CheckContext, Decision, unavailable_decision
from tutorplane.guardrail.pii import PiiResult, mask_pii
from tutorplane.guardrail.policy import Direction, GuardrailPolicy

log = logging.getLogger(__name__)

CLIENT_SECONDS = histogram(
    "tutorplane_guardrail_client_seconds", "Guardrail service round trip seen by the client.", ["outcome"]
)
CLIENT_ERRORS = counter(
    "tutorplane_guardrail_client_errors_total", "Guardrail service calls that failed closed/open.", ["reason"]
)

# Present at 0 from the start: "no failures" must read as a rate of 0, not as "no data" (the
# chart's guardrail-unavailable alert divides failures by all checks).
for _known in ("timeout", "unreachable", "transport", "bad_response", "circuit_open"):
    CLIENT_ERRORS.labels(_known)
CLIENT_SECONDS.labels("ok")

CHECK_PATH = "/v1/check"


class HttpGuardrailClient:
    """``POST {base_url}/v1/check`` with connection reuse; implements ``GuardrailChecker``."""

    def __init__(
        self,
        base_url: str,
        *,
        policy: GuardrailPolicy | None = None,
        timeout_s: float = 3.0,
        # A refused connection fails at once whatever this is; the timeout only covers a slow
        # connect, and 0.25 s was reached by a merely busy node (the sentences then failed closed).
        connect_timeout_s: float = 1.0,
        max_connections: int = 64,
        breaker_failures: int = 3,
        breaker_open_s: float = 5.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"guardrail service URL must start with http:// or https:// (got {base_url!r})")
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("guardrail client timeouts must be > 0")
        if breaker_failures < 1 or breaker_open_s <= 0:
            raise ValueError("breaker_failures must be >= 1 and breaker_open_s > 0")
        self.base_url = base_url.rstrip("/")
        self.policy = policy or GuardrailPolicy()
        self.timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect_timeout_s)
        self._max_connections = max_connections
        self._http: aiohttp.ClientSession | None = None
        self._breaker = _Breaker(breaker_failures, breaker_open_s)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                base_url=self.base_url + "/",
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=60),
                headers={"user-agent": "tutorplane-guardrail-client"},
                json_serialize=_dumps,
            )
        return self._http

    async def check(
        self, texts: Sequence[str], *, direction: Direction, context: CheckContext
    ) -> list[Decision]:
        if not texts:
            return []
        originals = list(texts)
        masks = [mask_pii(t) for t in originals] if direction == Direction.input else None
        payload = {
            "texts": [m.text for m in masks] if masks else originals,
            "direction": direction.value,
            "context": context.to_wire(),
        }
        loop = asyncio.get_running_loop()
        started = loop.time()
        admitted = self._breaker.admit(started)
        if admitted is None:
            CLIENT_ERRORS.labels("circuit_open").inc()
            return self._fail_mode(originals, direction, "circuit_open", masks)
        try:
            async with asyncio.timeout(self.timeout_s + 0.25):
                results = (await self._post(payload))["results"]
            if len(results) != len(originals):
                raise ValueError(f"service returned {len(results)} results for {len(originals)} texts")
            decisions = [Decision.from_wire(r, o) for r, o in zip(results, originals, strict=True)]
        except (aiohttp.ClientError, _HttpStatus, TimeoutError, ValueError, KeyError, TypeError) as exc:
            why = _reason(exc)
            CLIENT_ERRORS.labels(why).inc()
            CLIENT_SECONDS.labels("error").observe(loop.time() - started)
            log.warning(
                "guardrail service unavailable",
                extra={"reason": why, "direction": direction.value, "error": repr(exc)},
            )
            # A 4xx is this request's fault, not the service's: it does not count toward opening.
            if not (isinstance(exc, _HttpStatus) and exc.status < 500):
                self._breaker.failed(loop.time())
            return self._fail_mode(originals, direction, why, masks)
        finally:
            self._breaker.settle(admitted)
        self._breaker.succeeded()
        CLIENT_SECONDS.labels("ok").observe(loop.time() - started)
        return decisions

    def _fail_mode(
        self, originals: list[str], direction: Direction, why: str, masks: list[PiiResult] | None
    ) -> list[Decision]:
        return [
            unavailable_decision(
                self.policy,
                o,
                direction,
                f"service_{why}",
                masked=masks[i].text if masks else None,
                pii=tuple(masks[i].kinds) if masks else (),
            )
            for i, o in enumerate(originals)
        ]

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a check; a pooled connection the server already closed is retried once on a new one
        (a check has no side effects)."""
        for attempt in (1, 2):
            try:
                async with self._session().post(CHECK_PATH.lstrip("/"), json=payload) as response:
                    if response.status >= 400:
                        raise _HttpStatus(response.status)
                    body: dict[str, Any] = await response.json(content_type=None, loads=orjson.loads)
                    return body
            except aiohttp.ClientConnectorError:
                raise  # nothing listening: no point in a second try
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def healthy(self) -> bool:
        try:
            async with self._session().get("readyz") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def aclose(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()


class _Breaker:
    """Closed until ``failures`` calls in a row fail; then open for ``open_s``, then half-open: one
    trial call at a time is admitted until one succeeds (closed again) or fails (open again)."""

    def __init__(self, failures: int, open_s: float) -> None:
        self.failures = failures
        self.open_s = open_s
        self._in_a_row = 0
        self._open_until = 0.0
        self._trial = False

    def admit(self, now: float) -> bool | None:
        """None: refuse at once. Otherwise admitted (True for the half-open trial call)."""
        if self._in_a_row < self.failures:
            return False
        if now < self._open_until or self._trial:
            return None
        self._trial = True
        return True

    def settle(self, trial: bool | None) -> None:
        if trial:  # also when the trial was cancelled: the next call may try again
            self._trial = False

    def succeeded(self) -> None:
        if self._in_a_row >= self.failures:
            log.info("guardrail service answers again; checks go through")
        self._in_a_row = 0

    def failed(self, now: float) -> None:
        self._in_a_row += 1
        if self._in_a_row >= self.failures:
            if self._in_a_row == self.failures:
                log.warning(
                    "guardrail service failed %d calls in a row; failing checks at once for %.1f s",
                    self._in_a_row,
                    self.open_s,
                )
            self._open_until = now + self.open_s


def _dumps(payload: Any) -> str:
    return orjson.dumps(payload).decode()


class _HttpStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"guardrail service answered HTTP {status}")
        self.status = status


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "unreachable"
    if isinstance(exc, _HttpStatus):
        return f"http_{exc.status}"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ContentTypeError):
        return "bad_response"
    if isinstance(exc, aiohttp.ClientError):
        return "transport"
    return "bad_response"
