"""Handoffs go to the pool revision in service, as the operator publishes it.

During a pool rollout the old revision's workers drain: LiveKit gives them no new jobs. A student
of an old worker who asks an English question (or, on the English worker, for another subject)
must be handed to a worker that takes jobs: the names in the published variant config."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from pathlib import Path

import pytest
from tutorplane.agent.handoff_targets import HandoffTargets
from tutorplane.agent.metadata import DispatchKind, JobMetadata
from tutorplane.agent.testing import (
    AgentHarness,
    RecordingDispatcher,
    emulator_agent_settings,
    script_hand_back,
    wait_until,
)
from tutorplane.common.variants import VariantConfig, VariantConfigSource

_STAMPS = itertools.count(1)
OWN = {"pipeline_agent_name": "tutor-a-rev1", "english_agent_name": "tutor-a-rev1-english"}
IN_SERVICE = {"A": "tutor-a-rev2"}, {"A": "tutor-a-rev2-english"}


def publish(path: Path, agent_names: dict[str, str], english_names: dict[str, str] | None = None) -> None:
    """Write the file as the kubelet does: a new file swapped in (a new mtime)."""
    config = {"weights": {"A": 100, "B": 0}, "agentNames": agent_names}
    if english_names is not None:
        config["englishAgentNames"] = english_names
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config), encoding="utf-8")
    os.replace(tmp, path)
    # A new mtime each time, also where the file system keeps whole seconds only.
    stamp = (path.stat().st_mtime_ns // 10**9 + next(_STAMPS)) * 10**9
    os.utime(path, ns=(stamp, stamp))


@pytest.mark.unit
def test_published_names_win_and_follow_the_file(tmp_path: Path, agent_settings) -> None:
    path = tmp_path / "variants.json"
    settings = agent_settings.model_copy(update={**OWN, "variant_config_path": path})
    source = VariantConfigSource(path, VariantConfig(weights={"A": 100}), check_interval_s=0)
    targets = HandoffTargets(settings, source)
    # Nothing published yet (local runs, tests): the worker's own names.
    assert (targets.pipeline(), targets.english()) == ("tutor-a-rev1", "tutor-a-rev1-english")
    publish(path, *IN_SERVICE)
    assert (targets.pipeline(), targets.english()) == ("tutor-a-rev2", "tutor-a-rev2-english")
    # An operator that publishes no English name: the worker's own English partner.
    publish(path, {"A": "tutor-a-rev3"})
    assert (targets.pipeline(), targets.english()) == ("tutor-a-rev3", "tutor-a-rev1-english")


@pytest.mark.integration
async def test_an_old_pipeline_worker_hands_english_to_the_revision_in_service(
    tmp_path: Path, agent_settings
) -> None:
    path = tmp_path / "variants.json"
    publish(path, *IN_SERVICE)
    settings = agent_settings.model_copy(update={**OWN, "variant_config_path": path})
    dispatcher = RecordingDispatcher()
    async with AgentHarness(settings, dispatcher=dispatcher) as h:
        await h.ask("How do you spell necessary in English?")
        [call] = dispatcher.calls
        assert call.agent_name == "tutor-a-rev2-english"
        assert call.metadata.kind == DispatchKind.to_english


@pytest.mark.integration
async def test_an_old_english_worker_hands_back_to_the_pipeline_in_service(emulator, tmp_path: Path) -> None:
    path = tmp_path / "variants.json"
    publish(path, *IN_SERVICE)
    settings = emulator_agent_settings(emulator, agent_role="english", **OWN, variant_config_path=path)
    dispatcher = RecordingDispatcher()
    metadata = JobMetadata(kind=DispatchKind.to_english, session_id=uuid.uuid4(), question="What is a noun?")
    emulator.script.realtime("A noun names a person, place or thing.")
    async with AgentHarness(settings, metadata=metadata, dispatcher=dispatcher) as h:
        await wait_until(lambda: any(m["speaker"] == "english" for m in h.recorder.published))
        script_hand_back(emulator)
        await h.ask("Can you help me with 7 times 8?")
        await wait_until(lambda: dispatcher.calls)
        [call] = dispatcher.calls
        assert call.agent_name == "tutor-a-rev2"
        assert call.metadata.kind == DispatchKind.return_from_english
