"""Everything a running operator shares between handlers: client, caches, locks, settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import kopf

from .apiclient import ClientSettings, KubeClient
from .credentials import CredentialsKeeper
from .dependencies import ChartRenderer
from .observing import ObservedCache
from .settings import OperatorSettings

Obj = dict[str, Any]


def _resource_version(obj: Obj) -> int | None:
    raw = obj.get("metadata", {}).get("resourceVersion")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


@dataclass
class Runtime:
    settings: OperatorSettings
    client: KubeClient
    cache: ObservedCache = field(default_factory=ObservedCache)
    renderer: ChartRenderer | None = None
    # Managed releases whose credentials Secrets exist (values only while being created).
    credentials: CredentialsKeeper = field(default_factory=CredentialsKeeper)
    keda: bool | None = None  # None until the first reconcile asks discovery
    clock: Callable[[], float] = time.time
    connection: kopf.ConnectionInfo | None = None
    _locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)
    _deployments: dict[tuple[str, str], Obj] = field(default_factory=dict)
    _pending: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)
    _written: dict[tuple[str, str], tuple[Obj, int | None]] = field(default_factory=dict)
    _background: set[asyncio.Future[None]] = field(default_factory=set)
    # (desired hash, cache version) of children found already in line: skip comparing them again.
    verified: dict[Any, tuple[str, int | None]] = field(default_factory=dict)
    # Last rendering per TutorDeployment, keyed by everything the builders read.
    renders: dict[tuple[str, str], dict[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.renderer is None:
            self.renderer = ChartRenderer(self.settings.charts_dir)

    @classmethod
    def create(cls, settings: OperatorSettings, connection: kopf.ConnectionInfo | None = None) -> Runtime:
        client = KubeClient(
            credentials=lambda: None,
            settings=ClientSettings(request_timeout=settings.request_timeout_seconds),
        )
        runtime = cls(settings=settings, client=client, connection=connection)
        client.credentials = lambda: runtime.connection
        return runtime

    def set_connection(self, connection: kopf.ConnectionInfo) -> None:
        """Credentials from kopf's login; the client reconnects with them on its next request."""
        self.connection = connection
        self.client.reset()

    def lock_for(self, namespace: str, name: str) -> asyncio.Lock:
        key = (namespace, name)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    # TutorDeployments as last seen (watch events, and the replies to our own status writes).

    def remember_deployment(self, body: Obj) -> None:
        meta = body.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        known = self._deployments.get(key)
        if known is not None:
            new_rv, old_rv = _resource_version(body), _resource_version(known)
            if new_rv is not None and old_rv is not None and new_rv < old_rv:
                return
        self._deployments[key] = body

    def remember_status(self, body: Obj, status: Obj) -> None:
        """The status this operator wrote last. A watch event older than that write (which the
        emulator cannot tell apart, having no resourceVersions) must not resurrect an old status."""
        meta = body.get("metadata", {})
        self._written[(meta.get("namespace", ""), meta.get("name", ""))] = (status, _resource_version(body))

    def previous_status(self, body: Obj) -> Obj:
        meta = body.get("metadata", {})
        written = self._written.get((meta.get("namespace", ""), meta.get("name", "")))
        if written is not None:
            status, written_rv = written
            body_rv = _resource_version(body)
            if body_rv is None or written_rv is None or body_rv <= written_rv:
                return dict(status)
        return dict(body.get("status") or {})

    def forget_deployment(self, namespace: str, name: str) -> None:
        known = self._deployments.pop((namespace, name), None)
        if known is not None:
            self.credentials.forget(known.get("metadata", {}).get("uid", ""))
        self._written.pop((namespace, name), None)
        self.renders.pop((namespace, name), None)
        self._locks.pop((namespace, name), None)
        task = self._pending.pop((namespace, name), None)
        if task is not None:
            task.cancel()

    def latest(self, namespace: str, name: str) -> Obj | None:
        return self._deployments.get((namespace, name))

    def deployments(self) -> list[Obj]:
        return list(self._deployments.values())

    def background(self, work: Awaitable[None]) -> None:
        """Run best-effort work (Events) without holding up the caller; cancelled on close."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def schedule(self, namespace: str, name: str, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once after the debounce window, however many times it is asked for."""
        key = (namespace, name)
        if key in self._pending and not self._pending[key].done():
            return

        async def later() -> None:
            await asyncio.sleep(self.settings.child_debounce_seconds)
            self._pending.pop(key, None)
            await action()

        self._pending[key] = asyncio.create_task(later(), name=f"refresh {namespace}/{name}")

    async def close(self) -> None:
        for task in [*self._pending.values(), *self._background]:
            task.cancel()
        self._pending.clear()
        self._background.clear()
        await self.client.close()
