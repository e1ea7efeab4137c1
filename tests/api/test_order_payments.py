"""GET /orders/{order_number}/payments: the order's payment ledger, and who may read it."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.gateways import CardToken, build_gateways
from activities.payments import PaymentActivities, PaymentTransaction
from models.money import Money
from models.payments import GatewayOperationKind as Kind
from tests.activities.gateway_support import gateway_request
from tests.support import CHANNEL, HO, STORE_S001, STORE_S002, order_body, wait_for_status


async def _placed(stack) -> str:
    response = await stack.http.post("/orders", json=order_body("S001"), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    return number


async def test_payments_lists_every_gateway_call_and_recorded_movement(stack):
    number = await _placed(stack)
    payments = PaymentActivities(stack.engine, build_gateways(stack.settings, stack.engine))
    run = ActivityEnvironment().run
    auth = await run(payments.call_gateway, gateway_request(number, Kind.authorise, 4000, token=CardToken.approve))
    capture = await run(payments.call_gateway, gateway_request(number, Kind.capture, 4000, reference=auth.reference))
    await run(payments.call_gateway, gateway_request(number, Kind.sale, 999, token=CardToken.decline))
    payments.record_payment_transaction(
        PaymentTransaction(
            transaction_id=f"order-{number}:refund:1",
            order_number=number,
            kind="refund",
            method="card",
            amount=Money(amount=500, currency="GBP"),
            actor="ho:alice",
        )
    )

    response = await stack.http.get(f"/orders/{number}/payments", headers=HO)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order_number"] == number
    entries = {entry["transaction_id"]: entry for entry in body["transactions"]}
    assert [(e["kind"], e["status"], e["amount"]) for e in body["transactions"]] == [
        ("authorise", "approved", {"amount": 4000, "currency": "GBP"}),
        ("capture", "approved", {"amount": 4000, "currency": "GBP"}),
        ("sale", "declined", {"amount": 999, "currency": "GBP"}),
        ("refund", "approved", {"amount": 500, "currency": "GBP"}),
    ]
    captured = entries[capture.operation_id]
    assert captured["gateway"] == "test"
    assert captured["gateway_reference"] == capture.reference
    assert captured["request_reference"] == auth.reference
    assert entries[auth.operation_id]["expires_at"] is not None
    assert entries[f"order-{number}:sale:1"]["detail"] == "card declined"
    assert entries[f"order-{number}:refund:1"]["gateway"] is None
    assert all(entry["at"].endswith(("Z", "+00:00")) for entry in body["transactions"])


async def test_payments_readable_by_channel_and_own_store_hidden_from_other_stores(stack):
    number = await _placed(stack)
    assert (await stack.http.get(f"/orders/{number}/payments", headers=CHANNEL)).status_code == 200
    own = await stack.http.get(f"/orders/{number}/payments", headers=STORE_S001)
    assert own.status_code == 200 and own.json()["transactions"] == []
    other = await stack.http.get(f"/orders/{number}/payments", headers=STORE_S002)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    assert (await stack.http.get("/orders/999999999/payments", headers=HO)).status_code == 404
    assert (await stack.http.get(f"/orders/{number}/payments")).status_code == 401
