"""A small async Kubernetes API client: GET, POST, JSON merge PATCH, DELETE, LIST, discovery.

The operator needs only these verbs, and needs to count them (writes per resync are a product
metric), retry transient failures with backoff, and speak JSON merge patch. Credentials come from
kopf's login handlers (``kopf.ConnectionInfo``: in-cluster service account or kubeconfig), and are
fetched again on a 401 because service-account tokens rotate.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import kopf

from . import metrics
from .resources import ResourceRegistry, ResourceType

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
Obj = dict[str, Any]


class ApiError(Exception):
    """The API server refused a request; ``status`` is the HTTP code, ``reason`` the Status reason."""

    def __init__(self, status: int, reason: str, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        # The request was sent more than once: a 409 may answer our own earlier, lost attempt.
        self.retried = False


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Unprocessable(ApiError):
    pass


def _error(status: int, reason: str, message: str, method: str, path: str) -> ApiError:
    cls = {404: NotFound, 409: Conflict, 422: Unprocessable}.get(status, ApiError)
    return cls(status, reason, message, method, path)


@dataclass
class ClientSettings:
    request_timeout: float = 10.0
    """Seconds for one request; a hung API server must not hold a reconcile forever."""
    retries: int = 4
    """Retries of 429/5xx/timeouts/connection errors; a POST retried after a lost reply meets 409."""
    backoff: tuple[float, ...] = (0.1, 0.3, 1.0, 2.0)
    """Delays between retries (the last repeats)."""


@dataclass
class KubeClient:
    credentials: Callable[[], kopf.ConnectionInfo | None]
    settings: ClientSettings = field(default_factory=ClientSettings)
    resources: ResourceRegistry = field(default_factory=ResourceRegistry)
    calls: Counter[str] = field(default_factory=Counter)
    _session: aiohttp.ClientSession | None = None
    _conn: kopf.ConnectionInfo | None = None
    _tempfiles: list[Any] = field(default_factory=list)
    _stale: bool = False

    # ----------------------------------------------------------------- plumbing

    def _connection(self) -> kopf.ConnectionInfo:
        if self._conn is None:
            self._conn = self.credentials()
            if self._conn is None:
                raise RuntimeError("no Kubernetes credentials yet: the operator has not logged in")
        return self._conn

    def _ssl(self, conn: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
        if conn.insecure or conn.server.startswith("http://"):
            return False
        ctx = ssl.create_default_context()
        if conn.ca_path:
            ctx.load_verify_locations(cafile=conn.ca_path)
        elif conn.ca_data:
            data = conn.ca_data.decode() if isinstance(conn.ca_data, bytes) else conn.ca_data
            if "BEGIN CERTIFICATE" not in data:
                data = base64.b64decode(data).decode()
            ctx.load_verify_locations(cadata=data)
        cert, key = conn.certificate_path, conn.private_key_path
        if conn.certificate_data:
            cert = self._materialize(conn.certificate_data)
        if conn.private_key_data:
            key = conn.private_key_data and self._materialize(conn.private_key_data)
        if cert:
            ctx.load_cert_chain(certfile=cert, keyfile=key)
        return ctx

    def _materialize(self, data: str | bytes) -> str:
        raw = data if isinstance(data, bytes) else data.encode()
        if b"-----BEGIN" not in raw:
            raw = base64.b64decode(raw)
        handle = tempfile.NamedTemporaryFile(suffix=".pem")  # noqa: SIM115 - lives as long as the client
        handle.write(raw)
        handle.flush()
        self._tempfiles.append(handle)
        return handle.name

    def _headers(self, conn: kopf.ConnectionInfo) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "tutorplane-operator"}
        if conn.token:
            headers["Authorization"] = f"{conn.scheme or 'Bearer'} {conn.token}"
        elif conn.username and conn.password:
            basic = base64.b64encode(f"{conn.username}:{conn.password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return headers

    def reset(self) -> None:
        """Forget the credentials; the next request fetches them again and reconnects."""
        self._conn = None
        self._stale = True

    async def _ensure_session(self) -> tuple[aiohttp.ClientSession, kopf.ConnectionInfo]:
        if self._stale:
            self._stale = False
            if self._session is not None:
                await self._session.close()
                self._session = None
        conn = self._connection()
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl(conn), limit=64)
            timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout)
            self._session = aiohttp.ClientSession(
                base_url=conn.server.rstrip("/") + "/",
                connector=connector,
                timeout=timeout,
                headers=self._headers(conn),
            )
        return self._session, conn

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        for handle in self._tempfiles:
            handle.close()
        self._tempfiles.clear()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        kind: str = "",
    ) -> Any:
        """One API call with retries of transient failures; returns the decoded JSON body."""
        attempt = 0
        relogged = False
        while True:
            session, _ = await self._ensure_session()
            try:
                async with session.request(
                    method,
                    path.lstrip("/"),
                    json=body,
                    params=params,
                    headers={"Content-Type": content_type} if body is not None else None,
                ) as response:
                    self.calls[method] += 1
                    metrics.API_REQUESTS.labels(method, kind or "-", str(response.status)).inc()
                    if response.status == 401 and not relogged:
                        relogged = True
                        self._conn = None
                        await self.close()
                        continue
                    payload: Any = (
                        await response.json(content_type=None) if response.content_length != 0 else None
                    )
                    if response.status < 400:
                        return payload
                    status = response.status
                    reason = payload.get("reason", "") if isinstance(payload, dict) else ""
                    message = payload.get("message", "") if isinstance(payload, dict) else str(payload)
                    if (status == 429 or status >= 500) and attempt < self.settings.retries:
                        raise _Transient(f"{status} {reason}")
                    error = _error(status, reason, message, method, path)
                    error.retried = attempt > 0
                    raise error
            except (_Transient, aiohttp.ClientConnectionError, TimeoutError) as exc:
                self.calls[f"{method}-retry"] += 1
                if attempt >= self.settings.retries:
                    raise ApiError(0, type(exc).__name__, str(exc), method, path) from exc
                delay = self.settings.backoff[min(attempt, len(self.settings.backoff) - 1)]
                attempt += 1
                logger.debug("retrying %s %s after %s (%s)", method, path, delay, exc)
                await asyncio.sleep(delay)

    # ----------------------------------------------------------------- verbs

    async def resource(self, api_version: str, kind: str) -> ResourceType:
        known = self.resources.lookup(api_version, kind)
        if known is not None:
            return known
        base = "api/v1" if api_version == "v1" else f"apis/{api_version}"
        listing = await self.request("GET", base)
        self.resources.learn(api_version, listing or {})
        found = self.resources.lookup(api_version, kind)
        if found is None:
            raise NotFound(404, "ResourceNotFound", f"{kind} is not served by {api_version}", "GET", base)
        return found

    async def serves(self, api_version: str, kind: str) -> bool:
        try:
            await self.resource(api_version, kind)
        except ApiError:
            return False
        return True

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj:
        rt = await self.resource(api_version, kind)
        result: Obj = await self.request("GET", rt.path(namespace, name), kind=kind)
        return result

    async def create(self, obj: Obj) -> Obj:
        rt = await self.resource(obj["apiVersion"], obj["kind"])
        result: Obj = await self.request(
            "POST", rt.path(obj["metadata"].get("namespace")), obj, kind=obj["kind"]
        )
        return result

    async def merge_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Obj,
        subresource: str | None = None,
    ) -> Obj:
        rt = await self.resource(api_version, kind)
        path = rt.path(namespace, name) + (f"/{subresource}" if subresource else "")
        result: Obj = await self.request("PATCH", path, patch, content_type=MERGE_PATCH, kind=kind)
        return result

    async def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        rt = await self.resource(api_version, kind)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        await self.request("DELETE", rt.path(namespace, name), body, kind=kind)

    async def list(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str | None = None
    ) -> list[Obj]:
        rt = await self.resource(api_version, kind)
        params = {"labelSelector": label_selector} if label_selector else None
        result = await self.request("GET", rt.path(namespace), params=params, kind=kind)
        items: list[Obj] = (result or {}).get("items", [])
        return items

    @property
    def writes(self) -> int:
        return sum(self.calls[m] for m in ("POST", "PATCH", "PUT", "DELETE"))


class _Transient(Exception):
    pass
