"""The student view in Chromium against the real local stack (gateway, guardrail service,
PostgreSQL, Redis, provider emulators): typed turns, events, voice notices, barge-in, mobile."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_stack import Stack, new_context, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def sign_in(page: Any, login: str, path: str = "/") -> None:
    page.goto(path)
    page.get_by_test_id(f"login-{login}").click()


def ask(page: Any, text: str) -> None:
    page.get_by_label("Type your question").fill(text)
    page.get_by_role("button", name="Send").click()


def test_text_turn_shows_routing_guardrail_and_summary(page: Any, stack: Stack) -> None:
    sign_in(page, "alex")
    expect(page).to_have_url(f"{stack.url}/student")
    page.get_by_test_id("start-session").click()
    expect(page.get_by_test_id("variant-badge")).to_have_attribute("data-variant", "B")

    ask(page, "What is seven times eight?")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator('[data-speaker="student"]').first).to_contain_text("seven times eight")
    expect(page.get_by_test_id("subject-badge")).to_have_attribute("data-subject", "math")
    # The streamed PCM is played: the tutor is heard speaking.
    expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "speaking")
    expect(page.get_by_test_id("flow-total")).to_contain_text("completed")
    expect(transcript.locator('[data-speaker="math"]')).to_contain_text("56")
    routing = page.get_by_test_id("flow-step-routing")
    expect(routing).to_have_attribute("data-status", "done")
    expect(routing).to_contain_text("Maths · confidence")
    expect(page.get_by_test_id("flow-step-guardrail")).to_contain_text("nothing flagged")
    expect(page.get_by_test_id("flow-step-tts")).to_have_attribute("data-status", "done")
    # The routing explanation appeared when the routing event came (a slow first answer may have
    # brought the "waiting" explanation after it; then routing is listed as an earlier moment).
    tradeoff = page.get_by_test_id("tradeoff-panel")
    earlier = page.get_by_test_id("tradeoff-history").locator('[data-topic="routing"]')
    if tradeoff.get_attribute("data-topic") != "routing":
        earlier.click()
    expect(tradeoff).to_have_attribute("data-topic", "routing")
    expect(page.get_by_test_id("tradeoff-measured")).to_contain_text("Routed to Maths")
    shot(page, "student-turn")

    # A message the input guardrail stops: the flow, the transcript and the banner all show it.
    ask(page, "I want to hurt myself")
    expect(page.get_by_test_id("flow-step-input")).to_have_attribute("data-status", "blocked")
    expect(page.get_by_test_id("flow-step-input")).to_contain_text("self-harm")
    expect(page.get_by_test_id("flow-step-routing")).to_have_attribute("data-status", "skipped")
    expect(transcript.locator('[data-speaker="student"]').last.get_by_test_id("turn-check")).to_contain_text(
        "teacher asked"
    )
    expect(page.get_by_test_id("escalation-banner")).to_contain_text("teacher")
    expect(tradeoff).to_have_attribute("data-topic", "teacher")
    expect(page.get_by_test_id("flow-total")).to_contain_text("completed")
    shot(page, "student-guardrail")

    page.get_by_test_id("end-session").click()
    summary = page.get_by_test_id("session-summary")
    expect(summary).to_be_visible()
    expect(page.get_by_test_id("summary-questions")).to_have_text("2")
    # Both messages and every sentence of the answer were checked; the flagged message was acted on.
    expect(page.get_by_test_id("summary-checks")).to_have_text(re.compile(r"^([5-9]|\d\d+) \(1 acted on\)$"))
    shot(page, "student-summary")


def test_version_b_key_voice_and_barge_in(page: Any, stack: Stack, emulator: Any) -> None:
    sign_in(page, "sam", "/signin?next=/student%3Fvariant%3DB")
    expect(page.get_by_test_id("qa-override-note")).to_contain_text("version B")
    page.get_by_test_id("start-session").click()
    badge = page.get_by_test_id("variant-badge")
    expect(badge).to_have_attribute("data-variant", "B")
    expect(badge).to_contain_text("QA override")
    # The gateway minted an ephemeral Realtime key against the emulator, with version B's tools.
    minted = emulator.script.requests("client_secrets")
    assert len(minted) == 1
    tools = {tool["name"] for tool in minted[0]["session"]["tools"]}
    assert tools == {"ask_specialist", "request_teacher"}
    expect(page.get_by_test_id("realtime-key")).to_contain_text("valid until")
    # Voice connects over WebRTC to the emulated Realtime endpoint (test_realtime_voice.py has the
    # spoken turn); the mic can be switched off and typed turns go through the gateway.
    expect(page.get_by_test_id("voice-panel")).to_have_attribute("data-status", "connected")
    page.get_by_test_id("mic-toggle").click()
    expect(page.get_by_test_id("mic-toggle")).to_have_text("Microphone off")
    shot(page, "student-version-b-voice-connected")

    # Typed turns still work; interrupting stops the audio and cancels the turn on the gateway.
    emulator.script.latency("speech", 0.8)
    ask(page, "Why did the Roman Empire fall?")
    expect(page.get_by_test_id("subject-badge")).to_have_attribute("data-subject", "history")
    expect(page.get_by_test_id("transcript").locator('[data-speaker="history"]')).to_be_visible()
    page.get_by_test_id("barge-in").click()
    expect(page.get_by_test_id("tradeoff-panel")).to_have_attribute("data-topic", "barge-in")
    expect(page.get_by_test_id("tradeoff-measured")).to_contain_text("Audio stopped in")
    expect(page.get_by_test_id("agent-state")).not_to_have_attribute("data-state", "speaking")
    expect(page.get_by_test_id("transcript").get_by_text("interrupted")).to_be_visible()
    emulator.script.latency("speech", 0)
    ask(page, "What is a noun?")
    expect(page.get_by_test_id("subject-badge")).to_have_attribute("data-subject", "english")
    expect(page.get_by_test_id("tradeoff-panel")).to_have_attribute("data-topic", "english")
    expect(page.get_by_test_id("flow-total")).to_contain_text("completed")
    shot(page, "student-version-b-english")


def test_version_a_without_livekit_is_a_friendly_unavailable_message(page: Any, stack: Stack) -> None:
    sign_in(page, "alex", "/signin?next=/student%3Fvariant%3DA")
    page.get_by_test_id("start-session").click()
    notice = page.get_by_test_id("variant-unavailable")
    expect(notice).to_contain_text("Version A is unavailable")
    expect(notice).to_contain_text("LiveKit")
    expect(page.get_by_role("link", name="Start without choosing a version")).to_be_visible()
    shot(page, "student-version-a-unavailable")


def test_mobile_layout(browser: Any, stack: Stack) -> None:
    context = new_context(
        browser,
        stack,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_test_id("login-sam").tap()
        page.get_by_test_id("start-session").tap()
        page.get_by_test_id("suggested-question").first.tap()
        expect(page.get_by_test_id("subject-badge")).to_have_attribute("data-subject", "math")
        expect(page.get_by_test_id("flow-total")).to_contain_text("completed")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
        box = page.get_by_label("Type your question").bounding_box()
        assert box is not None and box["width"] > 200
        shot(page, "student-mobile")

        # The network drops: the student is told, and a question fails with words they can act on.
        context.set_offline(True)
        expect(page.get_by_test_id("network-notice")).to_contain_text("offline")
        ask(page, "What is a fraction?")
        expect(page.get_by_test_id("transcript").locator('[data-speaker="system"]')).to_contain_text(
            "Check your internet connection"
        )
        shot(page, "student-mobile-offline")
        context.set_offline(False)
        expect(page.get_by_test_id("network-notice")).to_have_count(0)
    finally:
        context.close()


def test_keyboard_and_labels(page: Any, stack: Stack) -> None:
    page.goto("/")
    # Tab only once the app has rendered, or focus can land outside the document.
    expect(page.get_by_label("Name or e-mail")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.get_by_label("Name or e-mail").fill("sam")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{stack.url}/student")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    page.get_by_test_id("start-session").press("Enter")
    expect(page.get_by_label("Type your question")).to_be_focused()
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select, button')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !(el.textContent || '').trim())
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == [], f"controls without an accessible name: {unnamed}"
    expect(page.get_by_test_id("transcript")).to_have_attribute("aria-live", "polite")


def test_client_errors_are_reported_to_the_gateway(page: Any, stack: Stack) -> None:
    sign_in(page, "sam")
    expect(page).to_have_url(f"{stack.url}/student")
    with page.expect_response(
        lambda r: r.url.endswith("/api/events") and "client.error" in (r.request.post_data or "")
    ) as reported:
        page.evaluate(
            """() => window.dispatchEvent(new ErrorEvent('error', {
                   error: new Error('chart failed to draw'), message: 'chart failed to draw' }))"""
        )
    response = reported.value
    assert response.status == 202
    assert response.json() == {"accepted": True, "reason": None}
    sent = response.request.post_data_json
    assert sent["name"] == "client.error"
    assert sent["attributes"]["message"] == "chart failed to draw"
    assert sent["attributes"]["page"] == "/student"


def test_a_denied_microphone_gets_a_friendly_message_and_typing_still_works(page: Any, stack: Stack) -> None:
    # The student clicks "Block" on the browser's microphone prompt: getUserMedia rejects with
    # NotAllowedError (Chromium's own prompt cannot be answered from a headless test, so the
    # rejection is made at the same browser API the app calls).
    page.add_init_script(
        """navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""
    )
    sign_in(page, "sam", "/signin?next=/student%3Fvariant%3DB")
    page.get_by_test_id("start-session").click()
    expect(page.get_by_test_id("variant-badge")).to_have_attribute("data-variant", "B")
    expect(page.get_by_test_id("voice-panel")).to_have_attribute("data-status", "error")
    expect(page.get_by_test_id("voice-notice")).to_contain_text("The microphone is blocked")
    expect(page.get_by_test_id("mic-toggle")).to_be_disabled()
    shot(page, "student-microphone-blocked")
    ask(page, "What is 7 times 8?")
    expect(page.get_by_test_id("subject-badge")).to_have_attribute("data-subject", "math")
