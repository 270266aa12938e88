"""The platform status page: operator-published deployments and the A/B report with intervals."""

from __future__ import annotations

from typing import Any

import pytest
from browser_stack import Stack, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_status_page_shows_deployments_and_ab_report(page: Any, stack: Stack) -> None:
    client = stack.client("alex")
    session = client.create_session()
    client.turn(session["session_id"], "What is seven times eight?", speak=False)
    client.post(f"/api/sessions/{session['session_id']}/close", json={})

    page.goto("/")
    page.get_by_test_id("login-rivera").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Platform status").click()
    expect(page).to_have_url(f"{stack.url}/status")
    rows = page.get_by_test_id("deployment-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("tutor-a")
    expect(rows.first).to_contain_text("A 20%")
    expect(rows.first).to_contain_text("inconclusive")
    expect(rows.nth(1)).to_contain_text("pass")
    expect(page.get_by_test_id("deployments")).to_contain_text("operator status")

    expect(page.get_by_test_id("ab-verdict")).to_contain_text("Not enough sessions yet")
    expect(page.get_by_test_id("sessions-B")).not_to_have_text("0 (0)")
    expect(page.get_by_test_id("metric-latency_p50_ms")).to_contain_text("ms")
    expect(page.get_by_test_id("metric-escalation_rate")).to_contain_text("95% CI")
    shot(page, "platform-status")


def test_students_cannot_open_the_status_page(page: Any, stack: Stack) -> None:
    page.goto("/")
    page.get_by_test_id("login-sam").click()
    expect(page).to_have_url(f"{stack.url}/student")
    page.goto("/status")
    expect(page).to_have_url(f"{stack.url}/student")
    expect(page.get_by_role("link", name="Platform status")).to_have_count(0)
