"""A named Head Office agent refunds from the order page, at desktop, tablet and phone widths: the confirmation is
asked in the page, and the result shows where the agent is (the toast and the banner in the viewport)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import WIDTHS, Live, screenshot, sign_in_as, viewport
from tests.pages.test_pages import open_action
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, HO, order_body, wait_for_status


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_named_agent_refunds_and_sees_the_result_where_they_are(page: Page, live: Live, db: Engine, width: int):
    add_staff(db, "alice", StaffRole.ho_agent, name="Alice Smith")
    response = await live.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await page.set_viewport_size(viewport(width))
    await sign_in_as(page, "alice", PASSWORD)
    await page.goto(f"/ui/orders/{number}")
    await expect(page.locator("#waiting")).to_contain_text("Waiting for the store to acknowledge it")

    await open_action(page, "refunds")
    form = page.locator("#action-refunds")
    await form.locator("input[name=amount]").fill("5.00")
    await form.locator("input[name=reason]").fill("late delivery")
    await form.locator("button[type=submit]").click()
    step = form.locator(".confirm-step")
    await expect(step).to_contain_text("Refund this money to the customer? (GBP 5.00)")
    await step.locator(".confirm-yes").click()

    toast = page.locator("#toast")
    await expect(toast).to_contain_text("Refund of £5.00 to P1")
    await expect(toast).to_be_in_viewport()
    await expect(page.locator("#result.done")).to_be_in_viewport()
    await expect(page.locator("#history tr[data-actor='ho:alice']").first).to_contain_text("alice (Head Office)")
    await screenshot(page, f"order-refund-by-named-agent-{width}.png", full_page=False)
    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(r["amount"]["amount"], r["actor"]) for r in view["refunds"]] == [(500, "ho:alice")]
