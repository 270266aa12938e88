"""Version B voice in Chromium: the web app posts its WebRTC offer to the emulated Realtime calls
endpoint with the gateway-minted ephemeral key, speaks through a fake microphone (a WAV file of
speech-like audio), and shows the turn the emulator heard and the Realtime answer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_stack import FAKE_MIC_RATE, Stack, shot, write_microphone_wav
from playwright.sync_api import expect
from tutorplane.emulators import audio

pytestmark = pytest.mark.browser

# Voice must be connected before the first word (audio before the data channel opens is not
# heard), so the spoken question comes after a lead-in of silence; the file loops.
LEAD_IN_S = 3.0
TRAILING_SILENCE_S = 5.0
QUESTION_AUDIO = "what is a noun can you tell me please with an example or two"
# Long enough (about 2.5 s of audio) for the page to show the tutor speaking while it plays.
ANSWER = (
    "A noun is a naming word. It names a person, a place, an animal or a thing, like teacher, "
    "school, cat or London. Try to find three nouns in the sentence you just said, and tell me."
)


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's fake microphone speaks the question (the shared browser fixture plays it)."""
    speech = audio.synthesize(QUESTION_AUDIO, sample_rate=FAKE_MIC_RATE)
    silence = bytes(int(FAKE_MIC_RATE * audio.BYTES_PER_SAMPLE * LEAD_IN_S))
    trailing = bytes(int(FAKE_MIC_RATE * audio.BYTES_PER_SAMPLE * TRAILING_SILENCE_S))
    return write_microphone_wav(
        tmp_path_factory.mktemp("fake-mic") / "question.wav", silence + speech + trailing
    )


def test_version_b_voice_over_webrtc_to_the_emulated_realtime(page: Any, stack: Stack, emulator: Any) -> None:
    emulator.script.transcription("What is a noun?")
    emulator.script.realtime(ANSWER)
    earlier_calls = set(emulator.state.calls)  # other tests' calls may still be closing: watch ours
    page.goto("/signin?next=/student%3Fvariant%3DB")
    page.get_by_test_id("login-sam").click()
    page.get_by_test_id("start-session").click()
    expect(page.get_by_test_id("variant-badge")).to_have_attribute("data-variant", "B")

    voice = page.get_by_test_id("voice-panel")
    expect(voice).to_have_attribute("data-kind", "realtime")
    expect(voice).to_have_attribute("data-status", "connected")
    expect(page.get_by_test_id("mic-toggle")).to_be_enabled()
    expect(page.get_by_test_id("mic-toggle")).to_have_text("Microphone on")
    ours = set(emulator.state.calls) - earlier_calls
    assert len(ours) == 1  # this page's call is open on the emulator
    # The offer went to the emulator's calls endpoint with the key the gateway minted.
    offers = [r for r in emulator.script.requests("realtime") if r["type"] == "webrtc.offer"]
    assert len(offers) == 1
    assert offers[0]["_headers"]["authorization"].startswith("Bearer ek_")
    assert offers[0]["model"]

    # The fake microphone speaks; server VAD commits the turn and Realtime answers on the channel.
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator('[data-speaker="student"]').first).to_contain_text(
        "What is a noun?", timeout=30_000
    )
    expect(transcript.locator('[data-speaker="english"]').first).to_contain_text(
        "naming word", timeout=15_000
    )
    # The answer's audio plays on the remote track: output_audio_buffer.started, then .stopped.
    agent = page.get_by_test_id("agent-state")
    expect(agent).to_have_attribute("data-state", "speaking")
    expect(agent).to_have_attribute("data-state", "listening")
    expect(transcript.locator('[data-speaker="english"]').first).to_contain_text(ANSWER)
    sent = [r["type"] for r in emulator.script.requests("realtime")]
    assert "input_audio_buffer.committed" in sent
    shot(page, "student-version-b-voice")

    # The call drops (the provider hangs up): the page says so and offers to start voice again,
    # which gets a fresh key from the gateway (the first one lives minutes) and calls again.
    (call_id,) = ours
    hung_up = httpx.post(
        f"{emulator.url}/v1/realtime/calls/{call_id}/hangup", headers={"Authorization": "Bearer sk-test"}
    )
    assert hung_up.status_code == 200
    expect(voice).to_have_attribute("data-status", "off")
    expect(page.get_by_test_id("voice-notice")).to_contain_text("closed")
    keys = len(emulator.script.requests("client_secrets"))
    page.get_by_test_id("voice-restart").click()
    expect(voice).to_have_attribute("data-status", "connected")
    expect(page.get_by_test_id("voice-restart")).to_have_count(0)
    assert len(emulator.script.requests("client_secrets")) == keys + 1
    offers = [r for r in emulator.script.requests("realtime") if r["type"] == "webrtc.offer"]
    assert (
        len(offers) == 2 and offers[1]["_headers"]["authorization"] != offers[0]["_headers"]["authorization"]
    )
    ours = set(emulator.state.calls) - earlier_calls
    assert len(ours) == 1 and call_id not in ours

    # Ending the session hangs up: the emulator's peer connection is closed too.
    page.get_by_test_id("end-session").click()
    expect(page.get_by_test_id("session-summary")).to_be_visible()
    deadline = time.monotonic() + 10
    while ours & set(emulator.state.calls) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not ours & set(emulator.state.calls)
