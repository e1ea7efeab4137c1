"""Completed orders close once settled, and a later refund runs in its own Refund workflow (issue 14): Head Office's
refund on a closed order and a return refunded after its order closed are each paid once through the gateway,
recorded once in the payments ledger, and show on the order (refunded total, history, a `refunded` event); a
retried request never pays twice; more than was taken less refunds is refused with the order's own rule."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import Session, select

from models.db.closed_orders import ClosedOrderRow
from models.db.tables import OrderEventRow, PaymentTransactionRow
from models.late_refunds import LateRefundOutcome, refund_workflow_id
from models.order import order_workflow_id
from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    PRICES,
    TEE,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    wait_for_status,
)

STORE_S001 = {"Authorization": "Bearer test-store-s001"}
LINES = [(TEE, 2), (JEANS, 1)]
TOTAL = sum(PRICES[sku] * qty for sku, qty in LINES)


async def _closed_order(stack) -> str:
    """An order paid by card through the gateway, collected, and closed: its workflow has completed."""
    sla = (await stack.http.get("/settings/sla", headers=HO)).json()
    # A second's grace instead of an hour: the order's workflow ends soon after it completes.
    assert (await stack.http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    body = order_body(lines=LINES)
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_approve",
        "amount": body["payment"]["amount"],
    }
    number = await place(stack.http, body)
    await make_ready(stack.http, number)
    await collect(stack.http, number)
    await stack.client.get_workflow_handle(order_workflow_id(number)).result()  # it closes by itself
    return number


def _ledger_refunds(stack, number: str) -> list[tuple[str, str, int]]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(PaymentTransactionRow).where(
                PaymentTransactionRow.order_number == number, PaymentTransactionRow.kind == "refund"
            )
        ).all()
        return sorted((row.transaction_id, row.status, row.amount) for row in rows)


def _events(stack, number: str) -> list[str]:
    with Session(stack.engine) as session:
        rows = session.exec(select(OrderEventRow).where(OrderEventRow.order_number == number)).all()
        return [row.type for row in sorted(rows, key=lambda row: row.id or 0)]


async def test_a_collected_order_closes_once_settled_and_keeps_its_view(stack):
    number = await _closed_order(stack)
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["status"] == "completed"
    assert view["paid"]["amount"] == TOTAL and view["operations"] == []
    # An action that would change the order on a closed order is refused with its rule.
    cancel = await stack.http.post(f"/orders/{number}/cancel", json={"reason": "too late"}, headers=HO)
    assert cancel.status_code == 409 and cancel.json()["rule"] == "order_closed"
    # A note is still written (on the kept state and the read model), once however often it is sent.
    keyed = {**HO, "Idempotency-Key": "late-note-1"}
    for _ in range(2):
        note = await stack.http.post(
            f"/orders/{number}/notes", json={"text": "called back", "client_facing": False}, headers=keyed
        )
        assert note.status_code == 200, note.text
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [n["text"] for n in view["notes"]].count("called back") == 1
    assert [h["action"] for h in view["history"]].count("note_added") == 1
    with Session(stack.engine) as session:
        kept = session.get(ClosedOrderRow, number)
        assert kept is not None and [n["text"] for n in kept.state["notes"]].count("called back") == 1


async def test_head_office_refund_after_close_is_paid_once_by_a_refund_workflow(stack):
    number = await _closed_order(stack)
    refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "goodwill"}
    headers = {**HO, "Idempotency-Key": "late-1"}
    first = await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["refunded"]["amount"] == 1500
    again = await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=headers)  # a retried request
    assert again.status_code == 200, again.text
    assert again.json()["refunded"]["amount"] == 1500  # still the one refund

    refund_id = refund_workflow_id(number, "late-1")
    outcome = await stack.client.get_workflow_handle(refund_id, result_type=LateRefundOutcome).result()
    assert outcome.refunded == 1500
    assert _ledger_refunds(stack, number) == [(f"{refund_id}:refund:1", "approved", 1500)]
    ledger = (await stack.http.get(f"/orders/{number}/payments", headers=HO)).json()["transactions"]
    assert [(t["kind"], t["status"], t["amount"]["amount"]) for t in ledger if t["kind"] == "refund"] == [
        ("refund", "approved", 1500)
    ]
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(r["status"], r["amount"]["amount"]) for r in view["refunds"]] == [("refunded", 1500)]
    actions = [h["action"] for h in view["history"]]
    assert actions.count("refund_asked") == 1 and actions.count("refunded") == 1, actions
    assert _events(stack, number).count("refunded") == 1

    # Another refund: never more than was taken less what was refunded, the order's own rule.
    too_much = {"amount": {"amount": TOTAL - 1500 + 1, "currency": "GBP"}, "reason": "too much"}
    refused = await stack.http.post(
        f"/orders/{number}/refunds", json=too_much, headers={**HO, "Idempotency-Key": "late-2"}
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "refund_exceeds_captured", refused.text
    rest = {"amount": {"amount": TOTAL - 1500, "currency": "GBP"}, "reason": "the rest"}
    paid = await stack.http.post(f"/orders/{number}/refunds", json=rest, headers={**HO, "Idempotency-Key": "late-3"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["refunded"]["amount"] == TOTAL
    assert [amount for _id, _status, amount in _ledger_refunds(stack, number)] == sorted([1500, TOTAL - 1500])


async def test_a_return_opened_after_its_order_closed_is_refunded_through_a_refund_workflow(stack):
    number = await _closed_order(stack)
    body = {"lines": [{"line_id": "L2", "quantity": 1, "reason": "too long"}], "method": "store", "location_id": "S001"}
    opened = await stack.http.post(f"/orders/{number}/returns", json=body, headers={**CHANNEL, "Idempotency-Key": "r1"})
    assert opened.status_code == 201, opened.text
    return_id = opened.json()["return_id"]
    received = await stack.http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=STORE_S001)
    assert received.status_code == 200, received.text
    inspection = {"lines": [{"line_id": "L2", "accepted": 1}]}
    inspected = await stack.http.post(f"/returns/{return_id}/inspection", json=inspection, headers=STORE_S001)
    assert inspected.status_code == 200, inspected.text

    async def reimbursed() -> dict | None:
        state = (await stack.http.get(f"/returns/{return_id}", headers=CHANNEL)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(reimbursed, timeout=30)
    assert state["refunded_lines"] == {"L2": 1} and "refund_refused" not in state["alerts"]
    refund_id = refund_workflow_id(number, return_id)
    outcome = await stack.client.get_workflow_handle(refund_id, result_type=LateRefundOutcome).result()
    assert outcome.refunded == PRICES[JEANS]
    assert _ledger_refunds(stack, number) == [(f"{refund_id}:refund:1", "approved", PRICES[JEANS])]
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["refunded"]["amount"] == PRICES[JEANS]
    # The closed order recorded the return as it would have while open: its history and its event, once.
    about = [h["action"] for h in view["history"] if return_id in h["detail"]]
    assert about.count("partially_returned") == 1 and about.count("refund_asked") == 1, about
    events = _events(stack, number)
    assert events.count("refunded") == 1 and events.count("partially_returned") == 1, events


async def test_two_late_refunds_at_once_never_both_spend_the_same_money(stack):
    number = await _closed_order(stack)
    most = {"amount": {"amount": TOTAL - 100, "currency": "GBP"}, "reason": "asked twice by two people"}

    async def ask(key: str):
        return await stack.http.post(f"/orders/{number}/refunds", json=most, headers={**HO, "Idempotency-Key": key})

    answers = await asyncio.gather(ask("alice"), ask("bob"))
    assert sorted(answer.status_code for answer in answers) == [200, 409], [a.text for a in answers]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["rule"] == "refund_exceeds_captured"
    assert [amount for _id, status, amount in _ledger_refunds(stack, number) if status == "approved"] == [TOTAL - 100]
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["refunded"]["amount"] == TOTAL - 100


async def test_an_order_closed_without_a_kept_state_refuses_a_late_refund_at_once(stack):
    number = await _closed_order(stack)
    with Session(stack.engine) as session:  # as an order closed before orders kept their final state
        session.delete(session.get(ClosedOrderRow, number))
        session.commit()
    refund = {"amount": {"amount": 100, "currency": "GBP"}, "reason": "goodwill"}
    refused = await stack.http.post(f"/orders/{number}/refunds", json=refund, headers={**HO, "Idempotency-Key": "k"})
    assert refused.status_code == 409 and refused.json()["rule"] == "order_closed", refused.text
    assert _ledger_refunds(stack, number) == []


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"test_gateway_outage_seconds": 4}  # tok_outage: unreachable for 4 s, then answers from its books


async def test_a_late_refund_without_an_answer_shows_unknown_then_is_reconciled_once(stack):
    http = stack.http
    policy = (await http.get("/settings/payments", headers=HO)).json()
    fast = {**policy, "gateway_timeout": "PT1S", "gateway_retry_for": "PT1S", "reconcile_every": "PT2S"}
    assert (await http.put("/settings/payments", json=fast, headers=HO)).is_success
    sla = (await http.get("/settings/sla", headers=HO)).json()
    assert (await http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    body = order_body(lines=LINES)
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_outage",
        "amount": body["payment"]["amount"],
    }
    number = await place(http, body, status="on_hold")  # its own capture went unanswered first
    await wait_for_status(http, number, "awaiting_acknowledgement", timeout=60)
    await make_ready(http, number)
    await collect(http, number)
    await asyncio.wait_for(stack.client.get_workflow_handle(order_workflow_id(number)).result(), 60)

    refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "goodwill"}
    asked = asyncio.create_task(
        http.post(f"/orders/{number}/refunds", json=refund, headers={**HO, "Idempotency-Key": "dark"})
    )

    async def unknown() -> dict | None:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        open_unknown = any(a["type"] == "payment_unknown" and a["cleared_at"] is None for a in view["alerts"])
        return view if open_unknown and [op["status"] for op in view["operations"]] == ["unknown"] else None

    await eventually(unknown, timeout=30)
    refund_id = refund_workflow_id(number, "dark")
    handle = stack.client.get_workflow_handle(refund_id, result_type=LateRefundOutcome)
    outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.refunded == 1500
    assert (await asked).status_code in (200, 503)
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert view["operations"] == [] and not any(a["cleared_at"] is None for a in view["alerts"])
    assert [(r["status"], r["amount"]["amount"]) for r in view["refunds"]] == [("refunded", 1500)]
    assert _ledger_refunds(stack, number) == [(f"{refund_id}:refund:1", "approved", 1500)]
