"""The gateway end to end over real sockets: uvicorn, PostgreSQL, Redis and the model emulators."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from gateway_support import (
    AGENT_NAME_A,
    LIVEKIT_SECRET,
    TEN_SENTENCES,
    People,
    fetch,
    metric,
    stream_and_cancel,
    wait_rows,
    write_variant_config,
)
from tutorplane.db import repository
from tutorplane.gateway.services.variants import VariantConfig, assign_variant
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseEvent, SseReader

pytestmark = pytest.mark.integration

Client = Callable[..., ApiClient]


@pytest.fixture(scope="module")
def gateway(
    gateway_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("gateway-api")
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Tutorplane</title>")
    (dist / "assets" / "app-123.js").write_text("console.log('tutor')")
    status = root / "status.json"
    status.write_text(
        json.dumps(
            {
                "updatedAt": "2026-11-25T10:00:00Z",
                "deployments": [
                    {
                        "name": "tutor-a-r7",
                        "variant": "A",
                        "revision": "r7",
                        "weights": {"A": 50},
                        "replicas": 3,
                        "readyReplicas": 3,
                        "activeSessions": 12,
                        "rolloutStep": 2,
                        "lastAnalysis": {"result": "pass"},
                    },
                    {"name": "tutor-b-r3", "variant": "B", "weights": {"B": 50}, "replicas": 2},
                ],
            }
        )
    )
    variants = root / "variants.json"
    write_variant_config(variants, {"A": 50, "B": 50})
    env = {
        **gateway_env,
        "TUTOR_FRONTEND_DIST_DIR": str(dist),
        "TUTOR_PLATFORM_STATUS_PATH": str(status),
        "TUTOR_VARIANT_CONFIG_PATH": str(variants),
    }
    with GatewayProcess(env, log_path=root / "gateway.log") as process:
        yield process


def events_named(events: list[SseEvent], name: str) -> list[SseEvent]:
    return [e for e in events if e.event == name]


def session_for(
    client: ApiClient,
    variant: str | None = None,
    teacher: ApiClient | None = None,
    student_id: str | None = None,
) -> dict[str, Any]:
    if teacher is not None:
        response = teacher.post(
            "/api/sessions", json={"student_id": student_id}, headers={"X-Tutor-Variant": variant or "B"}
        )
        response.raise_for_status()
        return dict(response.json())
    return client.create_session()


# ------------------------------------------------------------------------------------------------
# probes, headers, static files
# ------------------------------------------------------------------------------------------------


def test_probes_metrics_and_security_headers(client_for: Client) -> None:
    client = client_for()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "draining": False,
        "checks": {"database": "ok", "redis": "ok", "guardrail": "ok"},
        "degraded": [],
    }
    response = client.get("/api/config")
    for header, value in {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
    }.items():
        assert response.headers[header] == value
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers
    https = client.get(
        "/api/config", headers={"X-Forwarded-Proto": "https"}
    )  # from a trusted proxy (loopback)
    assert https.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-request-id"]
    metrics = client.get("/metrics").text
    assert 'tutorplane_gateway_requests_total{method="GET",route="/api/config",status="2xx"}' in metrics


def test_built_frontend_is_served_with_spa_fallback(client_for: Client) -> None:
    client = client_for()
    assert "Tutorplane" in client.get("/").text
    assert "Tutorplane" in client.get("/teacher/escalations").text
    asset = client.get("/assets/app-123.js")
    assert asset.text == "console.log('tutor')" and "immutable" in asset.headers["cache-control"]
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404 and "no such endpoint" in missing.json()["detail"]
    assert client.get("/../../etc/passwd").status_code in (200, 404)  # never a file outside dist
    assert "root:" not in client.get("/..%2F..%2Fetc%2Fpasswd").text


def test_request_body_over_the_limit_is_refused(client_for: Client, people: People) -> None:
    _, token = people.student()
    client = client_for(token)
    response = client.post(
        "/api/sessions", content=b"{" + b" " * 100_000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "bytes" in response.json()["detail"]


# ------------------------------------------------------------------------------------------------
# identity, CSRF, authorization
# ------------------------------------------------------------------------------------------------


def test_local_login_sets_an_httponly_session_cookie(client_for: Client) -> None:
    client = client_for()
    demo = client.get("/api/auth/demo-users").json()
    assert {u["role"] for u in demo} == {"student", "teacher"}
    client.refresh_csrf()
    response = client.post("/api/auth/login", json={"login": "alex"})
    assert response.status_code == 200, response.text
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tutor_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "authenticated" and claims["app_metadata"]["role"] == "student"
    assert claims["sub"] == str(repository.DEMO_STUDENT_ID)
    client.csrf = body["csrf_token"]
    me = client.get("/api/auth/me").json()  # the cookie alone identifies the student
    assert me["display_name"] == "Alex" and me["role"] == "student"
    assert client.post("/api/auth/logout").json() == {"signed_out": True}
    assert client.get("/api/auth/me").status_code == 401


def test_login_refuses_unknown_users_and_needs_csrf(client_for: Client) -> None:
    client = client_for()
    assert client.post("/api/auth/login", json={"login": "alex"}).status_code == 403
    client.refresh_csrf()
    missing = client.post("/api/auth/login", json={"login": "nobody"})
    assert missing.status_code == 404 and "Alex" in missing.json()["detail"]


def test_csrf_is_required_and_bound_to_the_sign_in(client_for: Client, people: People) -> None:
    _, token = people.student()
    client = client_for(token)
    no_header = client.http.post("/api/sessions", json={})
    assert no_header.status_code == 403 and "X-CSRF-Token" in no_header.json()["detail"]
    stolen = client.csrf
    client.http.cookies.clear()
    no_cookie = client.http.post("/api/sessions", json={}, headers={"X-CSRF-Token": stolen or ""})
    assert no_cookie.status_code == 403 and "cookie" in no_cookie.json()["detail"]

    _, other_token = people.student()
    other = client_for(other_token)
    other.http.cookies.set("tutor_csrf", stolen or "")  # a token minted for someone else, replayed
    forged = other.http.post("/api/sessions", json={}, headers={"X-CSRF-Token": stolen or ""})
    assert forged.status_code == 403 and "another sign-in" in forged.json()["detail"]

    anonymous = client_for()
    anonymous.refresh_csrf()  # minted before sign-in: not valid for a signed-in request
    anonymous.http.headers["Authorization"] = f"Bearer {token}"
    assert anonymous.post("/api/sessions", json={}).status_code == 403
    client.refresh_csrf()
    assert client.post("/api/sessions", json={}).status_code == 201


def test_who_may_see_what(client_for: Client, people: People) -> None:
    assert client_for().get("/api/auth/me").status_code == 401
    assert client_for().http.post("/api/sessions", json={}).status_code in (401, 403)
    bad = client_for()
    bad.http.headers["Authorization"] = "Bearer not-a-token"
    assert bad.get("/api/auth/me").status_code == 401

    _, alice_token = people.student("Alice")
    _, bob_token = people.student("Bob")
    alice, bob = client_for(alice_token), client_for(bob_token)
    session = alice.create_session()["session_id"]
    for method, path, body in [
        ("get", f"/api/sessions/{session}", None),
        ("post", f"/api/sessions/{session}/turns", {"text": "hi"}),
        ("post", f"/api/sessions/{session}/escalate", {"reason": "help"}),
        ("post", f"/api/sessions/{session}/close", {}),
        ("post", f"/api/sessions/{session}/realtime/transcript", {"response_id": "r1", "role": "user"}),
        ("get", f"/api/sessions/{session}/events", None),
    ]:
        response = bob.get(path) if method == "get" else bob.post(path, json=body)
        assert response.status_code == 404, (path, response.text)

    assert alice.get("/api/teacher/sessions").status_code == 403
    assert alice.get("/api/reports/ab").status_code == 403
    assert alice.get("/api/platform/deployments").status_code == 403

    _, other_teacher_token, _ = people.other_teacher()
    stranger = client_for(other_teacher_token)
    assert stranger.get(f"/api/teacher/sessions/{session}/transcript").status_code == 404
    assert stranger.post(f"/api/teacher/sessions/{session}/hint", json={"text": "hello"}).status_code == 404
    assert stranger.post(f"/api/teacher/sessions/{session}/join").status_code == 404
    assert session not in {s["session_id"] for s in stranger.get("/api/teacher/sessions").json()}

    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    assert session in {s["session_id"] for s in teacher.get("/api/teacher/sessions").json()}
    assert teacher.get(f"/api/teacher/sessions/{session}/transcript").status_code == 200


# ------------------------------------------------------------------------------------------------
# sessions and variants
# ------------------------------------------------------------------------------------------------


def test_weighted_assignment_is_sticky_and_recorded(
    client_for: Client, people: People, seeded_dsn: str
) -> None:
    config = VariantConfig(weights={"A": 50, "B": 50})
    for _ in range(4):
        student_id, token = people.student()
        client = client_for(token)
        first, second = client.create_session(), client.create_session()
        expected = assign_variant(student_id, config, "tutorplane-ab-1")
        assert first["variant"] == second["variant"] == expected
        assert first["assignment_reason"] == "weighted"
        assert first["revision"] == {"A": "a-r7", "B": "b-r3"}[expected]
        (row,) = fetch(
            seeded_dsn,
            "SELECT variant, revision, assignment_reason, deployment FROM learning_sessions WHERE id = $1",
            uuid.UUID(first["session_id"]),
        )
        assert tuple(row) == (expected, first["revision"], "weighted", "gw-tests")


def test_published_weights_are_picked_up_without_a_restart(
    client_for: Client, people: People, gateway: GatewayProcess
) -> None:
    variants = Path(gateway.env["TUTOR_VARIANT_CONFIG_PATH"])
    write_variant_config(variants, {"A": 100, "B": 0})
    try:
        deadline = time.monotonic() + 10
        seen: list[str] = []
        while time.monotonic() < deadline:
            _, token = people.student()
            seen.append(client_for(token).create_session()["variant"])
            if seen[-3:] == ["A", "A", "A"]:
                break
            time.sleep(0.2)
        assert seen[-3:] == ["A", "A", "A"]
    finally:
        write_variant_config(variants, {"A": 50, "B": 50})


def test_a_version_the_operator_reports_unavailable_gets_no_new_sessions(
    client_for: Client, people: People, gateway: GatewayProcess
) -> None:
    # The agent pool has no ready worker: the operator publishes A as unavailable, with the reason.
    variants = Path(gateway.env["TUTOR_VARIANT_CONFIG_PATH"])
    reason = "no agent worker is ready (demo-agent: 0/2 ready)"
    write_variant_config(
        variants, {"A": 100, "B": 0}, enabled={"A": False, "B": True}, unavailableReason={"A": reason}
    )
    try:
        _, teacher_token = people.demo_teacher()
        teacher = client_for(teacher_token)
        student_id, token = people.student()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the gateway re-reads the file on change
            refused = teacher.post("/api/sessions?variant=A", json={"student_id": student_id})
            if refused.status_code == 503:
                break
            time.sleep(0.2)
        assert refused.status_code == 503 and reason in refused.json()["detail"]
        # Weighted 100 % to A, and still every new session goes to B (enabled, weighted 0).
        assert {client_for(people.student()[1]).create_session()["variant"] for _ in range(5)} == {"B"}

        write_variant_config(
            variants, {"A": 100, "B": 0}, enabled={"A": False, "B": False}, unavailableReason={"A": reason}
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = client_for(token).post("/api/sessions", json={})
            if response.status_code == 503:
                break
            time.sleep(0.2)
        assert response.status_code == 503
        assert response.json()["detail"] == (
            f"no version can take new sessions: version A: {reason}. Retry in a minute."
        )
    finally:
        write_variant_config(variants, {"A": 50, "B": 50})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the next tests expect A back
            if teacher.post("/api/sessions?variant=A", json={"student_id": student_id}).status_code == 201:
                break
            time.sleep(0.2)


def test_variant_override_is_for_qa_staff(client_for: Client, people: People) -> None:
    student_id, token = people.student()
    student = client_for(token)
    refused = student.post("/api/sessions", json={}, headers={"X-Tutor-Variant": "A"})
    assert refused.status_code == 403 and "QA" in refused.json()["detail"]
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    for variant in ("A", "B"):
        response = teacher.post(f"/api/sessions?variant={variant}", json={"student_id": student_id})
        assert response.status_code == 201, response.text
        assert response.json()["variant"] == variant and response.json()["assignment_reason"] == "override"
    assert teacher.post("/api/sessions", json={}, headers={"X-Tutor-Variant": "A"}).status_code == 422
    assert teacher.post("/api/sessions?variant=C", json={"student_id": student_id}).status_code == 422
    _, stranger_token, _ = people.other_teacher()
    stranger = client_for(stranger_token)
    assert stranger.post("/api/sessions?variant=A", json={"student_id": student_id}).status_code == 404


def test_version_a_token_joins_a_unique_room_with_agent_dispatch(
    client_for: Client, people: People, seeded_dsn: str
) -> None:
    student_id, _ = people.student()
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    sessions = [session_for(teacher, "A", teacher, student_id) for _ in range(2)]
    rooms = {s["livekit"]["room"] for s in sessions}
    assert len(rooms) == 2 and all(r.startswith("tutor-") for r in rooms)
    session = sessions[0]
    assert session["realtime"] is None
    lk = session["livekit"]
    assert lk["url"].startswith("wss://") and lk["agent_name"] == AGENT_NAME_A
    claims = jwt.decode(lk["token"], LIVEKIT_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["sub"] == student_id
    assert claims["video"]["room"] == lk["room"] and claims["video"]["roomJoin"] is True
    assert not claims["video"].get("roomAdmin")
    (dispatch,) = claims["roomConfig"]["agents"]
    assert dispatch["agentName"] == AGENT_NAME_A
    assert json.loads(dispatch["metadata"])["session_id"] == session["session_id"]
    (row,) = fetch(
        seeded_dsn, "SELECT room_name FROM learning_sessions WHERE id = $1", uuid.UUID(session["session_id"])
    )
    assert row["room_name"] == lk["room"]

    join = teacher.post(f"/api/teacher/sessions/{session['session_id']}/join")
    assert join.status_code == 200, join.text
    teacher_claims = jwt.decode(join.json()["token"], LIVEKIT_SECRET, algorithms=["HS256"])
    assert teacher_claims["video"]["room"] == lk["room"]
    assert not any(teacher_claims["video"].get(k) for k in ("roomAdmin", "roomCreate", "roomList"))


def test_version_b_gets_a_realtime_client_secret_with_tools(
    client_for: Client, people: People, emulator: Any
) -> None:
    student_id, _ = people.student()
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    session = session_for(teacher, "B", teacher, student_id)
    realtime = session["realtime"]
    assert realtime["client_secret"].startswith("ek_") and realtime["expires_at"] > time.time()
    assert set(realtime["tools"]) == {"ask_specialist", "request_teacher"}
    (request,) = emulator.script.requests("client_secrets")
    sent = request["session"]
    assert sent["audio"]["input"]["transcription"]["model"]
    assert sent["audio"]["output"]["voice"] == realtime["voice"]
    assert "ask_specialist" in sent["instructions"]
    join = teacher.post(f"/api/teacher/sessions/{session['session_id']}/join")
    assert join.status_code == 409


def test_a_fresh_realtime_key_lets_voice_connect_again(
    client_for: Client, people: People, emulator: Any
) -> None:
    student_id, student_token = people.student()
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    session = session_for(teacher, "B", teacher, student_id)
    path = f"/api/sessions/{session['session_id']}/realtime/key"
    student = client_for(student_token)
    assert student.http.post(path).status_code == 403  # state-changing: CSRF as everywhere
    fresh = student.post(path)
    assert fresh.status_code == 200, fresh.text
    key = fresh.json()
    assert (
        key["client_secret"].startswith("ek_")
        and key["client_secret"] != session["realtime"]["client_secret"]
    )
    assert key["expires_at"] > time.time() and key["voice"] == session["realtime"]["voice"]
    assert set(key["tools"]) == {"ask_specialist", "request_teacher"}
    assert len(emulator.script.requests("client_secrets")) == 2  # minted anew, with the session's config
    assert teacher.post(path).status_code == 200  # the QA session's creator too

    _, other_token = people.student()
    assert client_for(other_token).post(path).status_code == 404
    version_a = session_for(teacher, "A", teacher, student_id)
    refused = student.post(f"/api/sessions/{version_a['session_id']}/realtime/key")
    assert refused.status_code == 409 and "version A" in refused.json()["detail"]
    emulator.script.fail("client_secrets", status=500, times=5)
    failed = student.post(path)
    assert failed.status_code == 502 and "retry" in failed.json()["detail"]
    assert student.post(f"/api/sessions/{session['session_id']}/close", json={}).status_code == 200
    ended = student.post(path)
    assert ended.status_code == 409 and "ended" in ended.json()["detail"]


def test_realtime_secret_failure_leaves_no_session(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    student_id, _ = people.student()
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    emulator.script.fail("client_secrets", status=500, times=5)
    response = teacher.post("/api/sessions?variant=B", json={"student_id": student_id})
    assert response.status_code == 502 and "retry" in response.json()["detail"]
    rows = fetch(seeded_dsn, "SELECT 1 FROM learning_sessions WHERE student_id = $1", uuid.UUID(student_id))
    assert rows == []


# ------------------------------------------------------------------------------------------------
# guarded turns
# ------------------------------------------------------------------------------------------------


def test_full_guarded_turn_streams_ordered_events_with_audio_and_audits(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    emulator.script.messages(TEN_SENTENCES)
    events = client.turn(session, "What is 7 times 8?")
    names = [e.event for e in events]
    assert names[0] == "turn" and names[1] == "routing" and names[-1] == "done"
    assert "error" not in names
    routing = events[1].data
    assert (
        routing["subject"] == "math"
        and 0 <= routing["confidence"] <= 1
        and routing["stage"] in ("local", "llm")
    )
    sentences = events_named(events, "sentence")
    assert [s.data["index"] for s in sentences] == list(range(10))
    assert " ".join(s.data["text"] for s in sentences) == TEN_SENTENCES
    # Speech never runs ahead of the text: audio covers sentences already sent, in order, all of them.
    announced, spoken_upto, audio_bytes = -1, -1, 0
    covered: set[int] = set()
    for event in events:
        if event.event == "sentence":
            announced = event.data["index"]
        elif event.event == "audio":
            first, last = event.data["index"], event.data["through"]
            assert first <= last <= announced and first >= spoken_upto
            assert event.data["sample_rate"] == 24000
            pcm = base64.b64decode(event.data["pcm"])
            assert len(pcm) % 2 == 0 and len(pcm) > 0
            audio_bytes += len(pcm)
            covered.update(range(first, last + 1))
            spoken_upto = first
    assert covered == set(range(10))
    first_audio = next(e for e in events if e.event == "audio")
    assert (
        first_audio.data["index"] == 0
    )  # speech starts at the first sentence (alone or with those released with it)
    done = events[-1].data
    assert done["outcome"] == "completed" and done["sentences"] == 10
    for stage in ("input_check", "routing", "first_token", "first_sentence", "first_audio", "total"):
        assert stage in done["latency_ms"]
    kinds = {(u["provider"], u["kind"]) for u in done["usage"]}
    assert ("anthropic", "chat") in kinds and ("openai", "tts") in kinds

    sid = uuid.UUID(session)
    turns = wait_rows(
        seeded_dsn,
        "SELECT speaker, role, content, subject, latency_ms, checked_sentences FROM transcript_turns "
        "WHERE session_id = $1 ORDER BY id",
        sid,
        at_least=2,
    )
    assert [(t["speaker"], t["role"]) for t in turns] == [("student", "user"), ("math", "assistant")]
    assert turns[1]["content"] == TEN_SENTENCES and turns[1]["latency_ms"] > 0
    assert turns[1]["checked_sentences"] == 10  # the block-rate denominator
    (decision,) = wait_rows(
        seeded_dsn, "SELECT subject, strategy FROM routing_decisions WHERE session_id = $1", sid
    )
    assert tuple(decision) == ("math", "two_stage")
    usage = wait_rows(
        seeded_dsn,
        "SELECT provider, kind, audio_seconds FROM provider_usage WHERE session_id = $1",
        sid,
        at_least=1 + len({e.data["index"] for e in events_named(events, "audio")}),  # chat + each TTS request
    )
    tts_seconds = sum(u["audio_seconds"] for u in usage if u["kind"] == "tts")
    assert tts_seconds == pytest.approx(audio_bytes / 48000, rel=0.01)


def test_unsafe_sentence_is_replaced_before_it_is_spoken(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    emulator.script.moderation("gory detail", {"violence/graphic": 0.97})
    emulator.script.chat("The battle started at dawn. Here is a gory detail about it. Then the war ended.")
    events = client.turn(session, "Tell me about the battle of Hastings in history", speak=False)
    guardrail = events_named(events, "guardrail")
    assert [g.data["action"] for g in guardrail] == ["block"]
    assert guardrail[0].data["category"] == "violence/graphic"
    texts = [s.data["text"] for s in events_named(events, "sentence")]
    assert texts[0] == "The battle started at dawn." and texts[-1] == "Then the war ended."
    assert all("gory" not in t for t in texts)
    assert events.index(guardrail[0]) < events.index(events_named(events, "sentence")[1])
    rows = wait_rows(
        seeded_dsn,
        "SELECT direction, action, category FROM guardrail_events "
        "WHERE session_id = $1 AND action <> 'allow'",
        uuid.UUID(session),
    )
    assert ("output", "block", "violence/graphic") in {tuple(r) for r in rows}


def test_provider_failures_during_a_turn_are_told_to_the_student_and_counted(
    client_for: Client, people: People, emulator: Any
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]

    def failed_turns() -> float:
        text = client.get("/metrics").text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("tutorplane_session_errors_total{") and 'variant="B"' in line
        )

    before = failed_turns()
    # The math model is overloaded, retries too: the tutor apologises out loud, and the turn counts
    # as failed (the error-rate alert and the rollout analysis read it, as for the agent pool).
    emulator.script.fail("messages", status=529, times=10)
    try:
        events = client.turn(session, "What is 7 times 8?")
    finally:
        emulator.script.reset()
    texts = [e.data["text"] for e in events_named(events, "sentence")]
    assert texts == [
        "Sorry, I'm having trouble thinking right now.",
        "Could you ask me that again in a moment?",
    ]
    assert events_named(events, "audio") and events[-1].data["outcome"] == "error"
    assert failed_turns() == before + 1

    # Speech fails: the answer still arrives as text with one notice, and the turn is complete.
    emulator.script.fail("speech", status=500, times=10)
    emulator.script.messages("Seven times eight is fifty-six. Count eight groups of seven.")
    try:
        events = client.turn(session, "What is 7 times 8?")
    finally:
        emulator.script.reset()
    assert [e.data["text"] for e in events_named(events, "sentence")] == [
        "Seven times eight is fifty-six.",
        "Count eight groups of seven.",
    ]
    assert [e.data["message"] for e in events_named(events, "error")] == [
        "Speech is unavailable right now; the answer is shown as text."
    ]
    assert not events_named(events, "audio") and events[-1].data["outcome"] == "completed"
    assert failed_turns() == before + 1
    assert metric(client.get("/metrics").text, "tutorplane_gateway_speech_errors_total ") >= 1


def test_flagged_student_input_is_not_answered_and_escalates(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    emulator.script.moderation("hurt myself", {"self-harm/intent": 0.95})
    events = client.turn(session, "I want to hurt myself", speak=False)
    names = [e.event for e in events]
    assert "routing" not in names
    (guardrail,) = events_named(events, "guardrail")
    assert guardrail.data["direction"] == "input" and guardrail.data["action"] == "escalate"
    assert names.index("escalation") < names.index("sentence")
    assert "teacher" in events_named(events, "sentence")[0].data["text"]
    assert emulator.script.requests("messages") == [] and emulator.script.requests("chat") == []
    (row,) = wait_rows(
        seeded_dsn, "SELECT source, status FROM escalation_events WHERE session_id = $1", uuid.UUID(session)
    )
    assert tuple(row) == ("guardrail", "open")


def test_personal_details_are_masked_before_reaching_a_model(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    client.turn(
        session, "My email is kid@example.org, what year did World War 2 end in history?", speak=False
    )
    sent = json.dumps(emulator.script.requests("chat") + emulator.script.requests("messages"))
    assert "kid@example.org" not in sent
    rows = wait_rows(
        seeded_dsn,
        "SELECT content FROM transcript_turns WHERE session_id = $1 AND role = 'user'",
        uuid.UUID(session),
    )
    assert "kid@example.org" not in rows[0]["content"]


def test_cancel_stops_generation_and_speech(client_for: Client, people: People, emulator: Any) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    emulator.script.messages(TEN_SENTENCES, chunk_delay_s=0.15)
    received, cancel = stream_and_cancel(client, session)
    assert cancel == {"turn_id": received[0].data["turn_id"], "cancelled": True}
    done = received[-1]
    assert done.event == "done" and done.data["cancelled"] is True and done.data["outcome"] == "cancelled"
    assert len(events_named(received, "sentence")) < 10
    unknown = client.post(f"/api/sessions/{session}/turns/{uuid.uuid4().hex}/cancel")
    assert unknown.status_code == 200


def test_closing_the_stream_cancels_the_turn(client_for: Client, people: People, emulator: Any) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    emulator.script.messages(TEN_SENTENCES, chunk_delay_s=0.2)
    with client.stream(
        "POST", f"/api/sessions/{session}/turns", json={"text": "What is 7 times 8?"}
    ) as events:
        assert next(events).event == "turn"
    deadline = time.monotonic() + 10
    line = ""
    while time.monotonic() < deadline:
        metrics = client.get("/metrics").text
        line = next(
            m for m in metrics.splitlines() if m.startswith('tutorplane_gateway_active_streams{kind="turn"}')
        )
        if line.endswith(" 0.0"):
            break
        time.sleep(0.05)
    assert line.endswith(" 0.0")
    assert 'tutorplane_gateway_turns_total{outcome="cancelled"}' in client.get("/metrics").text


def test_turn_input_is_validated(client_for: Client, people: People) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    assert client.post(f"/api/sessions/{session}/turns", json={"text": "   "}).status_code == 422
    assert client.post(f"/api/sessions/{session}/turns", json={"text": "x" * 1001}).status_code == 422
    assert client.post(f"/api/sessions/{session}/turns", json={"text": "hi", "extra": 1}).status_code == 422
    # Text PostgreSQL cannot store is the client's mistake (422 naming it), never a 5xx (schema fuzzing found it).
    nul = client.post(f"/api/sessions/{session}/turns", json={"text": "seven\u0000eight"})
    assert nul.status_code == 422 and "NUL" in nul.text
    surrogate = client.post(
        f"/api/sessions/{session}/escalate",
        content=b'{"reason": "help \\ud800"}',  # a lone surrogate, escaped as JSON allows
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422 and "unicode" in surrogate.text.lower()
    created = client.post("/api/sessions", json={"client": {"P!A\u0000": True}})
    assert created.status_code == 422 and "NUL" in created.text


# ------------------------------------------------------------------------------------------------
# escalations, teacher feed, hints
# ------------------------------------------------------------------------------------------------


def test_escalation_reaches_only_the_right_teacher_live_and_ack_and_hint_reach_the_student(
    client_for: Client, people: People, gateway: GatewayProcess, seeded_dsn: str
) -> None:
    _, token = people.student("Mia")
    student = client_for(token)
    session = student.create_session()["session_id"]
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    _, stranger_token, _ = people.other_teacher()
    last = fetch(seeded_dsn, "SELECT coalesce(max(id), 0) AS m FROM escalation_events")[0]["m"]

    feed = SseReader(
        gateway.url,
        f"/api/teacher/escalations/stream?since={last}",
        headers={"Authorization": f"Bearer {teacher_token}"},
    ).start()
    other_feed = SseReader(
        gateway.url,
        f"/api/teacher/escalations/stream?since={last}",
        headers={"Authorization": f"Bearer {stranger_token}"},
    ).start()
    student_events = SseReader(
        gateway.url, f"/api/sessions/{session}/events", headers={"Authorization": f"Bearer {token}"}
    ).start()
    try:
        assert feed.status == 200 and student_events.status == 200
        student_events.next_event("ready")
        feed.events_until_heartbeats(1)  # replay done, now live
        created = student.post(f"/api/sessions/{session}/escalate", json={"reason": "I don't get fractions"})
        assert created.status_code == 201, created.text
        escalation = created.json()["escalation"]
        event = feed.next_event("escalation")
        assert int(event.id or 0) == escalation["id"]
        assert event.data["student_name"] == "Mia" and event.data["source"] == "student"
        assert student_events.next_event("escalation").data["status"] == "open"
        assert [e for e in other_feed.events_until_heartbeats(2) if e.data.get("session_id") == session] == []

        ack = teacher.post(f"/api/teacher/escalations/{escalation['id']}/ack")
        assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
        assert student_events.next_event("teacher_ack").data["escalation_id"] == escalation["id"]
        stranger = client_for(stranger_token)
        assert stranger.post(f"/api/teacher/escalations/{escalation['id']}/ack").status_code == 404

        hint = teacher.post(f"/api/teacher/sessions/{session}/hint", json={"text": "Try drawing a pizza."})
        assert hint.status_code == 200 and hint.json()["delivered_to"] >= 1 and hint.json()["stored"] is True
        received = student_events.next_event("hint")
        assert received.data["text"] == "Try drawing a pizza." and received.data["teacher"] == "Ms. Rivera"
        transcript = teacher.get(f"/api/teacher/sessions/{session}/transcript").json()
        assert ("teacher", "Try drawing a pizza.") in {
            (t["speaker"], t["content"]) for t in transcript["turns"]
        }
    finally:
        feed.close()
        other_feed.close()
        student_events.close()


def test_feed_replays_after_last_event_id(
    client_for: Client, people: People, gateway: GatewayProcess
) -> None:
    _, token = people.student()
    student = client_for(token)
    session = student.create_session()["session_id"]
    ids = [
        student.post(f"/api/sessions/{session}/escalate", json={"reason": f"help {i}"}).json()["escalation"][
            "id"
        ]
        for i in range(3)
    ]
    _, teacher_token = people.demo_teacher()
    feed = SseReader(
        gateway.url,
        "/api/teacher/escalations/stream",
        headers={"Authorization": f"Bearer {teacher_token}", "Last-Event-ID": str(ids[0])},
    ).start()
    try:
        replayed = [e for e in feed.events_until_heartbeats(1) if e.data["session_id"] == session]
        assert [int(e.id or 0) for e in replayed] == ids[1:]
    finally:
        feed.close()
    bad = client_for(teacher_token).get("/api/teacher/escalations/stream", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422


# ------------------------------------------------------------------------------------------------
# version B realtime transcripts, closing, telemetry, platform
# ------------------------------------------------------------------------------------------------


def test_realtime_transcripts_are_moderated_and_stored(
    client_for: Client, people: People, emulator: Any, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    path = f"/api/sessions/{session}/realtime/transcript"
    emulator.script.moderation("nasty words", {"harassment/threatening": 0.9})

    def post(**body: Any) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert post(response_id="resp_1", role="assistant", delta="A noun is a naming ")["action"] == "continue"
    assert (
        post(
            response_id="resp_1",
            role="assistant",
            delta="word. Like cat.",
            final=True,
            usage={"input_tokens": 50, "output_tokens": 20, "audio_seconds": 2.5},
        )["action"]
        == "continue"
    )
    flagged = post(response_id="resp_2", role="assistant", delta="Here come nasty words. And more")
    assert flagged["action"] == "cancel_response" and flagged["message"]
    student_flagged = post(
        response_id="item_9", role="user", delta="I will hurt you with nasty words", final=True
    )
    assert student_flagged["action"] == "cancel_response"
    sid = uuid.UUID(session)
    turns = wait_rows(
        seeded_dsn, "SELECT speaker, content FROM transcript_turns WHERE session_id = $1", sid, at_least=2
    )
    assert ("english", "A noun is a naming word. Like cat.") in {tuple(t) for t in turns}
    (usage,) = wait_rows(
        seeded_dsn, "SELECT kind, input_tokens FROM provider_usage WHERE session_id = $1", sid
    )
    assert tuple(usage) == ("realtime", 50)


def test_close_builds_the_report_server_side_and_ends_turns(
    client_for: Client, people: People, seeded_dsn: str
) -> None:
    _, token = people.student()
    client = client_for(token)
    session = client.create_session()["session_id"]
    client.turn(session, "What is 2 plus 2?", speak=False)
    closed = client.post(f"/api/sessions/{session}/close", json={})
    assert closed.status_code == 200, closed.text
    report = closed.json()["session_report"]
    assert report["report_source"] == "server" and report["turns"]["total"] == 2
    assert report["subjects"] == {"math": 1}
    assert client.post(f"/api/sessions/{session}/turns", json={"text": "again"}).status_code == 409
    other = client.create_session()["session_id"]
    mine = client.post(f"/api/sessions/{other}/close", json={"session_report": {"summary": "client"}})
    assert mine.json()["session_report"] == {"summary": "client"}
    (row,) = fetch(
        seeded_dsn, "SELECT session_report, ended_at FROM learning_sessions WHERE id = $1", uuid.UUID(other)
    )
    assert row["ended_at"] is not None


def test_browser_events_never_fail_the_ui(client_for: Client, people: People) -> None:
    _, token = people.student()
    client = client_for(token)
    ok = client.post("/api/events", json={"name": "mic.permission", "attributes": {"granted": True}})
    assert ok.status_code == 202 and ok.json() == {"accepted": True, "reason": None}
    for body in ({"name": "Bad Name"}, {"name": "x", "attributes": {"Bad-Key": 1}}, {"nope": 1}):
        response = client.post("/api/events", json=body)
        assert response.status_code == 202 and response.json()["accepted"] is False
    raw = client.post("/api/events", content=b"not json", headers={"content-type": "application/json"})
    assert raw.status_code == 202 and raw.json()["accepted"] is False
    huge = client.post("/api/events", json={"name": "x", "attributes": {"a": "y" * 20000}})
    assert huge.status_code == 202 and "bytes" in huge.json()["reason"]
    no_csrf = client.http.post("/api/events", json={"name": "page.view"})
    assert no_csrf.status_code == 202 and no_csrf.json()["accepted"] is False


def test_platform_status_and_ab_report(client_for: Client, people: People) -> None:
    _, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    status = teacher.get("/api/platform/deployments").json()
    assert status["source"] == "operator status"
    first = status["deployments"][0]
    assert first["name"] == "tutor-a-r7" and first["active_sessions"] == 12 and first["rollout_step"] == "2"
    report = teacher.get("/api/reports/ab")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["deployment"] == "gw-tests" and {v["variant"] for v in body["variants"]} == {"A", "B"}
    assert body["enough_data"] is False and body["verdict"].startswith("Not enough sessions yet")
    for variant in body["variants"]:
        assert set(variant["escalation_rate"]) == {"value", "ci_low", "ci_high", "n"}


def test_openapi_is_typed(client_for: Client) -> None:
    spec = client_for().get("/api/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ok = (
                operation["responses"].get("200")
                or operation["responses"].get("201")
                or operation["responses"].get("202")
            )
            assert ok is not None, (method, path)
            content = ok.get("content", {})
            assert content, (method, path)
            if "application/json" in content:
                assert content["application/json"]["schema"], (method, path)
