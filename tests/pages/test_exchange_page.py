"""An exchange on the Head Office pages, in a real Chromium: the original order's returns panel shows the line's
exchange and links to the replacement order, whose page says what it replaces."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.pages.conftest import Live, sign_in
from tests.support import CHANNEL, HO, HO_KEY, collect, eventually, make_ready, place


async def test_the_returns_panel_links_to_the_replacement_and_back(page: Page, live: Live):
    http = live.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    lines = [{"line_id": "L1", "quantity": 1, "reason": "too small", "exchange_for": {"sku": "TEE-WHI-L"}}]
    return_id = (
        await http.post(f"/orders/{number}/returns", json={"lines": lines, "location_id": "S001"}, headers=CHANNEL)
    ).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success

    async def replaced() -> str | None:
        state = (await http.get(f"/returns/{return_id}", headers=HO)).json()
        return state["replacement_order"] if state["status"] == "reimbursed" else None

    replacement = await eventually(replaced, timeout=30)
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    row = page.locator(f"#return-row-{return_id}")
    await expect(row.locator('[data-exchange="L1"]')).to_have_text("exchange for TEE-WHI-L")
    await expect(row.locator("[data-refunded]")).to_contain_text("nothing")
    await row.locator(f"[data-replacement] a[href='/ui/orders/{replacement}']").click()
    await expect(page.locator("#replaces")).to_contain_text(f"order {number}")
    await expect(page.locator("#replaces")).to_contain_text(return_id)
