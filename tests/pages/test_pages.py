"""The web pages in a real Chromium: the Head Office dashboard, the order page and the store's Pick Manager."""

from __future__ import annotations

import re

from playwright.async_api import Dialog, Page, expect

from api.pages.shared import money
from models.actions import BY_PATH
from models.offered import offered_actions
from models.views import OrderView
from tests.pages.conftest import Live, code_of, screenshot, sign_in
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    TEE,
    eventually,
    order_body,
    post_store_event,
    store_event,
    wait_for_status,
)

STORE_S001_KEY = "test-store-s001"


async def _place(live: Live, **kwargs) -> str:
    response = await live.http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    return response.json()["order_number"]


async def test_pages_need_sign_in_and_sign_out_ends_the_session(page: Page, live: Live):
    await page.goto("/ui/orders")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))

    await page.click("summary")
    await page.fill("input[name=api_key]", "not-a-key")
    await page.click("#key-sign-in-button")
    await expect(page.locator("#sign-in-error")).to_contain_text("Unknown key")

    await page.fill("input[name=api_key]", HO_KEY)
    await page.click("#key-sign-in-button")
    await expect(page).to_have_url(re.compile(r"/ui/orders$"))
    cookie = next(c for c in await page.context.cookies() if c["name"] == "baton_session")
    assert cookie["httpOnly"] and HO_KEY not in cookie["value"]

    await page.click("text=Sign out")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    await page.goto("/ui/orders")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))


async def test_dashboard_shows_new_orders_without_shifting_rows_and_turns_a_breached_row_red(page: Page, live: Live):
    first = await _place(live)
    await sign_in(page, HO_KEY)
    await expect(page.locator("h1")).to_have_text("Orders")
    await page.goto("/ui/orders?view=all")
    await expect(page.locator(f"tr[data-order='{first}']")).to_be_visible()

    number = await _place(live)  # placed after the page loaded: the rows hold still, a line says it arrived
    await expect(page.locator("#newer")).to_contain_text("1 new order", timeout=10_000)
    row = page.locator(f"tr[data-order='{number}']")
    await expect(row).to_have_count(0)
    await page.click("#newer a")
    await expect(row).to_be_visible()
    await expect(row).not_to_have_class(re.compile(r"\balert\b"))
    await expect(row).to_contain_text("awaiting acknowledgement")

    response = await live.http.put("/settings/sla", json={"not_acknowledged": 1}, headers=HO)
    assert response.status_code == 200, response.text
    late = await _place(live, store_id="S002")
    await page.goto("/ui/orders")  # needs attention: the breached order, not the others
    late_row = page.locator(f"tr[data-order='{late}']")
    await expect(late_row).to_have_class(re.compile(r"\balert\b"), timeout=20_000)
    await expect(late_row).to_contain_text("not acknowledged")
    await expect(page.locator("#alert-counts [data-alert='not_acknowledged'] b")).to_have_text("1")

    # Filters: by branch, and by alert; the tiles count what the filter shows.
    await page.goto("/ui/orders?view=all&store_id=S001")
    await expect(page.locator(f"tr[data-order='{number}']")).to_be_visible()
    await expect(page.locator(f"tr[data-order='{late}']")).to_have_count(0)
    await expect(page.locator("#alert-counts [data-alert='not_acknowledged']")).to_have_count(0)
    await page.goto("/ui/orders?view=all&alert=yes")
    await expect(page.locator(f"tr[data-order='{late}']")).to_be_visible()
    await expect(page.locator(f"tr[data-order='{number}']")).to_have_count(0)
    await page.goto("/ui/orders")
    await expect(page.locator(f"tr[data-order='{late}']")).to_have_class(re.compile(r"\balert\b"))
    await screenshot(page, "dashboard.png")


async def _true_when(condition: bool) -> bool | None:
    return True if condition else None


async def _key(page: Page, action: str) -> str:
    return await page.locator(f"#action-{action} input[name=idempotency_key]").input_value()


async def open_action(page: Page, path: str) -> None:
    """Open an action's drawer on the order page (each offered action is a <details>)."""
    drawer = page.locator(f"details[data-action='{path}']")
    if not await drawer.evaluate("d => d.open"):
        await drawer.locator(":scope > summary").click()


async def send(page: Page, path: str) -> None:
    """Press the action's button, and "Yes" on its confirmation step if it asks first."""
    await page.locator(f"#action-{path} button[type=submit]").click()
    if BY_PATH[path].confirm:
        await page.locator(f"#action-{path} .confirm-yes").click()


async def _banner_is_right_above(page: Page, action: str) -> bool:
    return await page.evaluate(
        "path => document.getElementById('action-' + path).previousElementSibling?.id === 'result'", action
    )


async def test_order_page_cancels_a_line_and_shows_a_refusal(page: Page, live: Live):
    number = await _place(live, lines=[(TEE, 2), (JEANS, 1)])
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    await expect(page.locator("#order-status")).to_have_text("awaiting acknowledgement")
    link = page.locator("#temporal-link")
    assert await link.get_attribute("href") == f"http://localhost:8233/namespaces/default/workflows/order-{number}"
    await expect(page.locator("#stock")).to_contain_text("W001")

    await open_action(page, "cancel-lines")
    form = page.locator("#action-cancel-lines")
    await form.locator("input[name='lines.L1']").fill("1")
    await form.locator("input[name=reason]").fill("customer only wants one")
    await send(page, "cancel-lines")
    result = page.locator("#result.done")
    await expect(result).to_contain_text("Refund of £15.00 to P1")
    await expect(result).to_contain_text("Lines cancelled: L1 × 1")
    assert await _banner_is_right_above(page, "cancel-lines")
    await expect(result).to_be_in_viewport()
    await expect(page.locator("tr[data-line='L1'] .qty")).to_have_text("1")
    await expect(page.locator("#history")).to_contain_text("alice (Head Office)")
    await expect(page.locator("#toast")).to_contain_text("Refund of £15.00 to P1")
    await expect(page.locator("#toast")).to_be_in_viewport()
    await expect(page.locator("#refunded")).to_have_text("£15.00")  # prepaid: the channel is told to pay it back
    await expect(page.locator("tr.refund[data-status='instructed']")).to_contain_text("the channel pays it back")

    await open_action(page, "notes")
    form = page.locator("#action-notes")
    await form.locator("textarea[name=text]").fill("Customer called about the tee")
    await send(page, "notes")
    await expect(page.locator("#notes")).to_contain_text("Customer called about the tee")
    await expect(page.locator("#result.done")).to_contain_text("Note added")
    assert await _banner_is_right_above(page, "notes")

    await open_action(page, "refunds")
    form = page.locator("#action-refunds")
    await form.locator("input[name=amount]").fill("9999.00")
    await form.locator("input[name=reason]").fill("goodwill")
    await send(page, "refunds")
    refusal = page.locator("#result.refused")
    await expect(refusal).to_contain_text("Nothing was changed")
    await expect(refusal.locator("code.rule")).to_have_text("refund_exceeds_captured")
    assert await _banner_is_right_above(page, "refunds")
    await expect(page.locator("#refunded")).to_have_text("£15.00")  # nothing changed
    await expect(form.locator("input[name=amount]")).to_have_value("9999.00")  # kept, to correct

    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["lines"][0]["quantity"] == 1 and view["refunded"]["amount"] == 1500
    await screenshot(page, "order-page.png")


async def test_a_gateway_refund_shows_as_money_on_its_way_until_the_gateway_answers(page: Page, live: Live):
    slow_card = order_body()["payment"] | {"mode": "auth_capture", "token": "tok_slow"}  # answers after 5 s
    number = await _place(live, payment=slow_card)

    async def captured() -> dict | None:
        view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["payments"][0]["status"] == "captured" and not view["operations"] else None

    view = await eventually(captured, 20)
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    await expect(page.locator("#paid")).to_have_text(money(view["paid"]))
    await expect(page.locator("tr.payment[data-payment='P1']")).to_contain_text("captured")

    await open_action(page, "refunds")
    form = page.locator("#action-refunds")
    await form.locator("input[name=amount]").fill("15")
    await form.locator("input[name=reason]").fill("late delivery")
    await send(page, "refunds")
    await expect(page.locator("#result.done")).to_contain_text("Refund of £15.00 to P1 requested — money on its way")
    await expect(page.locator("#operations")).to_contain_text("refund £15.00 to P1")
    await expect(page.locator("tr.refund")).to_contain_text("requested — on its way")
    await expect(page.locator("#refunded")).to_have_text("£0.00")  # not moved yet

    # The money card polls while money is on its way: the gateway's answer shows without a reload.
    await expect(page.locator("tr.refund[data-status='refunded']")).to_have_count(1, timeout=20_000)
    await expect(page.locator("#refunded")).to_have_text("£15.00")
    await expect(page.locator("#operations")).to_have_count(0)


async def test_order_page_offers_a_form_for_each_action_valid_now(page: Page, live: Live):
    number = await _place(live)
    view = await wait_for_status(live.http, number, "awaiting_acknowledgement")
    offered = offered_actions(OrderView.model_validate(view))
    assert {"refund", "cancel_order", "add_note"} <= {a.name for a in offered}
    assert not {"approve_order", "release_hold", "retry_payment"} & {a.name for a in offered}
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    forms = page.locator("#head-office-actions form")
    ids = await forms.evaluate_all("forms => forms.map(f => f.id)")
    offered = [a for a in offered if a.name != "edit_custom_field"]  # offered once custom fields are defined
    assert ids == [f"action-{action.path}" for action in offered]
    for action in offered:
        drawer = page.locator(f"details[data-action='{action.path}']")
        await expect(drawer.locator(".action-title")).to_have_text(action.title)
        await expect(drawer.locator(".help")).to_have_text(action.summary)
        form = page.locator(f"#action-{action.path}")
        assert await form.get_attribute("data-confirm") == action.confirm
        assert await form.get_attribute("hx-confirm") is None  # window.confirm is not used
        assert await form.get_attribute("hx-post") == f"/ui/orders/{number}/actions/{action.path}"
        assert await _key(page, action.path)
    keys = [await _key(page, action.path) for action in offered]
    assert len(set(keys)) == len(keys)  # a key of its own for every form
    await open_action(page, "refunds")
    refunds = page.locator("#action-refunds")
    await expect(refunds.locator("input[name=amount]")).to_have_attribute("inputmode", "decimal")
    await expect(refunds.locator("input[name='lines.L1']")).to_have_attribute("max", "2")
    await open_action(page, "home-delivery")
    await expect(page.locator("#action-home-delivery input[name='address.postcode']")).to_be_visible()
    await expect(page.locator("#action-move-to-store select[name=store_id] option[value=S002]")).to_have_count(1)
    await expect(page.locator("#action-move-to-store select[name=store_id] option[value=S001]")).to_have_count(0)


async def test_a_completed_order_offers_only_notes_and_refunds(page: Page, live: Live):
    number = await _place(live, store_id="S001")
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    for event, status in (("acknowledged", "acknowledged"), ("picked", "ready_for_collection")):
        picked = {"L1": 2, "L2": 1} if event == "picked" else None
        response = await post_store_event(live.http, "S001", store_event(number, event, picked=picked))
        assert response.status_code == 202, response.text
        await wait_for_status(live.http, number, status)
    assert (await post_store_event(live.http, "S001", store_event(number, "collected"))).status_code == 202
    await wait_for_status(live.http, number, "completed")
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    ids = await page.locator("#head-office-actions form").evaluate_all("forms => forms.map(f => f.id)")
    assert ids == ["action-notes", "action-refunds"]
    await expect(page.locator("#waiting")).to_contain_text("Waiting for nothing")


async def test_a_refused_action_keeps_its_idempotency_key_and_a_done_one_gets_a_new_one(page: Page, live: Live):
    number = await _place(live)
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")

    first = await _key(page, "refunds")
    await open_action(page, "refunds")
    form = page.locator("#action-refunds")
    await form.locator("input[name=amount]").fill("9999.00")
    await form.locator("input[name=reason]").fill("goodwill")
    await send(page, "refunds")
    await expect(page.locator("#result.refused")).to_contain_text("refund_exceeds_captured")
    assert await _key(page, "refunds") == first  # pressing again is the same request

    await form.locator("input[name=amount]").fill("5.00")
    await send(page, "refunds")
    await expect(page.locator("#result.done")).to_contain_text("Refund of £5.00 to P1")
    second = await _key(page, "refunds")
    assert second != first  # done: the next refund is a new request
    await expect(form.locator("input[name=amount]")).to_have_value("")

    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert [r["amount"]["amount"] for r in view["refunds"]] == [500]


async def test_cancel_asks_for_confirmation_first(page: Page, live: Live):
    number = await _place(live)
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))  # none: the question is asked in the page

    await open_action(page, "cancel")
    form = page.locator("#action-cancel")
    await form.locator("input[name=reason]").fill("customer changed their mind")
    await form.locator("button[type=submit]").click()
    step = form.locator(".confirm-step[role=alertdialog]")
    await expect(step).to_contain_text(BY_PATH["cancel"].confirm)
    await expect(step.locator(".confirm-yes")).to_be_focused()
    await step.locator(".confirm-no").click()  # "Go back": nothing is sent
    await expect(step).to_have_count(0)
    await page.wait_for_timeout(300)
    await expect(page.locator("#result")).to_have_count(0)
    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["status"] == "awaiting_acknowledgement"

    await form.locator("button[type=submit]").click()
    await form.locator(".confirm-yes").click()
    await expect(page.locator("#toast")).to_contain_text("now cancelled")
    await expect(page.locator("#order-status")).to_have_text("cancelled")
    assert not dialogs
    # Cancelled: notes and refunds stay on the page.
    await expect(page.locator("#notes")).to_be_visible()
    ids = await page.locator("#head-office-actions form").evaluate_all("forms => forms.map(f => f.id)")
    assert ids == ["action-cancel", "action-notes"]  # the cancel form once more, with its result
    await page.reload()
    ids = await page.locator("#head-office-actions form").evaluate_all("forms => forms.map(f => f.id)")
    assert ids == ["action-notes"]  # everything paid was refunded: a note is what is left to do


async def test_store_acknowledges_picks_and_hands_over_on_the_pick_manager(page: Page, live: Live):
    number = await _place(live, store_id="S001")
    other = await _place(live, store_id="S002")
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await sign_in(page, STORE_S001_KEY)
    await expect(page).to_have_url(re.compile(r"/ui/store$"))
    card = page.locator(f".store-order[data-order='{number}']")
    await expect(card).to_be_visible()
    await expect(page.locator(f".store-order[data-order='{other}']")).to_have_count(0)

    await card.locator("button[name=acknowledge]").click()
    await expect(card).to_have_attribute("data-status", "acknowledged")
    await card.locator("button[name=pick]").click()
    await expect(page.locator("#store-message")).to_contain_text("now ready for collection")
    await expect(card).to_have_count(0)  # on to the "ready" tab
    await page.click("nav.tabs [data-tab=ready]")
    await expect(card).to_have_attribute("data-status", "ready_for_collection")
    await card.locator("input[name=collection_code]").fill(await code_of(live, number))
    await card.locator("button[name=hand-over]").click()
    await expect(page.locator("#store-message")).to_contain_text("completed")
    await expect(card).to_have_count(0)  # no longer open

    view = await wait_for_status(live.http, number, "completed")
    assert [line["picked_quantity"] for line in view["lines"]] == [2, 1]
    assert any(entry["actor"] == "store:S001" for entry in view["history"])


async def test_a_store_user_cannot_open_another_stores_order(page: Page, live: Live):
    other = await _place(live, store_id="S002")
    own = await _place(live, store_id="S001")
    await sign_in(page, STORE_S001_KEY)
    response = await page.goto(f"/ui/orders/{other}")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")

    response = await page.goto(f"/ui/orders/{own}")
    assert response is not None and response.status == 200
    await expect(page.locator("h1")).to_contain_text(f"Order {own}")
    await expect(page.locator("#action-cancel")).to_have_count(0)  # no Head Office actions for a store

    await page.goto("/ui/orders")  # the dashboard is Head Office's: a store user lands on its Pick Manager
    await expect(page).to_have_url(re.compile(r"/ui/store$"))
