"""The Pick Manager through a shift, in a real Chromium: typed quantities and focus survive the 3 s poll, a short
pick warns and asks why, collection is verified by the order's code, and the page fits a phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import WIDTHS, Live, code_of, screenshot, sign_in_as, viewport
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, HO, JEANS, TEE, order_body, post_store_event, store_event, wait_for_status

PHONE = {"width": 390, "height": 844}


async def _acknowledged(live: Live, lines=((TEE, 2), (JEANS, 1))) -> str:
    response = await live.http.post("/orders", json=order_body(lines=list(lines)), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    assert (await post_store_event(live.http, "S001", store_event(number, "acknowledged"))).status_code == 202
    await wait_for_status(live.http, number, "acknowledged")
    return number


async def _polls(page: Page, count: int) -> None:
    """Wait until the list has been refreshed `count` times."""
    for _ in range(count):
        async with page.expect_response(re.compile(r"/ui/store/live"), timeout=10_000) as polled:
            pass
        assert (await polled.value).status == 200


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_typed_quantity_and_focus_survive_three_polls(page: Page, live: Live, db: Engine, width: int):
    await page.set_viewport_size(viewport(width))
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    number = await _acknowledged(live)
    await sign_in_as(page, "sam", PASSWORD)
    card = page.locator(f"#store-order-{number}")
    first, second = card.locator("input[name=picked_L1]"), card.locator("input[name=picked_L2]")

    await first.fill("1")  # typed, then the box loses focus (the old poll reset it to 2 here)
    await second.click()
    await second.fill("0")  # typing, still focused
    await _polls(page, 3)
    await expect(first).to_have_value("1")
    await expect(second).to_have_value("0")
    await expect(second).to_be_focused()
    await expect(card.locator("[data-short-pick]")).to_be_visible()  # the warning stays too
    await screenshot(page, f"pick-manager-typed-quantity-survives-polls-{width}.png", full_page=False)


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_short_pick_warns_and_records_the_reason(page: Page, live: Live, db: Engine, width: int):
    await page.set_viewport_size(viewport(width))
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    number = await _acknowledged(live)
    await sign_in_as(page, "sam", PASSWORD)
    card = page.locator(f"#store-order-{number}")
    warning = card.locator("[data-short-pick]")
    await expect(warning).to_be_hidden()
    await card.locator("input[name=picked_L1]").fill("1")
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("goes on hold for Head Office")

    # Without a reason nothing is sent (the browser asks for it; the server refuses too).
    await card.locator("select[name=short_reason]").evaluate("select => select.removeAttribute('required')")
    await card.locator("button[name=pick]").click()
    await expect(page.locator("#store-refusal")).to_contain_text("Choose why the pick is short")
    assert (await live.http.get(f"/orders/{number}", headers=HO)).json()["status"] == "acknowledged"

    await card.locator("select[name=short_reason]").select_option("damaged")
    await page.click("#toast [data-dismiss]")  # the refusal is read; out of the way
    await screenshot(page, f"pick-manager-short-pick-reason-{width}.png", full_page=False)
    await card.locator("button[name=pick]").click()
    await expect(page.locator("#toast")).to_contain_text("waits for Head Office")
    view = await wait_for_status(live.http, number, "on_hold")
    held = next(h for h in view["history"] if h["action"] == "held_short_pick")
    assert held["actor"] == "store:S001:sam" and "(damaged)" in held["detail"]
    # Still in the list, below what the store can act on, with its next step in words.
    await expect(card.locator(".next-step")).to_contain_text("With Head Office")


@pytest.mark.parametrize("width", WIDTHS)
async def test_handing_over_needs_the_collection_code(page: Page, live: Live, db: Engine, width: int):
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    number = await _acknowledged(live)
    picked = store_event(number, "picked", picked={"L1": 2, "L2": 1})
    assert (await post_store_event(live.http, "S001", picked)).status_code == 202
    await wait_for_status(live.http, number, "ready_for_collection")
    code = await code_of(live, number)
    extracts = (await live.http.get("/extracts", params={"order_number": number}, headers=HO)).json()["items"]
    document = (await live.http.get(extracts[-1]["href"], headers=HO)).text
    assert f"<CollectionCode>{code}</CollectionCode>" in document  # the customer's ready message carries it

    await page.set_viewport_size(viewport(width))
    await sign_in_as(page, "sam", PASSWORD)
    await page.click("nav.tabs [data-tab=ready]")
    card = page.locator(f"#store-order-{number}")
    wrong = "000000" if code != "000000" else "111111"
    await card.locator("input[name=collection_code]").fill(wrong)
    await card.locator("button[name=hand-over]").click()
    await expect(page.locator("#store-refusal")).to_contain_text("not the order's collection code")
    assert (await live.http.get(f"/orders/{number}", headers=HO)).json()["status"] == "ready_for_collection"

    await card.locator("input[name=collection_code]").fill(f"{code[:3]} {code[3:]}")
    await card.locator("button[name=hand-over]").click()
    await expect(page.locator("#toast")).to_contain_text("handed over")
    await screenshot(page, f"pick-manager-collection-verified-{width}.png", full_page=False)
    view = await wait_for_status(live.http, number, "completed")
    assert any(h["actor"] == "store:S001:sam" for h in view["history"])
    await page.click("nav.tabs [data-tab=done]")
    await expect(page.locator(f"#store-order-{number}")).to_have_attribute("data-status", "completed")


async def test_the_pick_manager_fits_a_phone_with_44px_targets(page: Page, live: Live, db: Engine):
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    number = await _acknowledged(live)
    await page.set_viewport_size(PHONE)
    await sign_in_as(page, "sam", PASSWORD)
    await expect(page.locator(f"#store-order-{number}")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px phone"
    small = await page.evaluate(
        """() => [...document.querySelectorAll('main button, main input, main select, main a.tab')]
            .filter(e => e.offsetParent !== null && e.type !== 'hidden')
            .map(e => [e.name || e.id || e.textContent.trim(), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == [], f"touch targets under 44 px: {small}"
    # Search by customer name, part of it.
    await page.fill("#store-q", "lovel")
    await page.click(".store-search button[type=submit]")
    await expect(page.locator(f"#store-order-{number}")).to_be_visible()
    await page.fill("#store-q", "nobody-by-this-name")
    await page.click(".store-search button[type=submit]")
    await expect(page.locator("#no-orders")).to_contain_text("No order matches")
