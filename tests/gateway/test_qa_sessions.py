"""QA sessions run by the staff member who started them, and the caller-aware public config.

Real gateway processes over PostgreSQL, Redis and the model emulators.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gateway_support import GENEROUS_LIMITS, JWT_SECRET, People, fetch, wait_rows
from tutorplane.gateway.core.identity import Role
from tutorplane.gateway.testing import ApiClient, GatewayProcess, SseReader, token_for

pytestmark = pytest.mark.integration

Client = Callable[..., ApiClient]
READS = 5
ANSWER = "Seven times eight is fifty-six. Count eight sevens to check it."


def admin_token() -> tuple[str, str]:
    admin_id = str(uuid.uuid4())
    return admin_id, token_for(JWT_SECRET, admin_id, Role.admin, name="Admin QA")


def qa_session(staff: ApiClient, student_id: str, variant: str = "B") -> str:
    response = staff.post(f"/api/sessions?variant={variant}", json={"student_id": student_id})
    assert response.status_code == 201, response.text
    assert response.json()["assignment_reason"] == "override"
    return str(response.json()["session_id"])


def run_paths(session: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("post", f"/api/sessions/{session}/turns", {"text": "What is 7 times 8?", "speak": False}),
        ("post", f"/api/sessions/{session}/turns/{uuid.uuid4().hex}/cancel", None),
        ("post", f"/api/sessions/{session}/escalate", {"reason": "QA check"}),
        ("post", f"/api/sessions/{session}/realtime/transcript", {"response_id": "r1", "role": "user"}),
        ("get", f"/api/sessions/{session}/events", None),
    ]


def test_teacher_runs_turns_cancels_and_escalates_in_their_own_qa_session(
    client_for: Client, people: People, emulator: Any, gateway: GatewayProcess, seeded_dsn: str
) -> None:
    student_id, _ = people.student("Quinn")
    teacher_id, teacher_token = people.demo_teacher()
    teacher = client_for(teacher_token)
    session = qa_session(teacher, student_id, "B")
    (row,) = fetch(seeded_dsn, "SELECT metadata FROM learning_sessions WHERE id = $1", uuid.UUID(session))
    assert '"created_by_role": "teacher"' in row["metadata"]

    events = SseReader(
        gateway.url, f"/api/sessions/{session}/events", headers={"Authorization": f"Bearer {teacher_token}"}
    ).start()
    try:
        assert events.status == 200
        events.next_event("ready")

        emulator.script.messages(ANSWER)
        turn = teacher.turn(session, "What is 7 times 8?", speak=False)
        assert turn[0].event == "turn" and turn[-1].event == "done"
        assert turn[-1].data["outcome"] == "completed", turn[-1].data
        assert " ".join(e.data["text"] for e in turn if e.event == "sentence") == ANSWER

        emulator.script.messages(" ".join([ANSWER] * 6), chunk_delay_s=0.15)
        received = []
        with teacher.stream(
            "POST", f"/api/sessions/{session}/turns", json={"text": "What is 7 times 8?", "speak": False}
        ) as stream:
            for event in stream:
                received.append(event)
                if event.event == "sentence" and len(received) < 50:
                    turn_id = received[0].data["turn_id"]
                    cancel = teacher.post(f"/api/sessions/{session}/turns/{turn_id}/cancel")
                    assert cancel.json() == {"turn_id": turn_id, "cancelled": True}
        assert received[-1].event == "done" and received[-1].data["outcome"] == "cancelled"

        verdict = teacher.post(
            f"/api/sessions/{session}/realtime/transcript",
            json={"response_id": "r1", "role": "assistant", "delta": "A noun names a thing."},
        )
        assert verdict.status_code == 200 and verdict.json()["action"] == "continue"

        escalated = teacher.post(f"/api/sessions/{session}/escalate", json={"reason": "   "})
        assert escalated.status_code == 201, escalated.text
        assert escalated.json()["escalation"]["source"] == "teacher"
        assert escalated.json()["escalation"]["reason"] == "QA session: staff asked"
        assert events.next_event("escalation").data["status"] == "open"
    finally:
        events.close()

    turns = wait_rows(
        seeded_dsn,
        "SELECT speaker, role FROM transcript_turns WHERE session_id = $1 ORDER BY id",
        uuid.UUID(session),
        at_least=2,
    )
    assert [(t["speaker"], t["role"]) for t in turns][:2] == [("student", "user"), ("math", "assistant")]
    assert teacher_id != student_id


def test_admin_runs_their_own_qa_session(client_for: Client, people: People, emulator: Any) -> None:
    student_id, _ = people.student()
    _, token = admin_token()
    admin = client_for(token)
    session = qa_session(admin, student_id, "B")
    emulator.script.messages(ANSWER)
    assert admin.turn(session, "What is 7 times 8?", speak=False)[-1].data["outcome"] == "completed"


def test_only_the_student_and_the_qa_creator_run_a_session(client_for: Client, people: People) -> None:
    student_id, student_token = people.student("Rae")
    _, classmate_token = people.student("Sam")
    _, teacher_token = people.demo_teacher()
    _, stranger_token, _ = people.other_teacher()
    _, other_admin = admin_token()
    student, classmate = client_for(student_token), client_for(classmate_token)
    teacher, stranger, admin = client_for(teacher_token), client_for(stranger_token), client_for(other_admin)

    # A session the student started: their own teacher may read it, but not run it.
    own = student.create_session()["session_id"]
    # A QA session the teacher started for that student: its student may run it too.
    qa = qa_session(teacher, student_id, "B")
    refused: list[tuple[str, ApiClient]] = [
        (own, teacher),
        (own, classmate),
        (own, stranger),
        (own, admin),
        (qa, classmate),
        (qa, stranger),
        (qa, admin),
    ]
    for session, caller in refused:
        for method, path, body in run_paths(session):
            response = caller.get(path) if method == "get" else caller.post(path, json=body)
            assert response.status_code == 404, (path, response.status_code, response.text)
    assert teacher.get(f"/api/teacher/sessions/{own}/transcript").status_code == 200
    cancel = student.post(f"/api/sessions/{qa}/turns/{uuid.uuid4().hex}/cancel")
    assert cancel.status_code == 200


def test_public_config_says_whether_the_caller_may_pin_a_version(
    client_for: Client, people: People, emulator: Any
) -> None:
    anonymous = client_for().get("/api/config")
    assert anonymous.status_code == 200
    assert anonymous.headers["cache-control"] == "no-store"
    body = anonymous.json()
    assert body["qa_override_open"] is False
    assert body["realtime_calls_url"] == f"{emulator.openai_base_url}/realtime/calls"

    _, student_token = people.student()
    assert client_for(student_token).get("/api/config").json()["qa_override_open"] is False
    _, teacher_token = people.demo_teacher()
    assert client_for(teacher_token).get("/api/config").json()["qa_override_open"] is True
    _, token = admin_token()
    assert client_for(token).get("/api/config").json()["qa_override_open"] is True

    expired = client_for()
    expired.http.headers["Authorization"] = "Bearer not-a-token"
    stale = expired.get("/api/config")
    assert stale.status_code == 200 and stale.json()["qa_override_open"] is False


@pytest.fixture(scope="module")
def open_gateway(
    gateway_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway whose operator opened the QA override to everyone (and allows few reads)."""
    root = tmp_path_factory.mktemp("gateway-qa-open")
    limits = {**GENEROUS_LIMITS, "read": READS}
    env = {**gateway_env, "TUTOR_QA_OVERRIDE_OPEN": "true", "TUTOR_RATE_LIMITS": json.dumps(limits)}
    with GatewayProcess(env, log_path=root / "gateway.log") as process:
        yield process


def test_an_opened_override_is_open_to_students_too(
    client_for: Client, people: People, open_gateway: GatewayProcess
) -> None:
    _, student_token = people.student()
    student = client_for(student_token, base_url=open_gateway.url)
    assert student.get("/api/config").json()["qa_override_open"] is True
    pinned = student.post("/api/sessions?variant=A", json={})
    assert pinned.status_code == 201 and pinned.json()["variant"] == "A", pinned.text


def test_session_and_who_am_i_reads_are_rate_limited(
    client_for: Client, people: People, open_gateway: GatewayProcess
) -> None:
    _, token = people.student()
    student = client_for(token, base_url=open_gateway.url)
    session = student.create_session()["session_id"]
    statuses = [student.get(f"/api/sessions/{session}").status_code for _ in range(READS + 1)]
    assert statuses == [200] * READS + [429]
    limited = student.get("/api/auth/me")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
