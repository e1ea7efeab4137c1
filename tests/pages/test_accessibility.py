"""axe-core (vendored from npm: tests/pages/vendor/axe.min.js, axe-core 4.11.0, MPL-2.0) on every page, with every
action drawer open and the Pick Manager's warnings showing: zero violations of any rule axe runs by default."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import Live, sign_in_as
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, order_body, post_store_event, store_event, wait_for_status

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


async def violations(page: Page) -> list[str]:
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(content=AXE)
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + json.dumps([n["target"] for n in v["nodes"]][:5]) for v in found
    ]


async def _place(live: Live, status: str = "awaiting_acknowledgement") -> str:
    response = await live.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, status)
    return number


async def _open_every_drawer(page: Page) -> None:
    await page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")


async def test_the_head_office_pages_have_no_axe_violations(axe_page: Page, live: Live, db: Engine):
    page = axe_page
    await page.goto("/ui/sign-in")
    assert await violations(page) == []
    await page.goto("/ui/sign-in?next=/ui/orders")
    await page.fill("#username", "nobody")
    await page.fill("#password", "wrong-password-here")
    await page.click("#sign-in-button")
    await expect(page.locator("#sign-in-error")).to_be_visible()
    assert await violations(page) == []

    add_staff(db, "alice", StaffRole.ho_agent, name="Alice")
    open_order = await _place(live)
    cancelled = await _place(live)
    await sign_in_as(page, "alice", PASSWORD)
    assert await violations(page) == [], "dashboard"
    await page.goto("/ui/orders?view=all&sort=order&direction=asc")
    await page.check(f"#select-{open_order}")
    assert await violations(page) == [], "dashboard, every order"

    await page.goto(f"/ui/orders/{open_order}")
    await _open_every_drawer(page)
    assert await violations(page) == [], "order page"
    form = page.locator("#action-notes")
    await form.locator("textarea[name=text]").fill("rang the customer")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#toast")).to_contain_text("Note added")
    assert await violations(page) == [], "order page with a result"
    await page.locator("#action-refunds input[name=amount]").fill("9999")
    await page.locator("#action-refunds input[name=reason]").fill("goodwill")
    await page.locator("#action-refunds button[type=submit]").click()
    await expect(page.locator("#action-refunds .confirm-step")).to_be_visible()
    assert await violations(page) == [], "order page asking to confirm"

    await page.goto(f"/ui/orders/{cancelled}")
    await _open_every_drawer(page)
    await page.locator("#action-cancel input[name=reason]").fill("customer changed their mind")
    await page.locator("#action-cancel button[type=submit]").click()
    await page.locator("#action-cancel .confirm-yes").click()
    await expect(page.locator("#order-status")).to_have_text("cancelled")
    await page.reload()
    await _open_every_drawer(page)
    assert await violations(page) == [], "a cancelled order"

    await page.goto("/ui/orders/999999")
    assert await violations(page) == [], "not found"


async def test_the_pick_manager_has_no_axe_violations(axe_page: Page, live: Live, db: Engine):
    page = axe_page
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    picking = await _place(live)
    assert (await post_store_event(live.http, "S001", store_event(picking, "acknowledged"))).status_code == 202
    ready = await _place(live)
    for event, picked in (("acknowledged", None), ("picked", {"L1": 2, "L2": 1})):
        assert (await post_store_event(live.http, "S001", store_event(ready, event, picked=picked))).status_code == 202
    await wait_for_status(live.http, ready, "ready_for_collection")
    await wait_for_status(live.http, picking, "acknowledged")

    await sign_in_as(page, "sam", PASSWORD)
    await page.locator(f"#store-order-{picking} input[name=picked_L1]").fill("1")
    await expect(page.locator(f"#store-order-{picking} [data-short-pick]")).to_be_visible()
    assert await violations(page) == [], "to pick, with a short pick warning"
    for tab in ("ready", "done"):
        await page.goto(f"/ui/store?tab={tab}")
        assert await violations(page) == [], tab
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto("/ui/store?tab=ready")
    assert await violations(page) == [], "ready, on a phone"
