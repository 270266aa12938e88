"""Settings and job metadata: one settings object, JSON metadata (never ``key:value|key:value``)."""

from __future__ import annotations

import uuid

import pytest
from tutorplane.agent.config import AgentSettings
from tutorplane.agent.metadata import DispatchKind, JobMetadata, MetadataError

pytestmark = pytest.mark.unit


def test_defaults_and_worker_names() -> None:
    settings = AgentSettings()
    assert settings.agent_name == settings.pipeline_agent_name
    assert AgentSettings(agent_role="english").agent_name == settings.english_agent_name
    assert settings.health_port == 8081
    assert settings.routing_strategy == "two_stage"
    assert 0 < settings.load_threshold <= 1


def test_drain_grace_must_cover_the_session_cap() -> None:
    with pytest.raises(ValueError, match=r"TUTOR_DRAIN_GRACE_S .* shorter than TUTOR_SESSION_MAX_DURATION_S"):
        AgentSettings(session_max_duration_s=3600, drain_grace_s=60)


def test_the_two_workers_need_distinct_names() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        AgentSettings(pipeline_agent_name="pool-a", english_agent_name="pool-a")


def test_livekit_secret_required_outside_development() -> None:
    with pytest.raises(ValueError, match="TUTOR_LIVEKIT_API_SECRET is not set"):
        AgentSettings(environment="production", database_url="postgresql://db/tutor")


def test_settings_read_livekit_conventional_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://lk.example.test")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s3cr3t-value-from-secret")
    monkeypatch.setenv("TUTOR_ROUTING_STRATEGY", "function_tools")
    settings = AgentSettings()
    assert settings.livekit_configured()
    assert settings.routing_strategy == "function_tools"


def test_metadata_round_trip_keeps_separators_in_the_question() -> None:
    question = "In 'key:value|key:value' format, what does | mean: a pipe?"
    sent = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question=question, turn_index=2)
    received = JobMetadata.parse(sent.to_json())
    assert received == sent
    assert received.question == question


def test_metadata_rejects_the_old_pipe_format_with_a_hint() -> None:
    with pytest.raises(MetadataError, match="old key:value\\|key:value format; send JSON"):
        JobMetadata.parse("session:abc|question:what is 2+2")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "job metadata is empty"),
        ("[1, 2]", "must be a JSON object"),
        ('{"kind": "start"}', "session_id: Field required"),
        ('{"session_id": "not-a-uuid"}', "session_id"),
        ('{"kind": "to_english", "session_id": "8e3c2b1a-0000-4000-8000-000000000001"}', "pending question"),
        ('{"v": 2, "session_id": "8e3c2b1a-0000-4000-8000-000000000001"}', "version 2 is not supported"),
    ],
)
def test_bad_metadata_says_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        JobMetadata.parse(raw)


def test_gateway_start_metadata() -> None:
    sid, student = uuid.uuid4(), uuid.uuid4()
    meta = JobMetadata.parse(
        f'{{"kind": "start", "session_id": "{sid}", "student_id": "{student}", "extra": 1}}'
    )
    assert (meta.kind, meta.session_id, meta.student_id, meta.turn_index) == (
        DispatchKind.start,
        sid,
        student,
        0,
    )
