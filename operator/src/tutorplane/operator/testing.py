"""Test support for the operator: a kmock cluster, the cluster's controllers, a Prometheus HTTP
emulator, and the operator running in-process. Also a pytest plugin (fixtures at the bottom).

kmock stores objects but runs no controllers: :class:`ClusterSimulator` plays kube-controller-
manager's part just enough for readiness (Deployment/StatefulSet status, Job completion, HPA
ScalingActive) and garbage collection of children whose owner is gone. It writes over HTTP, so
watchers see its changes as they would a real controller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import kmock
import kopf
from kmock import KubernetesObjectNotFoundError

# kopf.operator's own ``vault`` parameter; the class is not re-exported at the package's top level.
from kopf._cogs.structs.credentials import Vault

from . import constants as c
from .handlers.registry import build_registry, configure_kopf
from .promotion import PrometheusFactory, default_prometheus
from .runtime import Runtime
from .settings import OperatorSettings

Obj = dict[str, Any]
TD_RESOURCE = f"{c.GROUP}/{c.VERSION}/{c.PLURAL}"
NAMESPACE = "tutor"
TD_PATH = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{NAMESPACE}/{c.PLURAL}"  # the test namespace's CRs


def _sees(view: Any, request: Any) -> bool:
    """Whether ``view`` sees the request just logged: criteria checked on this request alone.

    kmock answers this by scanning its whole request log per reaction, which makes every request
    slower than the one before (quadratic over a test, hopeless for the 200-object benchmark).
    Chains of plain filters are decided on the request itself; anything else (slices, groups) keeps
    kmock's exact scan.
    """
    node = view
    while True:
        if isinstance(node, kmock.Root):
            return True
        if type(node) is kmock.Filter:
            if not node.criteria(request):
                return False
            node = node._source
            continue
        if type(node) is kmock.Priority:
            node = node._source
            continue
        return bool(request in view)


class _FastDispatch(kmock.RawHandler):
    _fallback_memo: dict[tuple[Any, ...], bool]

    def _fallback_sees(self, payload: Any, request: Any) -> bool:
        """Fallback reactions of the emulator pick object requests by action alone: memoize."""
        resource = request.resource
        priorities = payload.priorities
        if resource is None or not resource.plural or not priorities or priorities[0] != -math.inf:
            return _sees(payload._source, request)
        memo = self.__dict__.setdefault("_fallback_memo", {})
        key = (id(payload), request.action, resource.group == "", request.name is None)
        if key not in memo:
            memo[key] = _sees(payload._source, request)
        return memo[key]

    def _ordered(self) -> list[Any]:
        """Reactions by priority (as kmock orders them), recomputed only when they change."""
        payloads = self._payloads
        signature = tuple(id(p) for p in payloads)
        cached = self.__dict__.get("_order")
        if cached is not None and cached[0] == signature:
            return list(cached[1])
        priorities = [payload.priorities for payload in payloads]
        width = max((len(p) for p in priorities), default=0)
        keys = [tuple(-x for x in p) + (0,) * (width - len(p)) for p in priorities]
        ordered = [payloads[i] for i in sorted(range(len(payloads)), key=lambda i: keys[i])]
        self.__dict__["_order"] = (signature, ordered)
        return list(ordered)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        for payload in self._ordered():
            if not payload._disabled.is_set() and self._fallback_sees(payload, request):
                try:
                    response: aiohttp.web.StreamResponse = await payload(request)
                    return response
                except kmock.ReactionMismatchError:
                    payload._disabled.set()
                except NotImplementedError:
                    pass
        raise NotImplementedError("no reaction matches the request")


class FastKubernetesEmulator(kmock.KubernetesEmulator, _FastDispatch):
    """kmock's KubernetesEmulator with constant-time reaction matching and object lookups.

    kmock finds the object of a single-object request by scanning every stored object; with the
    benchmark's thousands of objects that dominates. Lookups here go straight to the stored dict.
    """

    def _object(self, request: Any, namespace: Any, name: Any) -> Any:
        store: dict[Any, Any] = self._objects._objects
        found = store.get((request.resource, namespace, name))
        if found is None:
            raise KubernetesObjectNotFoundError()
        return found

    async def _serve_fetch(self, request: Any) -> Any:
        obj = self._object(request, request.namespace, request.name)
        if obj.deleted:
            raise KubernetesObjectNotFoundError()
        return obj.raw

    async def _serve_create(self, request: Any) -> Any:
        meta = (request.data or {}).get("metadata", {})
        obj = self._object(
            request, request.namespace or meta.get("namespace"), request.name or meta.get("name")
        )
        return obj.raw

    async def _serve_update(self, request: Any) -> Any:
        return self._object(request, request.namespace, request.name).last.raw

    async def _serve_delete(self, request: Any) -> Any:
        return self._object(request, request.namespace, request.name).last.raw


def new_cluster() -> kmock.KubernetesEmulator:
    cluster = FastKubernetesEmulator()
    cluster.resources.load_bundled()
    cluster.resources[TD_RESOURCE] = kmock.ResourceInfo(
        kind=c.KIND,
        namespaced=True,
        singular=c.SINGULAR,
        shortnames={c.SHORT_NAME},
        verbs={"get", "list", "watch", "create", "update", "patch", "delete"},
        subresources={"status"},
    )
    return cluster


def td_manifest(name: str = "demo", namespace: str = NAMESPACE, uid: str | None = None, **spec: Any) -> Obj:
    """A valid TutorDeployment; keyword arguments replace top-level spec fields."""
    body: Obj = {
        "images": {
            "agent": "registry.local/tutorplane/agent:1.0.0",
            "gateway": "registry.local/tutorplane/gateway:1.0.0",
            "guardrail": "registry.local/tutorplane/guardrail:1.0.0",
        },
        "secrets": {
            "openai": {"name": "providers", "key": "openai"},
            "anthropic": {"name": "providers", "key": "anthropic"},
            "livekit": {"name": "livekit"},
            "database": {"name": "database", "key": "url"},
        },
        "livekit": {"url": "wss://livekit.example.test"},
    }
    body.update(spec)
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "metadata": {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}", "generation": 1},
        "spec": body,
    }


def _deep_get(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


@dataclass
class ClusterSimulator:
    """Marks workloads ready, Jobs complete and HPAs active; deletes orphans (garbage collection)."""

    cluster: kmock.KubernetesEmulator
    period: float = 0.5
    ready: bool = True
    # Workloads (by name) kept unready while ``ready`` is true: one component lagging behind.
    not_ready: set[str] = field(default_factory=set)
    fail_jobs: bool = False
    collect_garbage: bool = True
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __aenter__(self) -> ClusterSimulator:
        self._tasks = [
            asyncio.create_task(self._react(plural), name=f"simulate {plural}") for plural in self.SIMULATED
        ]
        self._tasks.append(asyncio.create_task(self._loop(), name="cluster-simulator"))
        await asyncio.sleep(0)  # let the reactors subscribe before anything is written
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    SIMULATED = {
        "deployments": "apps/v1/deployments",
        "statefulsets": "apps/v1/statefulsets",
        "jobs": "batch/v1/jobs",
        "horizontalpodautoscalers": "autoscaling/v2/horizontalpodautoscalers",
    }

    async def _react(self, plural: str) -> None:
        """Watch one kind on the emulator's own event bus and answer every change at once."""
        resource = kmock.resource(self.SIMULATED[plural])
        bus = self.cluster._buses[resource]
        async for event in bus:
            if event.get("type") not in ("ADDED", "MODIFIED"):
                continue
            try:
                await self._settle(resource, event["object"])
            except Exception:  # a controller keeps running whatever one object does
                pass

    async def _settle(self, resource: Any, obj: Obj) -> None:
        status = self._status_for(resource.plural, obj)
        if status is None:
            return
        current = obj.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return
        meta = obj.get("metadata", {})
        await self._write_status(resource, meta.get("namespace"), meta.get("name"), status)

    async def _loop(self) -> None:
        """Re-check everything now and then (objects stored before the simulator started, flags
        flipped by a test) and collect garbage."""
        while True:
            try:
                await self.step()
            except Exception:
                pass
            await asyncio.sleep(self.period)

    def _snapshot(self, plurals: Any) -> list[tuple[Any, Any, Any, Obj]]:
        out: list[tuple[Any, Any, Any, Obj]] = []
        for (resource, namespace, name), obj in list(self.cluster.objects.items()):
            if getattr(resource, "plural", "") in plurals and not obj.deleted:
                out.append((resource, namespace, name, obj.raw))
        return out

    @staticmethod
    def _path(resource: Any, namespace: Any, name: Any) -> str:
        base = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
        return f"{base}/namespaces/{namespace}/{resource.plural}/{name}"

    async def collect(self) -> None:
        """Delete children whose TutorDeployment owner no longer exists (the garbage collector)."""
        owners = {(ns, obj.get("metadata", {}).get("uid")) for _, ns, _, obj in self._snapshot((c.PLURAL,))}
        for (resource, namespace, name), stored_obj in list(self.cluster.objects.items()):
            if stored_obj.deleted or getattr(resource, "plural", "") in (c.PLURAL, "events"):
                continue
            refs = [
                r
                for r in stored_obj.raw.get("metadata", {}).get("ownerReferences") or []
                if r.get("kind") == c.KIND
            ]
            if refs and all((namespace, ref.get("uid")) not in owners for ref in refs):
                with contextlib.suppress(Exception):
                    await self.cluster.delete(self._path(resource, namespace, name))

    async def step(self) -> None:
        if self.collect_garbage:
            await self.collect()
        for resource, _namespace, _name, obj in self._snapshot(self.SIMULATED):
            await self._settle(resource, obj)

    async def _write_status(self, resource: Any, namespace: str, name: str, status: Obj) -> None:
        """As a controller's status write: stored, and streamed to watchers as MODIFIED."""
        cluster = self.cluster
        async with cluster._lock:
            stored_obj = cluster.objects._objects.get((resource, namespace, name))
            if stored_obj is None or stored_obj.deleted:
                return
            stored_obj.patch({"status": status})
            await cluster._buses[resource].put({"type": "MODIFIED", "object": stored_obj.raw})

    def _status_for(self, plural: str, obj: Obj) -> Obj | None:
        if plural in ("deployments", "statefulsets"):
            replicas = _deep_get(obj, "spec", "replicas")
            replicas = 1 if replicas is None else replicas
            up = self.ready and _deep_get(obj, "metadata", "name") not in self.not_ready
            n = replicas if up else 0
            return {
                "replicas": replicas,
                "readyReplicas": n,
                "updatedReplicas": replicas,
                "availableReplicas": n,
                "observedGeneration": _deep_get(obj, "metadata", "generation") or 1,
            }
        if plural == "jobs":
            if self.fail_jobs:
                return {
                    "failed": 5,
                    "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
                }
            if not self.ready:
                return {"active": 1}
            return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
        if plural == "horizontalpodautoscalers":
            return {
                "currentReplicas": _deep_get(obj, "spec", "minReplicas") or 1,
                "desiredReplicas": _deep_get(obj, "spec", "minReplicas") or 1,
                "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}],
            }
        return None


# ------------------------------------------------------------------------------ Prometheus


@dataclass
class PrometheusEmulator:
    """``/api/v1/query`` answering from per-metric values set by the test.

    Values are keyed by the metric family a query mentions; a metric set to ``None`` answers an
    empty vector (no data). ``down`` makes every query fail with 503.
    """

    sessions: float | None = 100.0
    turn_latency_p95: float | None = 0.8
    error_rate: float | None = 0.01
    guardrail_block_rate: float | None = 0.01
    active_sessions: float | None = 0.0
    down: bool = False
    queries: list[str] = field(default_factory=list)
    url: str = ""
    _runner: aiohttp.web.AppRunner | None = None

    def value_for(self, query: str) -> float | None:
        if "histogram_quantile" in query:
            return self.turn_latency_p95
        if "session_errors" in query:
            return self.error_rate
        if "guardrail_decisions" in query:
            return self.guardrail_block_rate
        if "sessions_started" in query:
            return self.sessions
        if "active_sessions" in query:
            return self.active_sessions
        return None

    async def _handle(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        query = request.query.get("query", "")
        self.queries.append(query)
        if self.down:
            return aiohttp.web.json_response({"status": "error", "error": "emulated outage"}, status=503)
        value = self.value_for(query)
        result = [] if value is None or math.isnan(value) else [{"metric": {}, "value": [0, str(value)]}]
        return aiohttp.web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    async def __aenter__(self) -> PrometheusEmulator:
        app = aiohttp.web.Application()
        app.router.add_get("/api/v1/query", self._handle)
        self._runner = aiohttp.web.AppRunner(app)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# ------------------------------------------------------------------------------ the operator


def operator_settings(**overrides: Any) -> OperatorSettings:
    base: dict[str, Any] = {
        "namespaces": [NAMESPACE],
        "standalone": True,
        "resync_seconds": 0.5,
        "rollout_tick_seconds": 0.1,
        "child_debounce_seconds": 0.01,
        "webhook_port": 0,
        "post_events": True,
    }
    base.update(overrides)
    return OperatorSettings(**base)


@contextlib.asynccontextmanager
async def running_operator(
    cluster: kmock.KubernetesEmulator | str,
    settings: OperatorSettings | None = None,
    prometheus: PrometheusFactory = default_prometheus,
    admission: bool = False,
    identity: str | None = None,
) -> AsyncIterator[Runtime]:
    """kopf in-process against ``cluster`` (an emulator, or the URL of one in another process);
    returns once the TutorDeployment watch is open (or, for a URL, once kopf reports ready).

    Settings with ``standalone=False`` peer through ``peering_name`` (its KopfPeering object must
    exist); give each operator of one test process its own ``identity`` then."""
    ours = settings or operator_settings()
    url = cluster if isinstance(cluster, str) else str(cluster.url)
    rt = Runtime.create(ours, kopf.ConnectionInfo(server=url, insecure=True))
    registry = build_registry(rt, admission=admission, prometheus=prometheus, configure=False)
    kopf_settings = kopf.OperatorSettings()
    configure_kopf(kopf_settings, ours)
    # kopf's own Events have generated names, which kmock cannot store; ours have unique names.
    kopf_settings.posting.enabled = False
    kopf_settings.admission.server = None
    kopf_settings.scanning.disabled = True
    # Peers expire after this: a paused replica's shutdown waits out its peers' deadlines.
    kopf_settings.peering.lifetime = 3
    watched = 0 if isinstance(cluster, str) else len(cluster[kmock.action.WATCH, kmock.resource(TD_RESOURCE)])
    ready = asyncio.Event()
    stop = asyncio.Event()
    # Ours, so its API sessions can be closed after a cancelled operator (kopf closes them only on a
    # graceful stop; left open, aiohttp reported an unclosed session at interpreter exit).
    vault = Vault()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry,
            vault=vault,
            settings=kopf_settings,
            standalone=ours.standalone,
            peering_name=None if ours.standalone else ours.peering_name,
            identity=identity,  # type: ignore[arg-type]  # kopf's Identity is a NewType of str
            namespaces=ours.namespaces,
            clusterwide=ours.clusterwide,
            ready_flag=ready,
            stop_flag=stop,
        ),
        name="kopf-operator",
    )
    try:
        if isinstance(cluster, str) or not ours.standalone:
            # A peering replica that stands by opens no TutorDeployment watch: wait for kopf.
            await asyncio.wait_for(ready.wait(), 10)
            await asyncio.sleep(0.5)  # the watch requests follow readiness closely
        else:
            await wait_for(
                lambda: len(cluster[kmock.action.WATCH, kmock.resource(TD_RESOURCE)]) > watched, 10
            )
        yield rt
    finally:
        if not ours.standalone:
            # A peer leaves gracefully (kopf removes it from the peering object); cancelling
            # instead can leave kopf's farewell keep-alive waiting for credentials forever.
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await vault.close()
        await _close_watch_streams(kopf_settings)
        await rt.close()


async def _close_watch_streams(settings: kopf.OperatorSettings) -> None:
    """Close the watch streams a cancelled kopf (the one run with ``settings``) leaves suspended,
    outermost first.

    Left to the event loop's shutdown, they are closed together with the context managers inside
    them in no particular order; when an inner one goes first, kopf's outer stream fails with
    "generator didn't stop after athrow()" (printed, harmless, but it reads like a crash).
    """
    for obj in gc.get_objects():
        if (
            isinstance(obj, types.AsyncGeneratorType)
            and obj.ag_code.co_name == "infinite_watch"
            and obj.ag_frame is not None
            and obj.ag_frame.f_locals.get("settings") is settings
        ):
            await obj.aclose()


async def wait_for(condition: Callable[[], Any], within: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition`` (sync or async) until it is truthy; TimeoutError after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


def stored(
    cluster: kmock.KubernetesEmulator, resource: str, name: str, namespace: str = NAMESPACE
) -> Obj | None:
    try:
        obj = cluster.objects[kmock.resource(resource), namespace, name]
    except KeyError:
        return None
    if obj.deleted:
        return None
    raw: Obj = obj.raw
    return raw


def condition(td: Obj | None, kind: str) -> str | None:
    for cond in (td or {}).get("status", {}).get("conditions", []) or []:
        if cond.get("type") == kind:
            status: str = cond.get("status")
            return status
    return None


# ------------------------------------------------------------------------------ out-of-process cluster


async def serve_cluster(ready: Callable[[str], None], stop: asyncio.Event, period: float = 2.0) -> None:
    """kmock plus the simulated controllers, until ``stop`` is set; ``ready`` gets the URL."""
    emulator = new_cluster()
    async with (
        emulator,
        kmock.Server(emulator),
        ClusterSimulator(emulator, period=period, collect_garbage=False),
    ):
        ready(str(emulator.url))
        await stop.wait()


def _serve_main() -> None:
    """``python -m tutorplane.operator.testing``: the benchmark's cluster on another core.

    Prints the URL on stdout and runs until stdin closes.
    """
    import sys

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.readline() else None)

        def announce(url: str) -> None:
            sys.stdout.write(url + "\n")
            sys.stdout.flush()

        await serve_cluster(announce, stop)

    asyncio.run(main())


if __name__ == "__main__":
    _serve_main()


# ------------------------------------------------------------------------------ pytest plugin

try:
    import pytest
except ImportError:  # pragma: no cover - the operator image has no pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    async def cluster() -> AsyncIterator[kmock.KubernetesEmulator]:
        """A kmock Kubernetes emulator on loopback with builtins and the TutorDeployment CRD."""
        emulator = new_cluster()
        async with emulator, kmock.Server(emulator):
            yield emulator

    @pytest.fixture
    async def simulator(cluster: kmock.KubernetesEmulator) -> AsyncIterator[ClusterSimulator]:
        async with ClusterSimulator(cluster) as sim:
            yield sim

    @pytest.fixture
    async def prometheus() -> AsyncIterator[PrometheusEmulator]:
        async with PrometheusEmulator() as prom:
            yield prom
