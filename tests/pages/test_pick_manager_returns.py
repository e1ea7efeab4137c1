"""The Pick Manager's returns, in a real Chromium: a return on its way to the store is listed with a Receive button;
once received, the store inspects it line by line (units restocked, units written off); the return is refunded and
what was restocked is back on the shelf through the stock ledger."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import Live, screenshot, sign_in_as
from tests.pages.test_accessibility import violations
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, HO, TEE, collect, eventually, make_ready, place


async def _on_hand(live: Live, sku: str) -> int:
    holding = (await live.http.get(f"/stock/{sku}", headers=HO)).json()["locations"]
    return next(s["on_hand"] for s in holding if s["location_id"] == "S001")


async def test_the_store_receives_a_return_and_inspects_it_line_by_line(page: Page, live: Live, db: Engine):
    http = live.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    lines = [
        {"line_id": "L1", "quantity": 2, "reason": "too small"},
        {"line_id": "L2", "quantity": 1, "reason": "torn"},
    ]
    rma = (await http.post(f"/orders/{number}/returns", json={"lines": lines, "location_id": "S001"},
                           headers=CHANNEL)).json()  # fmt: skip
    return_id = rma["return_id"]
    tees = await _on_hand(live, TEE)
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    await sign_in_as(page, "sam", PASSWORD)
    await page.click("#store-returns-link")
    await expect(page.locator('[data-count="to-receive"]')).to_have_text("1")
    card = page.locator(f"#return-{return_id}")
    await expect(card).to_contain_text("too small")
    await expect(page.locator("#nothing-to-inspect")).to_be_visible()
    await screenshot(page, "pick-manager-returns-to-receive.png")

    await card.locator("button[name=receive]").click()
    await expect(page.locator("#return-message")).to_contain_text(f"Return {return_id} received")
    await expect(page.locator('[data-count="to-receive"]')).to_have_text("0")
    assert (await http.get(f"/returns/{return_id}", headers=HO)).json()["status"] == "received"

    form = page.locator(f"#inspect-{return_id}")
    await form.locator("input[name=restock_L1]").fill("1")
    await form.locator("input[name=write_off_L1]").fill("1")
    await form.locator("input[name=restock_L2]").fill("0")
    await form.locator("input[name=write_off_L2]").fill("1")
    await screenshot(page, "pick-manager-returns-inspection.png")
    await form.locator("button[name=inspect]").click()
    await expect(page.locator("#return-message")).to_contain_text(f"Return {return_id} inspected")
    await expect(page.locator("#nothing-to-inspect")).to_be_visible()

    async def reimbursed() -> dict | None:
        state = (await http.get(f"/returns/{return_id}", headers=HO)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(reimbursed, timeout=30)
    assert [(i["line_id"], i["accepted"], i["written_off"]) for i in state["inspected"]] == [("L1", 1, 1), ("L2", 0, 1)]
    assert state["inspected_by"] == "store:S001 (sam)"
    assert state["refunded_lines"] == {"L1": 2, "L2": 1}
    assert await _on_hand(live, TEE) == tees + 1  # one tee back on the shelf, the other written off


async def test_more_than_came_back_is_refused_and_nothing_is_inspected(page: Page, live: Live, db: Engine):
    http = live.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    body = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    return_id = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    await sign_in_as(page, "sam", PASSWORD)
    await page.goto("/ui/store/returns")
    form = page.locator(f"#inspect-{return_id}")
    await form.locator("input[name=restock_L1]").evaluate("input => input.removeAttribute('max')")
    await form.locator("input[name=restock_L1]").fill("3")
    await form.locator("button[name=inspect]").click()
    await expect(page.locator("#return-refusal")).to_contain_text("3 accepted and 0 written off, 1 returned")
    assert (await http.get(f"/returns/{return_id}", headers=HO)).json()["inspected"] == []


async def test_the_returns_pages_have_no_axe_violations(axe_page: Page, live: Live, db: Engine):
    page = axe_page
    http = live.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    for line_id in ("L1", "L2"):  # one to receive, one to inspect
        body = {"lines": [{"line_id": line_id, "quantity": 1, "reason": "too small"}], "location_id": "S001"}
        return_id = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    await sign_in_as(page, "sam", PASSWORD)
    await page.goto("/ui/store/returns")
    await expect(page.locator(f"#inspect-{return_id}")).to_be_visible()
    assert await violations(page) == []
    await page.goto(f"/ui/orders/{number}")
    await expect(page.locator("#returns-table")).to_be_visible()
    assert await violations(page) == []
