"""Admission: each rejection is a sentence a platform engineer can act on; mutation fills what the
schema cannot; the handlers answer real AdmissionReview requests over kopf's webhook server."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
from typing import Any

import aiohttp
import kopf
import pytest
from operator_samples import SCENARIOS, scenario
from tutorplane.operator import admission
from tutorplane.operator.handlers.registry import build_registry
from tutorplane.operator.runtime import Runtime
from tutorplane.operator.testing import operator_settings

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_samples_are_admitted(name: str) -> None:
    errors, _ = admission.validate(scenario(name))
    assert errors == []


def _changed(change: Any) -> dict[str, Any]:
    td = scenario("a-only")
    change(td["spec"])
    return td


REJECTIONS = {
    "weights": (
        lambda s: s.update(variants={"A": {"weight": 70}, "B": {"enabled": True, "weight": 20}}),
        "weights of enabled variants must sum to 100 (got A=70, B=20, total 90)",
    ),
    "no variant": (
        lambda s: s.update(variants={"A": {"enabled": False, "weight": 0}}),
        "enable at least one variant",
    ),
    "drain": (
        lambda s: s.update(variants={"A": {"sessionCapSeconds": 3600, "drainGraceSeconds": 900}}),
        "drainGraceSeconds (900) must be >= sessionCapSeconds (3600)",
    ),
    "missing secret ref": (lambda s: s["secrets"].pop("openai"), "spec.secrets.openai is required"),
    "latest tag": (
        lambda s: s["images"].update(agent="registry.local/tutorplane/agent:latest"),
        "uses :latest, which moves under a running pool; pin a release tag or a digest",
    ),
    "untagged": (lambda s: s["images"].update(gateway="registry.local:5000/gateway"), "has no tag; pin it"),
    "bad digest": (lambda s: s["images"].update(guardrail="guardrail@sha256:abc"), "is not a sha256 digest"),
    "inline key": (
        lambda s: s["secrets"].update(
            openai={"name": "providers", "key": "openai", "value": "sk-proj-abcdefghijklmnopqrstu"}
        ),
        "looks like an OpenAI API key; store it in a Secret",
    ),
    "key in env": (
        lambda s: s.update(variants={"A": {"env": [{"name": "EXTRA", "value": "sk-ant-api03-abcdefghijk"}]}}),
        "spec.variants.A.env[0].value contains what looks like an Anthropic API key",
    ),
    "password in chart values": (
        lambda s: s.update(
            dependencies={"langfuse": {"mode": "disabled", "values": {"postgresql": {"password": "hunter2"}}}}
        ),
        "spec.dependencies.langfuse.values.postgresql.password holds a literal secret",
    ),
    "password in url": (
        lambda s: s.update(redis={"url": "redis://:hunter2@redis:6379/0"}),
        "spec.redis.url embeds a password in the URL",
    ),
    "unknown field": (lambda s: s.update(replicas=3), "spec.replicas is not a TutorDeployment field"),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_rejections_say_what_to_do(case: str) -> None:
    change, sentence = REJECTIONS[case]
    errors, _ = admission.validate(_changed(change))
    assert any(sentence in error for error in errors), errors


def test_long_names_are_rejected() -> None:
    td = scenario("a-only")
    td["metadata"]["name"] = "x" * 41
    errors, _ = admission.validate(td)
    assert "at most 40 characters" in errors[0]


def test_existing_secret_names_in_values_are_fine() -> None:
    td = _changed(
        lambda s: s.update(dependencies={"langfuse": {"values": {"postgresql": {"existingSecret": "pg"}}}})
    )
    assert admission.validate(td)[0] == []


def test_mutation_fills_drain_grace_single_variant_weight_and_migration_image() -> None:
    td = scenario("a-only")
    td["spec"]["variants"] = {
        "A": {"enabled": False, "weight": 0},
        "B": {"enabled": True, "sessionCapSeconds": 5400, "drainGraceSeconds": 3660},
    }
    patch, warnings = admission.mutate(td)
    assert patch["spec"]["variants"]["B"] == {"drainGraceSeconds": 5460, "weight": 100}
    assert patch["spec"]["images"]["migrations"] == td["spec"]["images"]["gateway"]
    assert len(warnings) == 2
    # An explicit, deliberately wrong drain grace is left for validation to refuse.
    td["spec"]["variants"]["B"]["drainGraceSeconds"] = 1200
    patch, _ = admission.mutate(td)
    assert "drainGraceSeconds" not in patch["spec"]["variants"]["B"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _review(obj: dict[str, Any], uid: str = "r1") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "tutorplane.dev", "version": "v1alpha1", "kind": "TutorDeployment"},
            "resource": {"group": "tutorplane.dev", "version": "v1alpha1", "resource": "tutordeployments"},
            "requestKind": {"group": "tutorplane.dev", "version": "v1alpha1", "kind": "TutorDeployment"},
            "requestResource": {
                "group": "tutorplane.dev",
                "version": "v1alpha1",
                "resource": "tutordeployments",
            },
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {"username": "platform-engineer"},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {},
        },
    }


@pytest.mark.integration
async def test_webhooks_over_kopfs_server(cluster: Any) -> None:
    """kopf serves the handlers; an AdmissionReview POSTed like the API server does gets answers."""
    port = _free_port()
    rt = Runtime.create(operator_settings(), kopf.ConnectionInfo(server=str(cluster.url), insecure=True))
    registry = build_registry(rt, admission=True, configure=False)
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    settings.scanning.disabled = True
    settings.admission.server = kopf.WebhookServer(addr="127.0.0.1", port=port, insecure=True)
    task = asyncio.create_task(
        kopf.operator(registry=registry, settings=settings, standalone=True, namespaces=["tutor"])
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/"):
                        break
                await asyncio.sleep(0.05)
            good = scenario("a-only")
            async with http.post(f"http://127.0.0.1:{port}/validate", json=_review(good)) as resp:
                answer = await resp.json()
            assert answer["response"]["allowed"] is True, answer

            bad = copy.deepcopy(good)
            bad["spec"]["images"]["agent"] = "agent:latest"
            async with http.post(f"http://127.0.0.1:{port}/validate", json=_review(bad, "r2")) as resp:
                answer = await resp.json()
            assert answer["response"]["allowed"] is False
            assert answer["response"]["uid"] == "r2"
            assert "pin a release tag or a digest" in answer["response"]["status"]["message"]

            only_b = scenario("b-only")
            only_b["spec"]["variants"]["B"].pop("weight")
            async with http.post(f"http://127.0.0.1:{port}/mutate", json=_review(only_b, "r3")) as resp:
                answer = await resp.json()
            assert answer["response"]["allowed"] is True
            assert answer["response"]["patchType"] == "JSONPatch"
            assert answer["response"].get("warnings")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await rt.close()
