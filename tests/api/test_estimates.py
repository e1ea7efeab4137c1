"""Estimates, charges and wallets end to end: an estimate placed by its id keeps its prices, an expired or used
estimate is refused, wallet funds are debited once and credited back once, a home delivery pays its distance fee,
and a fulfilment-only estimate answers who and when."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select, update

from models.db.balances import BalanceEntryRow
from models.db.estimates import EstimateRow
from models.db.tables import ProductRow
from tests.support import CHANNEL, HO, JEANS, PRICES, TEE, order_body, settled, wait_for_status

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ",
           "country": "GB"}  # fmt: skip
TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]


def _customer() -> dict:
    """A customer of this test alone: balances and estimates outlive each test's fresh demo data."""
    ident = f"C-{uuid.uuid4().hex[:10]}"
    return {"id": ident, "name": "Ada Lovelace", "email": "ada@example.com"}


def _estimate_body(**overrides: object) -> dict:
    body = order_body(customer=_customer(), **overrides)
    del body["payment"]
    return body


async def _estimate(stack, body: dict, scope: str | None = None) -> dict:
    params = {"scope": scope} if scope else {}
    response = await stack.http.post("/estimates", json=body, headers=CHANNEL, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _paid(body: dict, amount: int, **extra: object) -> dict:
    payment = {"mode": "prepaid", "method": "card", "amount": {"amount": amount, "currency": "GBP"}, "reference": "R1"}
    return {**body, "payment": payment, **extra}


async def test_an_estimate_placed_by_its_id_keeps_its_prices_after_a_price_change(stack):
    body = _estimate_body(loyalty_offers=[{"code": "TENOFF", "discount": {"amount": 1000, "currency": "GBP"}}])
    estimate = await _estimate(stack, body)
    amounts = estimate["amounts"]
    assert (amounts["gross"]["amount"], amounts["discounts"]["amount"]) == (TOTAL, 1000)
    assert (amounts["net"]["amount"], amounts["charges"]["amount"], amounts["total"]["amount"]) == (
        TOTAL - 1000,
        0,
        TOTAL - 1000,
    )
    assert amounts["tax"]["amount"] + amounts["total_net_of_tax"]["amount"] == TOTAL - 1000
    assert estimate["payment_plan"]["card"]["amount"] == TOTAL - 1000  # no balances: all by card
    (delivery,) = estimate["deliveries"]
    assert (delivery["location_id"], delivery["method"], delivery["sourced"]) == ("S001", "click_and_collect", False)
    expires = datetime.fromisoformat(estimate["expires_at"]) - datetime.fromisoformat(estimate["estimated_at"])
    assert expires == timedelta(hours=2)

    with Session(stack.engine) as session:  # the catalogue's price of the tee rises after the estimate
        session.exec(update(ProductRow).where(col(ProductRow.sku) == TEE).values(price_amount=PRICES[TEE] + 500))
        session.commit()
    cheaper_tax = {"rates": [{"tax_class": "standard", "country": "*", "rate_bp": 1000}]}  # and tax rates change
    assert (await stack.http.put("/settings/tax", json=cheaper_tax, headers=HO)).status_code == 200
    stale = await stack.http.post("/orders", json=_paid(body, TOTAL - 1000), headers=CHANNEL)
    assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "lines[0].unit_price.amount"

    placed_body = _paid(body, TOTAL - 1000, estimation_id=estimate["estimation_id"])
    placed = await stack.http.post("/orders", json=placed_body, headers={**CHANNEL, "Idempotency-Key": "est-1"})
    assert placed.status_code == 201, placed.text
    view = placed.json()
    assert [line["unit_price"]["amount"] for line in view["lines"]] == [PRICES[TEE], PRICES[JEANS]]
    assert view["total"]["amount"] == TOTAL - 1000
    assert [line["tax_rate_bp"] for line in view["lines"]] == [2000, 2000]  # the rates of the estimate
    await wait_for_status(stack.http, view["order_number"], "awaiting_acknowledgement")

    # Retried with the same key: the same order. Placed again under another key: the estimate is used.
    again = await stack.http.post("/orders", json=placed_body, headers={**CHANNEL, "Idempotency-Key": "est-1"})
    assert again.status_code == 201 and again.json()["order_number"] == view["order_number"]
    used = await stack.http.post("/orders", json=placed_body, headers={**CHANNEL, "Idempotency-Key": "est-2"})
    assert used.status_code == 422
    assert used.json()["errors"] == [
        {"field": "estimation_id", "message": f"estimate {estimate['estimation_id']} was already placed"}
    ]


async def test_an_expired_or_altered_estimate_is_refused(stack):
    body = _estimate_body()
    estimate = await _estimate(stack, body)
    placed_body = _paid(body, TOTAL, estimation_id=estimate["estimation_id"])

    altered = {**placed_body, "lines": placed_body["lines"][:1]}
    refused = await stack.http.post("/orders", json={**altered, "payment": _paid(altered, PRICES[TEE] * 2)["payment"]},
                                    headers=CHANNEL)  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "estimation_id"

    with Session(stack.engine) as session:  # two hours pass: the estimate is kept no longer for placement
        session.exec(
            update(EstimateRow)
            .where(col(EstimateRow.estimation_id) == estimate["estimation_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    expired = await stack.http.post("/orders", json=placed_body, headers=CHANNEL)
    assert expired.status_code == 422
    (error,) = expired.json()["errors"]
    assert error["field"] == "estimation_id" and "expired" in error["message"]
    unknown = await stack.http.post("/orders", json={**placed_body, "estimation_id": "Enope"}, headers=CHANNEL)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "estimation_id"


def _wallet_entries(stack, customer_id: str) -> list[tuple[str, int]]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(BalanceEntryRow).where(BalanceEntryRow.customer_id == customer_id).order_by(col(BalanceEntryRow.id))
        ).all()
        return [(row.kind, row.amount) for row in rows]


async def test_wallet_plus_card_debits_the_wallet_once_and_a_cancellation_credits_it_back(stack):
    body = _estimate_body()
    customer = body["customer"]["id"]
    credit = {"account": "wallet", "amount": {"amount": 1500, "currency": "GBP"}, "reason": "goodwill"}
    first = await stack.http.post(
        f"/customers/{customer}/balance", json=credit, headers={**HO, "Idempotency-Key": "w1"}
    )
    assert first.status_code == 201, first.text
    retried = await stack.http.post(
        f"/customers/{customer}/balance", json=credit, headers={**HO, "Idempotency-Key": "w1"}
    )
    assert retried.status_code == 200
    assert retried.json()["balances"] == [{"account": "wallet", "amount": {"amount": 1500, "currency": "GBP"}}]

    estimate = await _estimate(stack, body)
    plan = estimate["payment_plan"]
    assert (plan["account_credit"]["amount"], plan["wallet"]["amount"], plan["card"]["amount"]) == (
        0,
        1500,
        TOTAL - 1500,
    )

    wallet = {
        "mode": "auth_capture",
        "method": "wallet",
        "token": "wallet",
        "amount": {"amount": 1500, "currency": "GBP"},
    }
    card = {"mode": "auth_capture", "method": "card", "token": "tok_approve",
            "amount": {"amount": TOTAL - 1500, "currency": "GBP"}}  # fmt: skip
    placed = await stack.http.post("/orders", json={**body, "payments": [card, wallet]}, headers=CHANNEL)
    assert placed.status_code == 201, placed.text
    number = placed.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    view = await settled(stack.http, number)
    assert [(p["method"], p["gateway"], p["status"]) for p in view["payments"]] == [
        ("wallet", "wallet", "captured"),
        ("card", "test", "captured"),
    ]
    assert _wallet_entries(stack, customer) == [("credit", 1500), ("debit", -1500)]
    balance = (await stack.http.get(f"/customers/{customer}/balance", headers=HO)).json()
    assert balance["balances"][0]["amount"]["amount"] == 0

    cancelled = await stack.http.post(f"/orders/{number}/cancel", json={"reason": "changed mind"}, headers=HO)
    assert cancelled.status_code == 200, cancelled.text
    view = await settled(stack.http, number)
    assert sorted(r["amount"]["amount"] for r in view["refunds"]) == sorted([1500, TOTAL - 1500])
    assert _wallet_entries(stack, customer) == [("credit", 1500), ("debit", -1500), ("refund", 1500)]

    # Spent again beyond what is left: the wallet gateway declines, the order is held.
    short = {**wallet, "amount": {"amount": 2000, "currency": "GBP"}}
    rest = {**card, "amount": {"amount": TOTAL - 2000, "currency": "GBP"}}
    declined = await stack.http.post("/orders", json={**body, "payments": [short, rest]}, headers=CHANNEL)
    assert declined.status_code == 201, declined.text
    held = await wait_for_status(stack.http, declined.json()["order_number"], "on_hold")
    assert held["payments"][0]["status"] == "declined"
    assert _wallet_entries(stack, customer)[-1] == ("declined", 0)


async def test_a_home_delivery_pays_its_method_fee_and_distance_fee(stack):
    sourcing = {"strategy": "warehouse_first", "distances_km": {"NN": {"W001": 12, "S001": 100}}}
    assert (await stack.http.put("/settings/sourcing", json=sourcing, headers=HO)).status_code == 200
    charges = {
        "method_fees": [{"method": "home_delivery", "amount": {"amount": 300, "currency": "GBP"}}],
        "distance_bands": [
            {"up_to_km": 10, "amount": {"amount": 200, "currency": "GBP"}},
            {"up_to_km": 50, "amount": {"amount": 500, "currency": "GBP"}},
            {"up_to_km": None, "amount": {"amount": 900, "currency": "GBP"}},
        ],
    }
    assert (await stack.http.put("/settings/charges", json=charges, headers=HO)).status_code == 200
    body = _estimate_body(fulfilment={"method": "home_delivery", "address": ADDRESS})

    estimate = await _estimate(stack, body)
    assert estimate["deliveries"][0]["location_id"] == "W001"
    assert [(c["amount"]["amount"], c["reason"]) for c in estimate["charges"]] == [
        (300, "method fee (home_delivery) for delivery D1"),
        (500, "distance fee (band 11-50 km) for delivery D1: 12 km from W001"),
    ]
    assert estimate["amounts"]["total"]["amount"] == TOTAL + 800

    short = await stack.http.post("/orders", json=_paid(body, TOTAL), headers=CHANNEL)
    assert short.status_code == 422
    message = f"the order comes to {TOTAL + 800}, not {TOTAL}"
    assert short.json()["errors"][0] == {"field": "payment.amount.amount", "message": message}
    placed = await stack.http.post("/orders", json=_paid(body, TOTAL + 800), headers=CHANNEL)
    assert placed.status_code == 201, placed.text
    view = placed.json()
    charged = [(c["amount"]["amount"], c["actor"]) for c in view["charges"]]
    assert charged == [(300, "system:charges"), (500, "system:charges")]
    assert view["total"]["amount"] == TOTAL + 800

    # Refunded in full: everything paid, charges included, goes back.
    number = view["order_number"]
    await wait_for_status(stack.http, number, "awaiting_dispatch")
    everything = {"amount": {"amount": TOTAL + 800, "currency": "GBP"}, "reason": "not wanted"}
    refunded = await stack.http.post(f"/orders/{number}/refunds", json=everything, headers=HO)
    assert refunded.status_code == 200, refunded.text
    view = await settled(stack.http, number)
    assert sum(r["amount"]["amount"] for r in view["refunds"]) == TOTAL + 800


async def test_a_fulfilment_only_estimate_answers_who_and_when(stack):
    body = _estimate_body(fulfilment={"method": "click_and_collect", "store_id": "S002"})
    estimate = await _estimate(stack, body, scope="fulfilment")
    assert (estimate["estimation_id"], estimate["amounts"], estimate["payment_plan"]) == (None, None, None)
    (delivery,) = estimate["deliveries"]
    assert delivery["location_id"] == "S002"
    assert delivery["starts_at"] == estimate["estimated_at"]  # no calendar: open at once

    # With a calendar: closed today and tomorrow, the store would start on it when it next opens.
    today = datetime.now(UTC).date()
    whole_day = [{"opens": "00:00", "closes": "24:00"}]
    calendar = {
        "timezone": "UTC",
        "weekly": {day: whole_day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "exceptions": [
            {"day": str(today), "spans": []},
            {"day": str(today + timedelta(days=1)), "spans": []},
            {"day": str(today + timedelta(days=2)), "spans": [{"opens": "09:00", "closes": "17:00"}]},
        ],
    }
    assert (await stack.http.put("/stores/S002/calendar", json=calendar, headers=HO)).status_code == 200
    (delivery,) = (await _estimate(stack, body, scope="fulfilment"))["deliveries"]
    opens = datetime.combine(today + timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=9)
    assert datetime.fromisoformat(delivery["starts_at"]) == opens
    assert delivery["location_time"].endswith("09:00 UTC")

    refused = await stack.http.post("/estimates", json={**body, "lines": [{**body["lines"][0], "sku": "NOPE"}]},
                                    headers=CHANNEL, params={"scope": "fulfilment"})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "lines[0].sku"


async def test_a_cancelled_order_cancels_its_charges_and_pays_them_back(stack):
    charges = {"method_fees": [{"method": "click_and_collect", "amount": {"amount": 150, "currency": "GBP"}}]}
    assert (await stack.http.put("/settings/charges", json=charges, headers=HO)).status_code == 200
    assert (await stack.http.get("/settings/charges", headers=HO)).json() == {**charges, "distance_bands": []}
    body = _estimate_body()
    placed = await stack.http.post("/orders", json=_paid(body, TOTAL + 150), headers=CHANNEL)
    assert placed.status_code == 201, placed.text
    number = placed.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")

    cancelled = await stack.http.post(f"/orders/{number}/cancel", json={"reason": "changed mind"}, headers=HO)
    assert cancelled.status_code == 200, cancelled.text
    view = await settled(stack.http, number)
    assert [(c["reason"], c["cancelled"]) for c in view["charges"]] == [
        ("method fee (click_and_collect) for delivery D1", True)
    ]
    assert sum(r["amount"]["amount"] for r in view["refunds"]) == TOTAL + 150


async def test_concurrent_placements_of_one_estimate_create_one_order(stack):
    body = _estimate_body()
    estimate = await _estimate(stack, body)
    placed_body = _paid(body, TOTAL, estimation_id=estimate["estimation_id"])

    def post(key: str):  # type: ignore[no-untyped-def]
        return stack.http.post("/orders", json=placed_body, headers={**CHANNEL, "Idempotency-Key": key})

    same = await asyncio.gather(post("same-key"), post("same-key"), post("other-key"), post("third-key"))
    created = [r for r in same if r.status_code == 201]
    refused = [r for r in same if r.status_code == 422]
    assert len({r.json()["order_number"] for r in created}) == 1, [r.text for r in same]
    assert all(r.json()["errors"][0]["field"] == "estimation_id" for r in refused)
    assert len(created) + len(refused) + sum(r.status_code == 404 for r in same) == 4  # 404: still being placed


async def test_account_credit_pays_first_and_is_debited_once(stack):
    body = _estimate_body()
    customer = body["customer"]["id"]
    for key, account, amount in (("a1", "account_credit", 700), ("a2", "wallet", 400)):
        credit = {"account": account, "amount": {"amount": amount, "currency": "GBP"}, "reason": "refund by cheque"}
        answer = await stack.http.post(
            f"/customers/{customer}/balance", json=credit, headers={**HO, "Idempotency-Key": key}
        )
        assert answer.status_code == 201, answer.text
    plan = (await _estimate(stack, body))["payment_plan"]
    assert (plan["account_credit"]["amount"], plan["wallet"]["amount"], plan["card"]["amount"]) == (
        700,
        400,
        TOTAL - 1100,
    )

    credit = {"mode": "auth_capture", "method": "account_credit", "token": "balance",
              "amount": {"amount": 700, "currency": "GBP"}}  # fmt: skip
    card = {"mode": "auth_capture", "method": "card", "token": "tok_approve",
            "amount": {"amount": TOTAL - 700, "currency": "GBP"}}  # fmt: skip
    prepaid = {**credit, "mode": "prepaid", "reference": "R1"}
    refused = await stack.http.post("/orders", json={**body, "payments": [card, prepaid]}, headers=CHANNEL)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "payments[1].mode"
    placed = await stack.http.post("/orders", json={**body, "payments": [card, credit]}, headers=CHANNEL)
    assert placed.status_code == 201, placed.text
    await wait_for_status(stack.http, placed.json()["order_number"], "awaiting_acknowledgement")
    view = await settled(stack.http, placed.json()["order_number"])
    assert [(p["method"], p["gateway"], p["status"]) for p in view["payments"]] == [
        ("account_credit", "wallet", "captured"),
        ("card", "test", "captured"),
    ]
    balances = (await stack.http.get(f"/customers/{customer}/balance", headers=HO)).json()["balances"]
    assert {(b["account"], b["amount"]["amount"]) for b in balances} == {("account_credit", 0), ("wallet", 400)}
