"""The Head Office dashboard for a working day, in a real Chromium: search, sort, a date range, CSV of the view,
bulk actions with a result per order, and polls that keep focus, typing and selections."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import WIDTHS, Live, screenshot, sign_in_as, viewport
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, HO, JEANS, TEE, order_body, wait_for_status


async def _place(live: Live, **kwargs) -> str:
    response = await live.http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    return number


async def _shown(page: Page) -> list[str]:
    return await page.locator("#orders tbody tr[data-order]").evaluate_all("rows => rows.map(r => r.dataset.order)")


async def test_search_sort_date_range_and_csv_of_the_view(page: Page, live: Live, db: Engine):
    add_staff(db, "alice", StaffRole.ho_agent, name="Alice")
    tee = await _place(live, lines=[(TEE, 1)])
    jeans = await _place(
        live, lines=[(JEANS, 1)], customer={"id": "C7", "name": "Grace Hopper", "email": "g@example.com"}
    )
    await sign_in_as(page, "alice", PASSWORD)

    await page.goto("/ui/orders?view=all&q=hopp")  # part of a name
    assert await _shown(page) == [jeans]
    await page.goto("/ui/orders?view=all&q=jean-ind")  # part of a SKU
    assert await _shown(page) == [jeans]
    await page.goto(f"/ui/orders?view=all&q={tee[-3:]}")  # part of an order number
    assert tee in await _shown(page)

    await page.goto("/ui/orders?view=all")
    assert (await _shown(page))[:2] == [jeans, tee]  # newest first
    await page.click("#orders th a[data-sort=order]")
    await expect(page.locator("#orders th[aria-sort=descending] a[data-sort=order]")).to_be_visible()
    await page.click("#orders th a[data-sort=order]")
    await expect(page.locator("#orders th[aria-sort=ascending] a[data-sort=order]")).to_be_visible()
    shown = await _shown(page)
    assert shown == sorted(shown)

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await page.goto(f"/ui/orders?view=all&created_from={tomorrow}")
    assert await _shown(page) == []
    await expect(page.locator("#status-counts")).to_contain_text("No orders match")  # tiles follow the filter

    await page.goto("/ui/orders?view=all&q=hopp")
    time_cell = page.locator(f"tr[data-order='{jeans}'] td:nth-child(3) time")
    assert (await time_cell.get_attribute("title") or "").endswith("UTC")  # local time shown, UTC on hover
    href = await page.locator("#export-csv").get_attribute("href")
    assert href is not None and "q=hopp" in href
    answer = await page.request.get(href)
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [r["order_number"] for r in rows] == [jeans]
    assert rows[0]["customer_name"] == "Grace Hopper" and rows[0]["status"] == "awaiting_acknowledgement"


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_bulk_prompt_shows_a_result_for_each_order(page: Page, live: Live, db: Engine, width: int):
    await page.set_viewport_size(viewport(width))
    add_staff(db, "alice", StaffRole.ho_agent, name="Alice")
    first, second, closed = await _place(live), await _place(live), await _place(live)
    cancel = {"reason": "customer asked"}
    response = await live.http.post(f"/orders/{closed}/cancel", json=cancel, headers=HO | {"Idempotency-Key": "c1"})
    assert response.status_code == 200, response.text
    await sign_in_as(page, "alice", PASSWORD)
    await page.goto("/ui/orders?view=all")
    for number in (first, second, closed):
        await page.check(f"#select-{number}")
    await page.select_option("#bulk-action", "prompt-store")
    await page.fill("#bulk-reason", "customer is waiting at the till")
    await page.click("#bulk button[type=submit]")
    await page.click("#bulk .confirm-yes")
    table = page.locator("#bulk-table")
    await expect(table.locator("tr[data-result=done]")).to_have_count(2)
    await expect(table.locator(f"tr[data-order='{closed}']")).to_have_attribute("data-result", "refused")
    await expect(table.locator(f"tr[data-order='{closed}']")).to_contain_text("Not done")
    await expect(page.locator("#bulk-summary")).to_contain_text("2 of 3 done")
    await expect(page.locator("#bulk-summary")).to_be_in_viewport()
    await screenshot(page, f"dashboard-bulk-prompt-{width}.png", full_page=False)
    for number in (first, second):
        view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
        assert any(h["action"] == "store_prompted" and h["actor"] == "ho:alice" for h in view["history"])


async def test_polls_keep_focus_typing_and_selections(page: Page, live: Live, db: Engine):
    add_staff(db, "alice", StaffRole.ho_agent, name="Alice")
    number = await _place(live)
    await sign_in_as(page, "alice", PASSWORD)
    await page.goto("/ui/orders?view=all")
    await page.check(f"#select-{number}")
    await page.click("#f-q")
    await page.keyboard.type("Ada")
    for _ in range(3):
        async with page.expect_response(re.compile(r"/ui/orders/live"), timeout=10_000):
            pass
    await expect(page.locator(f"#select-{number}")).to_be_checked()
    await expect(page.locator("#f-q")).to_be_focused()
    await expect(page.locator("#f-q")).to_have_value("Ada")
