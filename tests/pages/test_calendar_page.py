"""Opening hours on a page: Head Office sets a store's calendar as people write it, sees what is wrong when it is
wrong (nothing saved), and the API reads what was saved; the page passes axe."""

from __future__ import annotations

from playwright.async_api import Page

from tests.pages.conftest import Live, sign_in
from tests.pages.test_accessibility import violations
from tests.support import HO_KEY


async def test_head_office_sets_opening_hours_on_the_page(axe_page: Page, live: Live):
    page = axe_page
    await sign_in(page, HO_KEY)
    await page.goto("/ui/calendars")
    assert await violations(page) == []
    await page.click("text=S001")
    await page.fill("#timezone", "Europe/London")
    await page.fill("#weekly_mon", "09:00-12:30, 13:30-21:00")
    await page.fill("#weekly_tue", "21:00-09:00")
    await page.fill("#weekly_sun", "closed")
    await page.fill("#exceptions", "2026-12-25 closed Christmas")
    await page.click("#save-calendar")
    assert "closes after it opens" in await page.inner_text("[role=alert]")
    assert (await live.http.get("/stores/S001/calendar")).status_code == 404  # nothing saved
    assert await violations(page) == []
    await page.fill("#weekly_tue", "09:00-17:00")
    await page.click("#save-calendar")
    assert "Saved" in await page.inner_text("[role=status]")
    assert await violations(page) == []
    calendar = (await live.http.get("/stores/S001/calendar")).json()
    assert calendar["weekly"]["mon"] == [{"opens": "09:00", "closes": "12:30"}, {"opens": "13:30", "closes": "21:00"}]
    assert "sun" not in calendar["weekly"] and calendar["exceptions"][0]["reason"] == "Christmas"
    assert await page.input_value("#weekly_mon") == "09:00-12:30, 13:30-21:00"  # shown back as typed
