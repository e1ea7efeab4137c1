"""Every Head Office form on the order page maps onto its API action (no browser: the page endpoints over ASGI)."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.support import CHANNEL, HO, HO_KEY, order_body, ui_sign_in, wait_for_status


async def _place(http: httpx.AsyncClient, **kwargs) -> str:
    response = await http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(http, number, "awaiting_acknowledgement")
    return number


def _form_key(html: str, action: str) -> str:
    """The Idempotency-Key the re-rendered form of `action` carries."""
    form = html[html.index(f'id="action-{action}"') :]
    return re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)


async def _act(http: httpx.AsyncClient, number: str, action: str, form: dict, key: str | None = None):
    """Post an action form like htmx does; returns the refusing rule (None when done) and the HTML."""
    data = {**form, "idempotency_key": key or str(uuid.uuid4())}
    response = await http.post(f"/ui/orders/{number}/actions/{action}", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    html = response.text
    result = re.search(r'<div class="result (\w+)"', html)
    assert result is not None, html[:2000]
    # The banner sits right above the form that was sent, and above no other.
    banner, form_at = html.index('<div class="result'), html.index(f'<form id="action-{action}"')
    assert banner < form_at and "<form" not in html[banner:form_at], html[banner:form_at]
    if result.group(1) == "done":
        return None, html
    rule = re.search(r'<code class="rule">([^<]+)</code>', html)
    return (rule.group(1) if rule else result.group(1)), html


async def test_every_head_office_form_runs_its_action(stack):
    http = stack.http
    response = await ui_sign_in(http, HO_KEY)
    assert response.status_code == 303 and response.headers["location"] == "/ui/orders"
    reason = {"reason": "customer called", "client_note": ""}

    a = await _place(http)
    assert (await _act(http, a, "notes", {"text": "rang the customer", "client_facing": "on"}))[0] is None
    assert (await _act(http, a, "payments", {"method": "card", "amount": "5.00", **reason}))[0] is None
    assert (await _act(http, a, "refunds", {"amount": "5.00", **reason}))[0] is None
    assert (await _act(http, a, "change-variant", {"line_id": "L1", "size": "L", "colour": "", **reason}))[0] is None
    assert (await _act(http, a, "add-item", {"sku": "TEE-BLA-M", "quantity": "1", **reason}))[0] is None
    assert (await _act(http, a, "cancel-lines", {"lines.L2": "1", "lines.L1": "", **reason}))[0] is None
    assert (await _act(http, a, "prompt-store", reason))[0] is None
    rule, html = await _act(http, a, "release-hold", reason)
    assert rule is not None and rule != "invalid-input"
    assert (await _act(http, a, "refunds", {"amount": "1.5", **reason}))[0] is None
    rule, html = await _act(http, a, "refunds", {"amount": "abc", **reason}, key="key-of-a-mistyped-refund")
    assert rule == "invalid" and "Amount: &#39;abc&#39; is not an amount" in html
    assert _form_key(html, "refunds") == "key-of-a-mistyped-refund"  # corrected and sent again: one request
    assert (
        await _act(http, a, "redirect-stock", {"sku": "TEE-WHI-L", "quantity": "1", "from_location": "W001", **reason})
    )[0] is None
    assert (await _act(http, a, "cancel", reason))[0] is None

    view = (await http.get(f"/orders/{a}", headers=HO)).json()
    actions = [entry["action"] for entry in view["history"] if entry["actor"] == "ho:alice"]
    assert view["status"] == "cancelled"
    assert view["notes"][-1]["text"] == "rang the customer" and view["notes"][-1]["client_facing"]
    assert len(actions) >= 9, actions

    b = await _place(http)
    assert (await _act(http, b, "buy-in-store", {"line_ids": ["L2"], **reason}))[0] is None
    assert (await _act(http, b, "move-to-store", {"store_id": "S002", **reason}))[0] is None
    view = (await http.get(f"/orders/{b}", headers=HO)).json()
    assert view["store_id"] == "S002" and view["lines"][1]["fulfilment"] == "buy_in_store"

    c = await _place(http)
    address = {"name": "Ada Lovelace", "line1": "12 St James's Square", "line2": "", "city": "London"}
    address |= {"postcode": "SW1Y 4JH", "country": "GB"}
    form = {**{f"address.{k}": v for k, v in address.items()}, "from_location": "W001", **reason}
    assert (await _act(http, c, "home-delivery", form))[0] is None
    assert (await http.get(f"/orders/{c}", headers=HO)).json()["status"] == "awaiting_dispatch"


async def test_payment_and_approval_forms_run_their_action(stack):
    http = stack.http
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    reason = {"reason": "checked with the customer", "client_note": ""}
    policy = (await http.get("/settings/payments", headers=HO)).json()
    assert (
        await http.put("/settings/payments", json={**policy, "approval_channels": ["phone"]}, headers=HO)
    ).is_success

    def payment(mode: str, token: str | None = None) -> dict:
        body = order_body()["payment"] | {"mode": mode}
        return body | {"token": token} if token else body

    async def placed(status: str, **kwargs) -> str:
        response = await http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
        assert response.status_code == 201, response.text
        await wait_for_status(http, response.json()["order_number"], status)
        return response.json()["order_number"]

    approval = await placed("awaiting_approval", channel="phone", payment=payment("authorise", "tok_approve"))
    page = (await http.get(f"/ui/orders/{approval}")).text
    # Awaiting approval: approve, reject, cancel and a note are what the order accepts now.
    assert set(re.findall(r'<form id="action-([\w-]+)"', page)) == {"approve", "reject", "cancel", "notes"}
    assert (await _act(http, approval, "approve", reason))[0] is None

    offline = await placed("awaiting_payment", payment=payment("offline"))
    assert (await _act(http, offline, "confirm-payment", {"reference": "BACS 1", **reason}))[0] is None

    declined = await placed("on_hold", payment=payment("authorise", "tok_decline"))
    page = (await http.get(f"/ui/orders/{declined}")).text
    assert re.search(r'<span class="badge pay-declined">declined</span> — card declined', page)
    assert (await _act(http, declined, "retry-payment", {"token": "tok_approve", **reason}))[0] is None

    failed = await placed("awaiting_acknowledgement", payment=payment("authorise", "tok_capture_declined"))
    assert (await _act(http, failed, "override-payment", {"reference": "x", **reason}))[0] == "no_failed_payment"

    page = (await http.get(f"/ui/orders/{approval}")).text
    assert 'id="exports"' in page and "No export runs." in page and 'id="extracts"' in page

    views = [(await http.get(f"/orders/{n}", headers=HO)).json() for n in (approval, offline, declined)]
    assert [v["status"] for v in views] == ["awaiting_acknowledgement"] * 3


async def test_pages_answer_errors_as_pages_and_the_api_keeps_problem_json(stack):
    http = stack.http
    response = await http.get("/ui/orders")
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/sign-in")
    await ui_sign_in(http, HO_KEY)
    for path in ("/ui/nope", "/ui/orders/999999"):
        response = await http.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in response.text
    response = await http.get("/orders/999999", headers=HO)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert (await http.get("/ui/static/htmx.min.js")).status_code == 200
    response = await ui_sign_in(http, "test-channel-key")
    assert response.status_code == 401 and "Channel keys cannot sign in" in response.text


async def test_an_unknown_outcome_keeps_the_key_and_pressing_again_applies_it_once(stack):
    http = stack.http
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    number = await _place(http)
    form = {"text": "the customer rang twice"}
    stack.settings.update_timeout_seconds = 0.001  # the order cannot answer in time
    try:
        outcome, html = await _act(http, number, "notes", form, key="key-of-the-note")
    finally:
        stack.settings.update_timeout_seconds = 3
    assert outcome == "unknown"
    assert "We could not confirm this was applied. Press again to check — it will not be applied twice." in html
    assert "Nothing was changed" not in html
    assert _form_key(html, "notes") == "key-of-the-note"
    assert "the customer rang twice</textarea>" in html  # pressing again sends the same

    # Pressing again (as often as it takes: an update cut off mid-call may take the server a while to run)
    # learns the outcome; until then the page says the same and keeps the key.
    for _ in range(10):
        outcome, html = await _act(http, number, "notes", form, key="key-of-the-note")
        if outcome is None:
            break
        assert outcome == "unknown" and _form_key(html, "notes") == "key-of-the-note"
    assert outcome is None
    assert _form_key(html, "notes") != "key-of-the-note"
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert [n["text"] for n in view["notes"] if n["actor"] == "ho:alice"] == ["the customer rang twice"]
