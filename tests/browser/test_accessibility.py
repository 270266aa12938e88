"""WCAG 2.1 A/AA audits (axe-core, the web app's own pinned dev dependency) of every screen in the
states its users see: signing in, a student mid-lesson and after it, the teacher console with an
escalation and a conversation open, the platform status page."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from browser_stack import Stack, new_context
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + n.failureSummary.replace(/\\s+/g, " ")),
  }));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.skip(f"{AXE.name} is missing: run scripts/frontend.sh (npm ci) first")
    # Injected as a script tag: the context bypasses the app's CSP, which allows no inline script.
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_AA)
    return found


def report(found: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found
    )


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def audited(request: pytest.FixtureRequest, browser: Any, stack: Stack) -> Any:
    context = new_context(
        browser, stack, bypass_csp=True, viewport=request.param, has_touch=request.param is PHONE
    )
    yield context
    context.close()


def test_sign_in_and_status_pages(audited: Any) -> None:
    page = audited.new_page()
    page.goto("/")
    expect(page.get_by_test_id("login-alex")).to_be_visible()
    assert (found := violations(page)) == [], report(found)
    page.goto("/no-such-page")
    page.wait_for_load_state("networkidle")
    assert (found := violations(page)) == [], report(found)
    page.goto("/status")
    expect(page.get_by_role("heading").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert (found := violations(page)) == [], report(found)


def test_student_during_and_after_a_lesson(audited: Any) -> None:
    page = audited.new_page()
    page.goto("/")
    # Sam, not Alex: the teacher test looks for Alex's request for help in the shared feed.
    page.get_by_test_id("login-sam").click()
    expect(page.get_by_test_id("start-session")).to_be_visible()
    assert (found := violations(page)) == [], report(found)
    page.get_by_test_id("start-session").click()
    expect(page.get_by_test_id("variant-badge")).to_be_visible()
    page.get_by_label("Type your question").fill("What is seven times eight?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("flow-total")).to_contain_text("completed")
    page.get_by_test_id("ask-teacher").click()
    expect(page.get_by_test_id("escalation-banner")).to_be_visible()
    assert (found := violations(page)) == [], report(found)
    page.get_by_test_id("end-session").click()
    expect(page.get_by_test_id("session-summary")).to_be_visible()
    assert (found := violations(page)) == [], report(found)


def test_version_a_unavailable_notice(audited: Any) -> None:
    page = audited.new_page()
    page.goto("/signin?next=/student%3Fvariant%3DA")
    page.get_by_test_id("login-alex").click()
    page.get_by_test_id("start-session").click()
    expect(page.get_by_test_id("variant-unavailable")).to_be_visible()
    assert (found := violations(page)) == [], report(found)


def test_teacher_console_with_an_escalation_open(audited: Any, stack: Stack) -> None:
    reason = f"Stuck on commas ({uuid.uuid4().hex[:6]})"
    sam = stack.client("sam")
    session = sam.create_session()
    response = sam.post(f"/api/sessions/{session['session_id']}/escalate", json={"reason": reason})
    assert response.status_code == 201, response.text
    page = audited.new_page()
    page.goto("/")
    page.get_by_test_id("login-rivera").click()
    item = page.get_by_test_id("escalation-item").filter(has_text=reason)
    expect(item).to_have_count(1)
    assert (found := violations(page)) == [], report(found)
    item.get_by_test_id("open-transcript").click()
    expect(page.get_by_test_id("session-detail")).to_contain_text("Sam's conversation")
    page.get_by_test_id("hint-input").fill("Read the sentence aloud and pause where you breathe.")
    page.get_by_test_id("send-hint").click()
    expect(page.get_by_test_id("hint-sent")).to_be_visible()
    item.get_by_test_id("acknowledge").click()
    expect(item).to_have_attribute("data-status", "acknowledged")
    assert (found := violations(page)) == [], report(found)
