"""The guardrail service over HTTP: one pooled ``httpx.AsyncClient``, short timeouts, fail closed.

When the service is down, slow, or answers nonsense, every text gets the local policy's fail-mode
decision (output: the neutral fallback line), so an outage can never let an unchecked sentence be
spoken. Student input is PII-masked here before it leaves the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
from tutorplane.common.metrics import counter, histogram
from tutorplane.guardrail.decision import CheckContext, Decision, unavailable_decision
from tutorplane.guardrail.pii import mask_pii
from tutorplane.guardrail.policy import Direction, GuardrailPolicy

log = logging.getLogger(__name__)

CLIENT_SECONDS = histogram(
    "tutorplane_guardrail_client_seconds", "Guardrail service round trip seen by the client.", ["outcome"]
)
CLIENT_ERRORS = counter(
    "tutorplane_guardrail_client_errors_total", "Guardrail service calls that failed closed/open.", ["reason"]
)

CHECK_PATH = "/v1/check"


class HttpGuardrailClient:
    """``POST {base_url}/v1/check`` with connection reuse; implements ``GuardrailChecker``."""

    def __init__(
        self,
        base_url: str,
        *,
        policy: GuardrailPolicy | None = None,
        timeout_s: float = 3.0,
        connect_timeout_s: float = 0.25,
        max_connections: int = 20,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"guardrail service URL must start with http:// or https:// (got {base_url!r})")
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("guardrail client timeouts must be > 0")
        self.base_url = base_url.rstrip("/")
        self.policy = policy or GuardrailPolicy()
        self.timeout_s = timeout_s
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"user-agent": "tutorplane-guardrail-client"},
        )

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
        try:
            async with asyncio.timeout(self.timeout_s + 0.25):
                response = await self._http.post(CHECK_PATH, json=payload)
            response.raise_for_status()
            results = response.json()["results"]
            if len(results) != len(originals):
                raise ValueError(f"service returned {len(results)} results for {len(originals)} texts")
            decisions = [Decision.from_wire(r, o) for r, o in zip(results, originals, strict=True)]
        except (httpx.HTTPError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            why = _reason(exc)
            CLIENT_ERRORS.labels(why).inc()
            CLIENT_SECONDS.labels("error").observe(loop.time() - started)
            log.warning("guardrail service unavailable", extra={"reason": why, "direction": direction.value})
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
        CLIENT_SECONDS.labels("ok").observe(loop.time() - started)
        return decisions

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "unreachable"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"http_{exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return "transport"
    return "bad_response"
