"""The teacher console in Chromium: the durable escalation feed (across a gateway restart),
browser notifications, a student's conversation, hints and acknowledgements reaching the student."""

from __future__ import annotations

from typing import Any

import pytest
from browser_stack import Stack, new_context, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Records every notification the page creates (headless Chromium shows none).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  function Recording(title, options) {
    window.__notifications.push({ title, body: options && options.body });
    try { return new Real(title, options); } catch (e) { return {}; }
  }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recording;
})();
"""


def test_escalation_feed_survives_restart_and_hints_reach_the_student(browser: Any, stack: Stack) -> None:
    teacher_context = new_context(browser, stack, viewport={"width": 1280, "height": 900})
    teacher_context.grant_permissions(["notifications"], origin=stack.url)
    teacher_context.add_init_script(RECORD_NOTIFICATIONS)
    student_context = new_context(browser, stack, viewport={"width": 1100, "height": 900})
    try:
        teacher = teacher_context.new_page()
        teacher.goto("/")
        teacher.get_by_test_id("login-rivera").click()
        expect(teacher).to_have_url(f"{stack.url}/teacher")
        feed_status = teacher.get_by_test_id("feed-status")
        expect(feed_status).to_have_attribute("data-status", "live")

        student = student_context.new_page()
        student.goto("/")
        student.get_by_test_id("login-alex").click()
        student.get_by_test_id("start-session").click()
        expect(student.get_by_test_id("variant-badge")).to_be_visible()
        student.get_by_test_id("ask-teacher").click()
        expect(student.get_by_test_id("escalation-banner")).to_contain_text("A teacher has been asked")

        items = teacher.get_by_test_id("escalation-item")
        # Alex's request; other tests' students (never Alex) may have asked in the same words.
        first = items.filter(has_text="I would like a teacher to help me.").filter(has_text="Alex")
        expect(first).to_have_count(1)
        first_id = first.get_attribute("data-id")
        notes = teacher.evaluate("window.__notifications")
        assert any(n["title"] == "Alex needs help" for n in notes), notes
        shot(teacher, "teacher-console")

        # The gateway restarts; an escalation raised meanwhile arrives by replay, nothing twice.
        stack.restart_gateway()
        sam = stack.client("sam")
        session = sam.create_session()
        response = sam.post(
            f"/api/sessions/{session['session_id']}/escalate", json={"reason": "Sam is stuck on fractions"}
        )
        assert response.status_code == 201, response.text
        expect(items.filter(has_text="Sam is stuck on fractions")).to_have_count(1, timeout=30_000)
        expect(feed_status).to_have_attribute("data-status", "live")
        expect(teacher.locator(f'[data-testid="escalation-item"][data-id="{first_id}"]')).to_have_count(1)
        ids = [item.get_attribute("data-id") for item in items.all()]
        assert len(ids) == len(set(ids)), f"an escalation is shown twice: {ids}"

        # Open Alex's conversation and send a hint: it appears on Alex's screen at once (once Alex's
        # live channel is back after the restart; before that the hint is only stored).
        expect(student.get_by_test_id("live-channel")).to_have_attribute("data-state", "live", timeout=30_000)
        first.get_by_test_id("open-transcript").click()
        detail = teacher.get_by_test_id("session-detail")
        expect(detail).to_contain_text("Alex's conversation")
        teacher.get_by_test_id("hint-input").fill("Try drawing the fraction as slices of a pizza.")
        teacher.get_by_test_id("send-hint").click()
        expect(teacher.get_by_test_id("hint-sent")).to_contain_text("delivered")
        expect(student.get_by_test_id("hint")).to_contain_text("slices of a pizza", timeout=20_000)
        expect(student.get_by_test_id("transcript").locator('[data-speaker="teacher"]')).to_contain_text(
            "pizza"
        )
        expect(teacher.get_by_test_id("teacher-transcript")).to_contain_text("pizza")

        first.get_by_test_id("acknowledge").click()
        expect(first).to_have_attribute("data-status", "acknowledged")
        banner = student.get_by_test_id("escalation-banner")
        expect(banner).to_have_attribute("data-status", "acknowledged")
        expect(banner).to_contain_text("Ms. Rivera")
        shot(teacher, "teacher-hint-sent")
        shot(student, "student-hint-received")
    finally:
        student_context.close()
        teacher_context.close()
