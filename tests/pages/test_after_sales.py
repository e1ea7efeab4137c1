"""Customer requests and returns on the Head Office pages, in a real Chromium: a cancellation request shows as an
exception on the dashboard, Head Office accepts it on the order page and the order is cancelled; a declined request
says why; the order page lists the order's returns with their stage, clock and refund."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.pages.conftest import Live, screenshot, sign_in
from tests.pages.test_accessibility import violations
from tests.support import CHANNEL, HO, HO_KEY, collect, eventually, make_ready, place, store_says, wait_for_status


async def _acknowledged(live: Live) -> str:
    number = await place(live.http)
    await store_says(live.http, number, "acknowledged")
    await wait_for_status(live.http, number, "acknowledged")
    return number


async def _file(live: Live, number: str, body: dict) -> str:
    filed = await live.http.post(f"/orders/{number}/requests", json=body, headers=CHANNEL)
    assert filed.status_code == 201, filed.text
    return filed.json()["request_id"]


async def _alerted(live: Live, number: str) -> bool:
    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    return any(a["type"] == "customer_request" and not a["cleared_at"] for a in view["alerts"])


async def test_head_office_accepts_a_cancellation_request_from_the_dashboard(page: Page, live: Live):
    number = await _acknowledged(live)  # acknowledged: the policy no longer cancels by itself
    request_id = await _file(live, number, {"kind": "cancel_order", "note": "bought it elsewhere"})
    await eventually(lambda: _alerted(live, number))

    await sign_in(page, HO_KEY)
    await page.goto("/ui/orders")
    tile = page.locator("a.alert-count[data-alert=customer_request]")
    await expect(tile).to_contain_text("1")
    await tile.click()
    row = page.locator(f"#orders tr[data-order='{number}']")
    await expect(row).to_contain_text("customer request")
    await row.locator(f"a[href='/ui/orders/{number}']").click()

    request = page.locator(f"#request-{request_id}")
    await expect(request).to_have_attribute("data-status", "open")
    await expect(request).to_contain_text("bought it elsewhere")
    await screenshot(page, "order-page-customer-request.png")
    await request.locator("button[name=accept]").click()
    await page.locator(".confirm-step .confirm-yes").click()
    await expect(page.locator("#request-answered")).to_contain_text(f"Request {request_id} accepted")
    await wait_for_status(live.http, number, "cancelled")
    await eventually(lambda: _cleared(live, number))


async def _cleared(live: Live, number: str) -> bool:
    return not await _alerted(live, number)


async def test_a_decline_needs_a_reason_and_the_customer_hears_it(page: Page, live: Live):
    number = await _acknowledged(live)
    body = {"kind": "add_item", "details": {"sku": "TEE-WHI-M", "quantity": 1}, "note": "one more tee"}
    request_id = await _file(live, number, body)
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    request = page.locator(f"#request-{request_id}")
    await request.locator("input[name=reason]").fill("that size is sold out")
    await request.locator("button[name=decline]").click()
    await expect(page.locator("#request-answered")).to_contain_text("declined: that size is sold out")
    answered = (await live.http.get(f"/requests/{request_id}", headers=CHANNEL)).json()
    assert (answered["status"], answered["answer"]) == ("declined", "that size is sold out")


async def test_the_order_page_lists_returns_with_stage_clock_and_refund(page: Page, live: Live):
    http = live.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    one = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    waiting = (await http.post(f"/orders/{number}/returns", json=one, headers=CHANNEL)).json()["return_id"]
    two = {"lines": [{"line_id": "L2", "quantity": 1, "reason": "torn"}], "location_id": "S001"}
    done = (await http.post(f"/orders/{number}/returns", json=two, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{done}/received", json={"location_id": "S001"}, headers=HO)).is_success
    inspection = {"lines": [{"line_id": "L2", "accepted": 1}]}
    assert (await http.post(f"/returns/{done}/inspection", json=inspection, headers=HO)).is_success

    async def reimbursed() -> bool:
        return (await http.get(f"/returns/{done}", headers=HO)).json()["status"] == "reimbursed"

    await eventually(reimbursed)
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    await expect(page.locator('#after-sales [data-count="returns"]')).to_have_text("2")
    first, second = page.locator(f"#return-row-{waiting}"), page.locator(f"#return-row-{done}")
    await expect(first).to_have_attribute("data-status", "authorised")
    await expect(first.locator("[data-clock]")).to_contain_text("goods to arrive: due")
    await expect(first.locator("[data-refunded]")).to_have_text("nothing")
    await expect(second).to_have_attribute("data-status", "reimbursed")
    await expect(second.locator("[data-clock]")).to_have_text("none")
    await expect(second.locator("[data-refunded]")).to_have_text("L2 × 1")
    await screenshot(page, "order-page-returns.png")


async def test_the_dashboard_counts_and_filters_orders_with_open_returns(page: Page, live: Live):
    http = live.http
    returning, refused, untouched = [await place(http) for _ in range(3)]
    for number in (returning, refused, untouched):
        await make_ready(http, number)
        await collect(http, number)
    one = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    assert (await http.post(f"/orders/{returning}/returns", json=one, headers=CHANNEL)).json()["status"] == "authorised"
    too_many = {"lines": [{"line_id": "L1", "quantity": 9, "reason": "x"}], "location_id": "S001"}
    assert (await http.post(f"/orders/{refused}/returns", json=too_many, headers=CHANNEL)).json()[
        "status"
    ] == "rejected"

    await sign_in(page, HO_KEY)
    await page.goto("/ui/orders")
    tile = page.locator("#open-returns")
    await expect(tile).to_contain_text("1")
    await expect(tile).to_contain_text("open returns")
    await tile.click()
    await expect(page.locator("#f-returns")).to_have_value("open")
    rows = page.locator("#orders tbody tr[data-order]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-order", returning)
    await screenshot(page, "dashboard-open-returns.png")


async def test_an_open_request_on_the_order_page_has_no_axe_violations(axe_page: Page, live: Live):
    number = await _acknowledged(live)
    request_id = await _file(live, number, {"kind": "cancel_order", "note": "bought it elsewhere"})
    await sign_in(axe_page, HO_KEY)
    await axe_page.goto(f"/ui/orders/{number}")
    await expect(axe_page.locator(f"#request-{request_id} button[name=accept]")).to_be_visible()
    assert await violations(axe_page) == []
    await axe_page.locator(f"#request-{request_id} button[name=accept]").click()  # asking to confirm
    await expect(axe_page.locator(".confirm-step")).to_be_visible()
    assert await violations(axe_page) == []
