"""Queues, the point of no return and invoices on the real stack (Temporal dev server, SQLite): a milestone order
invoiced at two stages and finally, with sequential numbers and XML valid against the invoice XSD; cancellations and
returns refused past the point of no return; an upfront order invoiced upfront and finally; a progress order invoiced
once per delivery handed over."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from models.order import order_workflow_id
from tests.api.test_deliveries import ADDRESS
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    PRICES,
    TEE,
    act,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    store_says,
    ui_sign_in,
    wait_for_status,
)

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parents[2] / "models" / "schemas" / "invoice.xsd")))
TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]  # order_body's default lines


def _queue(name: str, invoicing: str, *stages: dict) -> dict:
    return {"name": name, "invoicing": invoicing, "stages": list(stages)}


async def _use_queue(http, queue: dict, **rule: str) -> None:
    settings = {"queues": [queue], "rules": [{"queue": queue["name"], **rule}]}
    response = await http.put("/settings/queues", json=settings, headers=HO)
    assert response.status_code == 200, response.text


async def _invoices(http, number: str, count: int) -> list[dict]:
    async def check() -> list[dict] | None:
        found = (await http.get(f"/orders/{number}/invoices", headers=CHANNEL)).json()
        return found if len(found) >= count else None

    found = await eventually(check)
    assert len(found) == count, found
    return found


def _balanced(invoice: dict) -> bool:
    lines = invoice["lines"]
    return all(line["net"] + line["tax"] == line["gross"] for line in lines) and bool(lines)


async def _xml_valid(http, number: str, invoice: dict) -> etree._Element:
    response = await http.get(f"/orders/{number}/invoices/{invoice['number']}.xml", headers=HO)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    document = etree.fromstring(response.content)
    assert XSD.validate(document), XSD.error_log
    return document


async def test_settings_refuse_an_unknown_event_two_points_of_no_return_and_milestones_past_the_order(stack):
    http = stack.http
    good = _queue("q", "milestone", {"name": "a", "event": "placed", "milestone": {"percent_bp": 4000}})
    bad_event = _queue("q", "upfront", {"name": "a", "event": "teleported"})
    two = _queue(
        "q",
        "upfront",
        {"name": "a", "event": "accepted", "point_of_no_return": True},
        {"name": "b", "event": "ready", "point_of_no_return": True},
    )
    over = _queue(
        "q",
        "milestone",
        {"name": "a", "event": "placed", "milestone": {"percent_bp": 6000}},
        {"name": "b", "event": "ready", "milestone": {"percent_bp": 5000}},
    )
    for queue in (bad_event, two, over):
        response = await http.put("/settings/queues", json={"queues": [queue], "rules": []}, headers=HO)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    bad_event_field = (await http.put("/settings/queues", json={"queues": [bad_event]}, headers=HO)).json()
    assert any("event" in error["field"] for error in bad_event_field["errors"])
    await _use_queue(http, good, channel="web")
    assert (await http.get("/settings/queues", headers=HO)).json()["queues"][0]["name"] == "q"
    assert (await http.get("/settings/queues", headers=CHANNEL)).status_code == 403


async def test_a_milestone_order_is_invoiced_at_two_stages_and_finally_with_sequential_numbers(stack):
    http = stack.http
    queue = _queue(
        "milestones",
        "milestone",
        {"name": "deposit", "event": "placed", "milestone": {"percent_bp": 3000}},
        {"name": "accepted", "event": "accepted", "point_of_no_return": True},
        {"name": "ready", "event": "ready", "milestone": {"amount": {"amount": 1500, "currency": "GBP"}}},
        {"name": "collected", "event": "collected"},
    )
    await _use_queue(http, queue, channel="web", supply_method="click_and_collect")
    number = await place(http)
    [deposit] = await _invoices(http, number, 1)
    assert (deposit["kind"], deposit["stage"], deposit["gross"]) == ("milestone", "deposit", TOTAL * 3000 // 10_000)
    # Head Office changes a milestone before its stage is reached, never after.
    change = {"reason": "agreed by phone", "stage": "ready", "amount": {"amount": 2000, "currency": "GBP"}}
    await act(http, number, "change-milestone", change)
    late = await http.post(
        f"/orders/{number}/change-milestone", json={**change, "stage": "deposit", "amount": None}, headers=HO
    )
    assert late.status_code == 409 and late.json()["rule"] == "milestone_reached", late.text
    await make_ready(http, number)
    deposit_again, ready = await _invoices(http, number, 2)
    assert deposit_again == deposit  # issued once
    assert (ready["kind"], ready["stage"], ready["gross"], ready["number"]) == (
        "milestone",
        "ready",
        2000,
        deposit["number"] + 1,
    )
    done = await collect(http, number)
    *_, final = await _invoices(http, number, 3)
    assert (final["kind"], final["number"]) == ("final", deposit["number"] + 2)
    credited = {line["credits_invoice"] for line in final["lines"] if line["credits_invoice"]}
    assert credited == {deposit["number"], ready["number"]}
    for earlier in (deposit, ready):  # each credited exactly once, line by line
        credits = [line for line in final["lines"] if line["credits_invoice"] == earlier["number"]]
        assert len(credits) == len(earlier["lines"]) and sum(line["gross"] for line in credits) == -earlier["gross"]
    assert final["gross"] == TOTAL - deposit["gross"] - ready["gross"]
    assert sum(invoice["gross"] for invoice in (deposit, ready, final)) == TOTAL == done["total"]["amount"]
    for invoice in (deposit, ready, final):
        assert _balanced(invoice) and invoice["net"] + invoice["tax"] == invoice["gross"]
        assert any(line["tax"] for line in invoice["lines"])  # the lines' 20% standard rate, split per line
        document = await _xml_valid(http, number, invoice)
        assert document.findtext("{urn:baton:invoice:1}Number") == str(invoice["number"])
    # The order shows its queue, each stage reached, and was recorded complete only after its final invoice.
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert [stage["reached_at"] is not None for stage in view["queue"]["stages"]] == [True] * 4
    assert view["queue"]["current_stage"] == "collected"
    assert view["invoice_numbers"] == [deposit["number"], ready["number"], final["number"]]
    actions = [entry["action"] for entry in view["history"]]
    assert actions.index("invoice_issued", actions.index("collected")) < actions.index("completed"), " ".join(actions)


async def test_cancellation_is_refused_after_the_point_of_no_return_and_allowed_before_it(stack):
    http = stack.http
    queue = _queue(
        "no-return", "upfront", {"name": "placed", "event": "placed"}, {"name": "accepted", "event": "accepted",
        "point_of_no_return": True}
    )  # fmt: skip
    await _use_queue(http, queue)
    before = await place(http)
    cancelled = await act(http, before, "cancel", {"reason": "customer changed their mind"})
    assert cancelled["status"] == "cancelled"
    upfront, credit = await _invoices(http, before, 2)  # a cancelled order's final invoice only credits
    assert (credit["kind"], credit["gross"]) == ("final", -upfront["gross"])

    number = await place(http)
    await store_says(http, number, "acknowledged")
    await wait_for_status(http, number, "acknowledged")
    refused = await http.post(f"/orders/{number}/cancel", json={"reason": "too late"}, headers=HO)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "point_of_no_return" and "point of no return" in refused.json()["detail"]
    lines = await http.post(
        f"/orders/{number}/cancel-lines", json={"reason": "x", "lines": [{"line_id": "L1", "quantity": 1}]}, headers=HO
    )
    assert lines.status_code == 409 and lines.json()["rule"] == "point_of_no_return"
    asked = {"kind": "cancel_order", "note": "ordered by mistake"}
    request = await http.post(f"/orders/{number}/requests", json=asked, headers=CHANNEL)
    assert request.status_code == 409 and request.json()["rule"] == "point_of_no_return"
    assert (await http.get(f"/orders/{number}", headers=HO)).json()["status"] == "acknowledged"
    # The order page shows the queue, the stage reached, and offers no cancellation any more.
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    page = (await http.get(f"/ui/orders/{number}")).text
    assert 'data-stage="accepted" data-reached="yes"' in page and "point of no return" in page
    assert 'data-action="cancel"' not in page and 'data-action="cancel-lines"' not in page
    before_page = (await http.get(f"/ui/orders/{await place(http)}")).text
    assert 'data-action="cancel"' in before_page  # the control: before it, cancelling is offered


async def test_a_return_of_delivered_items_is_refused_after_the_point_of_no_return(stack):
    http = stack.http
    queue = _queue("final-sale", "upfront", {"name": "handed", "event": "collected", "point_of_no_return": True})
    await _use_queue(http, queue, channel="web")
    number = await place(http)
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert view["queue"]["stages"][0]["reached_at"] is None
    await make_ready(http, number)
    await collect(http, number)
    body = {
        "lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}],
        "method": "store",
        "location_id": "S001",
    }
    refused = await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "point_of_no_return" and "return" in refused.json()["detail"]
    assert (await http.get(f"/orders/{number}/returns", headers=HO)).json() == []
    asked = {"kind": "return_lines", "details": body, "note": "too small"}
    assert (await http.post(f"/orders/{number}/requests", json=asked, headers=CHANNEL)).status_code == 409


async def test_an_upfront_order_gets_an_upfront_and_a_final_invoice(stack):
    http = stack.http
    await _use_queue(http, _queue("upfront", "upfront", {"name": "placed", "event": "placed"}))
    number = await place(http)
    [upfront] = await _invoices(http, number, 1)
    assert (upfront["kind"], upfront["gross"]) == ("upfront", TOTAL) and _balanced(upfront)
    assert {line["line_id"] for line in upfront["lines"]} == {"L1", "L2"}
    await make_ready(http, number)
    await collect(http, number)
    upfront_again, final = await _invoices(http, number, 2)
    assert upfront_again == upfront and final["number"] == upfront["number"] + 1
    assert final["gross"] == 0 and sum(line["gross"] for line in final["lines"] if line["gross"] > 0) == TOTAL
    assert [line["credits_invoice"] for line in final["lines"] if line["gross"] < 0] == [upfront["number"]] * 2
    await _xml_valid(http, number, final)
    # Only Head Office and the order's channel read them.
    assert (await http.get(f"/orders/{number}/invoices", headers={"Authorization": "Bearer x"})).status_code == 401
    store = {"Authorization": "Bearer test-store-s001"}  # the store fulfilling it reads the order, not its invoices
    assert (await http.get(f"/orders/{number}/invoices", headers=store)).status_code == 403
    assert (await http.get(f"/orders/{number}/invoices/{final['number']}.xml", headers=store)).status_code == 403
    assert (await http.get(f"/orders/{number}/invoices/{final['number'] + 1000}.xml", headers=HO)).status_code == 404


async def test_a_progress_order_is_invoiced_once_per_delivery_handed_over(stack):
    http = stack.http
    await _use_queue(http, _queue("progress", "progress", {"name": "placed", "event": "placed"}))
    payment = {
        "mode": "authorise",
        "method": "card",
        "token": "tok_approve",
        "amount": {"amount": TOTAL, "currency": "GBP"},
    }
    body = order_body("S001", payment=payment)
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "S002"}
    number = await place(http, body)
    assert (await http.get(f"/orders/{number}/invoices", headers=HO)).json() == []
    await make_ready(http, number)
    await store_says(http, number, "collected", "S001")
    await wait_for_status(http, number, "partially_collected")
    [collected] = await _invoices(http, number, 1)
    assert (collected["kind"], collected["gross"]) == ("progress", PRICES[TEE] * 2)
    assert [line["line_id"] for line in collected["lines"]] == ["L1"]
    await store_says(http, number, "shipped", "S002", carrier="DPD", tracking_number="155012", delivery_id="D2")
    _, shipped = await _invoices(http, number, 2)
    assert (shipped["kind"], shipped["gross"], shipped["number"]) == (
        "progress",
        PRICES[JEANS],
        collected["number"] + 1,
    )
    await store_says(http, number, "delivered", "S002", delivery_id="D2")
    await wait_for_status(http, number, "completed")
    *_, final = await _invoices(http, number, 3)
    assert final["kind"] == "final" and final["gross"] == 0
    assert {line["credits_invoice"] for line in final["lines"] if line["credits_invoice"]} == {
        collected["number"],
        shipped["number"],
    }
    for invoice in (collected, shipped, final):
        await _xml_valid(http, number, invoice)


async def test_an_order_no_rule_picks_follows_no_queue_and_issues_no_invoice(stack):
    http = stack.http
    await _use_queue(http, _queue("phone-only", "upfront", {"name": "placed", "event": "placed"}), channel="phone")
    number = await place(http)
    await make_ready(http, number)
    done = await collect(http, number)
    assert done["queue"] is None and done["invoice_numbers"] == []
    assert (await http.get(f"/orders/{number}/invoices", headers=HO)).json() == []


async def test_a_direct_sale_following_a_queue_is_invoiced_upfront_and_finally_as_it_completes(stack):
    http = stack.http
    queue = _queue("till", "upfront", {"name": "sold", "event": "completed"})
    await _use_queue(http, queue, channel="store", supply_method="direct_sale")
    body = order_body(channel="store", fulfilment={"method": "direct_sale", "store_id": "S002"})
    number = await place(http, body, status="completed")
    upfront, final = await _invoices(http, number, 2)  # placed, then sold at the till at once
    assert (upfront["kind"], upfront["gross"], final["kind"], final["gross"]) == ("upfront", TOTAL, "final", 0)
    assert {line["credits_invoice"] for line in final["lines"] if line["gross"] < 0} == {upfront["number"]}

    async def stage_reached() -> dict | None:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["queue"]["stages"][0]["reached_at"] else None

    assert (await eventually(stage_reached))["invoice_numbers"] == [upfront["number"], final["number"]]


async def test_a_payment_head_office_takes_is_invoiced_ad_hoc_and_a_closed_orders_invoices_stay_readable(stack):
    http = stack.http
    sla = (await http.get("/settings/sla", headers=HO)).json()
    assert (await http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    queue = _queue("deposit", "milestone", {"name": "deposit", "event": "placed", "milestone": {"percent_bp": 2000}})
    await _use_queue(http, queue)
    body = order_body()
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_approve",
        "amount": body["payment"]["amount"],
    }
    number = await place(http, body)
    [deposit] = await _invoices(http, number, 1)
    await act(
        http, number, "payments", {"reason": "gift wrap agreed by phone", "amount": {"amount": 500, "currency": "GBP"}}
    )
    _, taken = await _invoices(http, number, 2)  # the card was charged: an ad hoc milestone for the money received
    assert (taken["kind"], taken["key"], taken["gross"]) == ("payment", "payment:P2", 500)
    assert taken["number"] == deposit["number"] + 1 and _balanced(taken)
    await make_ready(http, number)
    await collect(http, number)
    await stack.client.get_workflow_handle(order_workflow_id(number)).result()  # the order closes by itself
    *_, final = await _invoices(http, number, 3)
    assert final["kind"] == "final" and final["gross"] == TOTAL + 500 - deposit["gross"] - taken["gross"]
    await _xml_valid(http, number, final)  # read from SQL long after the workflow ended
