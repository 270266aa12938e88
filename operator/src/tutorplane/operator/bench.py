"""Operator benchmark on the kmock Kubernetes emulator (same process, loopback HTTP).

Figures:
1. one TutorDeployment from create to Ready: p50/p99 over sequential runs (target p99 <= 2 s),
   beside the floor: the same number of writes sent straight to the emulator by one client;
2. 200 TutorDeployments created at once until all are Ready (target <= 60 s);
3. requests per no-op resync (target 0 writes), beside a naive "apply every child" resync;
4. process RSS with 200 TutorDeployments (kmock and the simulated controllers share the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import kmock
import psutil

from . import constants as c
from .resources import lookup_builtin
from .testing import (
    NAMESPACE,
    TD_RESOURCE,
    ClusterSimulator,
    condition,
    new_cluster,
    operator_settings,
    running_operator,
    stored,
    td_manifest,
    wait_for,
)

TD_PATH = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{NAMESPACE}/{c.PLURAL}"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _is_ready(cluster: kmock.KubernetesEmulator, name: str) -> Any:
    return lambda: condition(stored(cluster, TD_RESOURCE, name), "Ready") == "True"


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


async def _floor(cluster: kmock.KubernetesEmulator, children: list[dict[str, Any]]) -> float:
    """Time for one client to POST the children serially: what the emulator itself costs."""
    started = time.perf_counter()
    for obj in children:
        meta = {"name": obj["metadata"]["name"] + "-floor", "namespace": NAMESPACE}
        body = {**obj, "metadata": meta}
        await cluster.post(lookup_builtin(obj["apiVersion"], obj["kind"]).path(NAMESPACE), json=body)
    return time.perf_counter() - started


async def bench_create_to_ready(runs: int = 20) -> dict[str, float]:
    cluster = new_cluster()
    async with (
        cluster,
        kmock.Server(cluster),
        ClusterSimulator(cluster, collect_garbage=False),
        running_operator(cluster, operator_settings(resync_seconds=30)) as rt,
    ):
        latencies: list[float] = []
        for i in range(runs):
            name = f"ready-{i}"
            started = time.perf_counter()
            await cluster.post(TD_PATH, json=td_manifest(name))
            await wait_for(_is_ready(cluster, name), 30, interval=0.002)
            latencies.append(time.perf_counter() - started)
        children = [
            obj.raw
            for (res, _ns, name), obj in list(cluster.objects.items())
            if name.startswith("ready-0-") and getattr(res, "plural", "") not in ("events",)
        ]
        floor = await _floor(cluster, children)
        del rt
    return {
        "p50": statistics.median(latencies),
        "p99": _percentile(latencies, 0.99),
        "floor": floor,
        "children": float(len(children)),
    }


@contextlib.asynccontextmanager
async def cluster_process() -> AsyncIterator[str]:
    """kmock and the simulated controllers in a child process (the second core); yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tutorplane.operator.testing",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        url = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        if not url.startswith("http"):
            raise RuntimeError("the cluster process did not start")
        yield url
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _ready(td: dict[str, Any]) -> bool:
    return condition(td, "Ready") == "True"


async def bench_many(count: int = 200, resync: float = 2.0) -> dict[str, float]:
    rss_before = _rss_mb()
    async with cluster_process() as url, aiohttp.ClientSession(base_url=url) as http:
        settings = operator_settings(
            resync_seconds=resync, rollout_tick_seconds=5.0, child_debounce_seconds=0.3
        )
        async with running_operator(url, settings) as rt:
            rss_idle = _rss_mb()
            started = time.perf_counter()
            for i in range(0, count, 20):
                await asyncio.gather(
                    *(http.post(TD_PATH, json=td_manifest(f"many-{j}")) for j in range(i, min(count, i + 20)))
                )

            async def all_ready() -> bool:
                async with http.get(TD_PATH) as response:
                    items = (await response.json())["items"]
                return len(items) == count and all(_ready(item) for item in items)

            await wait_for(all_ready, 900, interval=0.25)
            converged = time.perf_counter() - started
            operator_requests = sum(rt.client.calls.values())
            # Quiesce: until the operator's client has been silent for two resync periods.
            last, quiet_since = sum(rt.client.calls.values()), time.perf_counter()
            while time.perf_counter() - quiet_since < 2 * resync:
                await asyncio.sleep(0.2)
                now = sum(rt.client.calls.values())
                if now != last:
                    last, quiet_since = now, time.perf_counter()
            writes_before, calls_before = rt.client.writes, sum(rt.client.calls.values())
            window = 3 * resync
            await asyncio.sleep(window)
            resyncs = count * (window / resync)
            writes = (rt.client.writes - writes_before) / resyncs
            requests = (sum(rt.client.calls.values()) - calls_before) / resyncs
            children = len(rt.cache)
            rss_full = _rss_mb()
            floor = await _emulator_floor(http, operator_requests)
    return {
        "count": float(count),
        "converged": converged,
        "writes_per_resync": writes,
        "requests_per_resync": requests,
        "naive_writes_per_resync": children / count,  # an apply-everything resync: one write per child
        "rss_before": rss_before,
        "rss_idle": rss_idle,
        "rss_full": rss_full,
        "operator_requests": float(operator_requests),
        "floor": floor,
    }


async def _emulator_floor(http: aiohttp.ClientSession, requests: int, concurrency: int = 64) -> float:
    """Seconds the emulator needs to take ``requests`` small writes from a plain client."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"floor-{index}", "namespace": NAMESPACE},
            "data": {"k": "v" * 2048},
        }
        async with gate, http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=body) as response:
            await response.read()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return time.perf_counter() - started


def main() -> None:
    single = asyncio.run(bench_create_to_ready())
    print("operator bench (kmock emulator, kopf in-process, simulated controllers)")
    print(
        f"create -> Ready: p50 {single['p50'] * 1000:.0f} ms, p99 {single['p99'] * 1000:.0f} ms (target p99 <= 2000 ms); "
        f"floor: {int(single['children'])} serial POSTs by one client {single['floor'] * 1000:.0f} ms "
        f"(p50 / floor = {single['p50'] / single['floor']:.2f}x)"
    )
    many = asyncio.run(bench_many())
    print(
        f"{int(many['count'])} TutorDeployments created at once -> all Ready in {many['converged']:.1f} s (target <= 60 s); "
        f"the operator sent {int(many['operator_requests'])} requests; the emulator alone takes {many['floor']:.1f} s "
        f"for that many writes from a plain client (converge / floor = {many['converged'] / many['floor']:.2f}x)"
    )
    print(
        f"no-op resync: {many['writes_per_resync']:.3f} writes and {many['requests_per_resync']:.3f} requests per "
        f"TutorDeployment per resync (target 0); an apply-every-child resync: {many['naive_writes_per_resync']:.0f} writes"
    )
    print(
        f"operator RSS: {many['rss_idle']:.0f} MB idle, {many['rss_full']:.0f} MB with {int(many['count'])} "
        f"TutorDeployments and their cached children (+{many['rss_full'] - many['rss_idle']:.0f} MB; kmock runs in "
        f"another process)"
    )


if __name__ == "__main__":
    main()
