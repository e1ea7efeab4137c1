"""Subscriptions on the real stack with time skipping: a monthly subscription places a normal order each period
(paid with its card through the normal payment path), a skipped period places nothing, a declined renewal is
alerted on the subscription and the order and retried, pause/resume and quantity changes shape the next orders,
and a cancellation stops the renewals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select, update
from temporalio.testing import ActivityEnvironment

from activities.subscriptions import RenewalAsk, SubscriptionActivities
from models.db.dashboard import DashboardFilter, dashboard_rows
from models.db.tables import OrderPlacementRow, ProductRow
from models.subscriptions import (
    PERIODS_PER_RUN,
    RETRY_EVERY,
    SUBSCRIPTION_HOLDER,
    SubscriptionState,
    due_at,
    subscription_workflow_id,
)
from tests.api.test_deliveries import ADDRESS
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    PRICES,
    TEE,
    WEB_ONLY,
    eventually,
    gateway_operations,
    place,
    ui_sign_in,
)

MONTH = "P1M"


def subscription_body(**overrides: Any) -> dict:
    body = {
        "channel": "web",
        "customer": {"id": "C42", "name": "Ada Lovelace", "email": "ada@example.com"},
        "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
        "lines": [{"sku": TEE, "quantity": 1}],
        "period": MONTH,
        "token": "tok_approve",
    }
    return {**body, **overrides}


async def _subscription(stack, subscription_id: str) -> dict:
    response = await stack.http.get(f"/subscriptions/{subscription_id}", headers=HO)
    assert response.status_code == 200, response.text
    return response.json()


async def _period(stack, subscription_id: str, index: int, status: str, timeout: float = 30.0) -> dict:
    async def reached() -> dict | None:
        view = await _subscription(stack, subscription_id)
        found = [p for p in view["periods"] if p["index"] == index]
        return found[0] if found and found[0]["status"] == status else None

    return await eventually(reached, timeout)


async def _change(stack, subscription_id: str, change: str, body: dict | None = None, headers=CHANNEL) -> dict:
    response = await stack.http.post(f"/subscriptions/{subscription_id}/{change}", json=body or {}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _until(stack, moment: datetime) -> None:
    """Skip virtual time (ahead of the wall clock after the first skip) to just past `moment`."""
    await stack.env.sleep(moment - await stack.env.get_current_time() + timedelta(minutes=1))


async def _order(stack, number: str) -> dict:
    return (await stack.http.get(f"/orders/{number}", headers=HO)).json()


async def test_a_monthly_subscription_over_three_months(skipping_stack):
    stack = skipping_stack
    try:
        await _three_months(stack)
    finally:
        await _end(stack)


async def _three_months(stack) -> None:
    created = await stack.http.post("/subscriptions", json=subscription_body(), headers=CHANNEL)
    assert created.status_code == 201, created.text
    sid = created.json()["subscription_id"]
    starts_at = datetime.fromisoformat(created.json()["starts_at"])
    stack.subscriptions = [sid]

    # Period 0 falls due at once: a normal order, paid through the gateway with the subscription's card.
    first = await _period(stack, sid, 0, "paid")
    order = await _order(stack, first["order_number"])
    assert order["payments"][0]["status"] == "captured" and order["payments"][0]["amount"]["amount"] == PRICES[TEE]
    assert [(kind, outcome) for kind, outcome, _ in gateway_operations(stack.engine, first["order_number"])] == [
        ("sale", "approved")
    ]

    # The customer doubles the quantity and skips the next month; the view says when and what is billed next.
    view = await _change(stack, sid, "change_quantity", {"sku": TEE, "quantity": 2, "reason": "more tees"})
    assert view["next_billing"]["amount"] == PRICES[TEE] * 2
    view = await _change(stack, sid, "skip_next", {"reason": "on holiday"})
    assert datetime.fromisoformat(view["next_billing"]["at"]) == due_at(starts_at, MONTH, 2)
    assert [h["action"] for h in view["history"]][-2:] == ["change_quantity", "skip_next"]
    view = await _change(stack, sid, "change_card", {"token": "tok_decline"})  # a card that will be declined

    await _until(stack, due_at(starts_at, MONTH, 1))
    assert (await _period(stack, sid, 1, "skipped"))["order_number"] is None

    # Month 2: the card is declined; the order is held with its own alert, the subscription alerts and retries.
    await _until(stack, due_at(starts_at, MONTH, 2))
    declined = await _period(stack, sid, 2, "declined")
    held = await eventually(lambda: _held(stack, declined["order_number"]))
    assert "payment_declined" in [a["type"] for a in held["alerts"]]
    view = await _subscription(stack, sid)
    assert [(a["type"], a["period"], a["resolved_at"]) for a in view["alerts"]] == [("payment_declined", 2, None)]

    await _change(stack, sid, "change_card", {"token": "tok_approve", "reason": "new card"})
    await stack.env.sleep(RETRY_EVERY + timedelta(minutes=1))
    paid = await _period(stack, sid, 2, "paid")
    assert paid["order_number"] == declined["order_number"] and paid["attempts"] == 2
    order = await _order(stack, paid["order_number"])
    assert order["payments"][0]["amount"]["amount"] == PRICES[TEE] * 2
    assert [o for _, o, _ in gateway_operations(stack.engine, paid["order_number"])] == ["declined", "approved"]
    view = await _subscription(stack, sid)
    assert view["alerts"][0]["resolved_at"] is not None
    assert "payment_retried" in [h["action"] for h in view["history"]]

    # Paused over month 3: nothing is placed; resumed, month 3 is passed over and month 4 bills as usual.
    await _change(stack, sid, "pause", {"reason": "moving house"})
    refused = await stack.http.post(f"/subscriptions/{sid}/pause", json={}, headers=CHANNEL)
    assert refused.status_code == 409 and refused.json()["rule"] == "already_paused", refused.text
    await _until(stack, due_at(starts_at, MONTH, 3))
    view = await _subscription(stack, sid)
    assert [p["index"] for p in view["periods"]] == [0, 1, 2]
    view = await _change(stack, sid, "resume", {}, headers=HO)
    assert view["periods"][-1]["index"] == 3 and view["periods"][-1]["status"] == "paused"
    assert datetime.fromisoformat(view["next_billing"]["at"]) == due_at(starts_at, MONTH, 4)
    await _until(stack, due_at(starts_at, MONTH, 4))
    fourth = await _period(stack, sid, 4, "paid")
    numbers = [p["order_number"] for p in (await _subscription(stack, sid))["periods"] if p["order_number"]]
    assert len(set(numbers)) == 3 and fourth["order_number"] == numbers[-1]  # one order per billed period

    await _pages_show(stack, sid, numbers)

    # Cancelled: no more renewals, and no more changes.
    view = await _change(stack, sid, "cancel", {"reason": "no longer needed"})
    assert view["status"] == "cancelled" and view["next_billing"]["at"] is None
    await _until(stack, due_at(starts_at, MONTH, 6))
    view = await _subscription(stack, sid)
    assert [p["index"] for p in view["periods"]] == [0, 1, 2, 3, 4]
    refused = await stack.http.post(f"/subscriptions/{sid}/resume", json={}, headers=CHANNEL)
    assert refused.status_code in (409,) and refused.json()["rule"] in ("subscription_cancelled",), refused.text


async def _pages_show(stack, sid: str, numbers: list[str]) -> None:
    """The subscription's page lists its orders; the dashboard's filter finds them and no other order."""
    other = await place(stack.http)
    with Session(stack.engine) as session:
        rows, _total = dashboard_rows(session, DashboardFilter(subscription=True))
    assert sorted(row.order_number for row in rows) == sorted(numbers)
    assert (await ui_sign_in(stack.http, HO_KEY)).status_code == 303
    html = (await stack.http.get(f"/ui/subscriptions/{sid}")).text
    assert all(f"/ui/orders/{n}" in html for n in numbers) and 'id="schedule"' in html
    listed = (await stack.http.get("/ui/orders?view=all&origin=subscription")).text
    assert all(n in listed for n in numbers) and other not in listed


async def _held(stack, number: str) -> dict | None:
    order = await _order(stack, number)
    return order if order["status"] == "on_hold" else None


async def test_renewal_retries_give_up_then_the_next_period_goes_on(skipping_stack):
    stack = skipping_stack
    try:
        created = await stack.http.post(
            "/subscriptions", json=subscription_body(token="tok_decline", period="P1W"), headers=HO
        )
        assert created.status_code == 201, created.text
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        await _period(stack, sid, 0, "declined")
        await stack.env.sleep(RETRY_EVERY * 3 + timedelta(minutes=5))
        failed = await _period(stack, sid, 0, "failed")
        assert failed["attempts"] == 4
        view = await _subscription(stack, sid)
        assert [a["type"] for a in view["alerts"]] == ["payment_declined", "renewal_failed"]
        assert (await eventually(lambda: _cancelled(stack, failed["order_number"])))["status"] == "cancelled"
        await _change(stack, sid, "change_card", {"token": "tok_approve"}, headers=HO)
        await stack.env.sleep(timedelta(days=4))  # a week after the start
        assert (await _period(stack, sid, 1, "paid"))["order_number"] != failed["order_number"]
    finally:
        await _end(stack)


async def _cancelled(stack, number: str) -> dict | None:
    order = await _order(stack, number)
    return order if order["status"] == "cancelled" else None


async def test_bad_subscriptions_and_changes_are_refused_naming_the_field_or_rule(skipping_stack):
    stack = skipping_stack
    try:
        bad = await stack.http.post("/subscriptions", json=subscription_body(period="P1Y"), headers=CHANNEL)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period", bad.text
        past = subscription_body(starts_at=(datetime.now(UTC) - timedelta(days=60)).isoformat())
        bad = await stack.http.post("/subscriptions", json=past, headers=CHANNEL)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "starts_at", bad.text
        unknown = subscription_body(lines=[{"sku": "NOPE", "quantity": 1}])
        bad = await stack.http.post("/subscriptions", json=unknown, headers=CHANNEL)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines[0].sku", bad.text
        later = (datetime.now(UTC) + timedelta(days=10)).isoformat()
        created = await stack.http.post(
            "/subscriptions", json=subscription_body(starts_at=later), headers={**CHANNEL, "Idempotency-Key": "k1"}
        )
        again = await stack.http.post(
            "/subscriptions", json=subscription_body(starts_at=later), headers={**CHANNEL, "Idempotency-Key": "k1"}
        )
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        assert again.json()["subscription_id"] == sid
        assert (await stack.http.get(f"/subscriptions/{sid}", headers=WEB_ONLY)).status_code == 404  # not theirs
        refused = await stack.http.post(f"/subscriptions/{sid}/resume", json={}, headers=CHANNEL)
        assert refused.status_code == 409 and refused.json()["rule"] == "not_paused", refused.text
        refused = await stack.http.post(
            f"/subscriptions/{sid}/change_quantity", json={"sku": "JEAN-IND-32", "quantity": 2}, headers=CHANNEL
        )
        assert refused.status_code == 409 and refused.json()["rule"] == "unknown_line", refused.text
        view = await _subscription(stack, sid)
        assert view["periods"] == [] and view["next_billing"]["amount"] == PRICES[TEE]
        assert [h["action"] for h in view["history"]] == ["subscribed"]  # refused changes leave no trace
    finally:
        await _end(stack)


async def _end(stack) -> None:
    """Leave no subscription running: the next test's time-skipping server must not wait on this one's worker."""
    for sid in getattr(stack, "subscriptions", []):
        try:
            await stack.client.get_workflow_handle(subscription_workflow_id(sid)).terminate("test finished")
        except Exception:  # noqa: BLE001 - already closed
            pass


async def test_a_long_running_subscription_continues_as_new_and_keeps_renewing(skipping_stack):
    stack = skipping_stack
    try:
        fulfilment = {"method": "home_delivery", "address": ADDRESS}  # from the warehouse: stock for every day
        created = await stack.http.post(
            "/subscriptions", json=subscription_body(period="P1D", fulfilment=fulfilment), headers=HO
        )
        assert created.status_code == 201, created.text
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        starts_at = datetime.fromisoformat(created.json()["starts_at"])
        await _until(stack, due_at(starts_at, "P1D", PERIODS_PER_RUN))
        last = await _period(stack, sid, PERIODS_PER_RUN, "paid")
        view = await _subscription(stack, sid)
        assert view["runs"] == 2  # continued as new after PERIODS_PER_RUN periods, its state carried over
        assert [p["index"] for p in view["periods"]] == list(range(PERIODS_PER_RUN + 1))
        assert len({p["order_number"] for p in view["periods"]}) == PERIODS_PER_RUN + 1
        assert last["order_number"] == view["periods"][-1]["order_number"]
    finally:
        await _end(stack)


async def test_a_locked_price_is_kept_when_the_catalogue_price_rises(skipping_stack):
    stack = skipping_stack
    try:
        created = await stack.http.post("/subscriptions", json=subscription_body(price_terms="locked"), headers=CHANNEL)
        assert created.status_code == 201, created.text
        sid, starts_at = created.json()["subscription_id"], datetime.fromisoformat(created.json()["starts_at"])
        stack.subscriptions = [sid]
        await _period(stack, sid, 0, "paid")
        with Session(stack.engine) as session:
            session.exec(update(ProductRow).where(col(ProductRow.sku) == TEE).values(price_amount=PRICES[TEE] + 500))
            session.commit()
        assert (await _subscription(stack, sid))["next_billing"]["amount"] == PRICES[TEE]
        await _until(stack, due_at(starts_at, MONTH, 1))
        renewed = await _period(stack, sid, 1, "paid")
        order = await _order(stack, renewed["order_number"])
        assert order["payments"][0]["amount"]["amount"] == PRICES[TEE]  # the price when subscribed
        assert order["lines"][0]["unit_price"]["amount"] == PRICES[TEE] + 500  # placed at the catalogue's price...
        assert [o["code"] for o in order["loyalty_offers"]] == ["subscription-locked-price"]  # ...less the lock
    finally:
        with Session(stack.engine) as session:
            session.exec(update(ProductRow).where(col(ProductRow.sku) == TEE).values(price_amount=PRICES[TEE]))
            session.commit()
        await _end(stack)


async def test_when_the_policy_cancels_declined_orders_the_period_fails_at_once(skipping_stack):
    stack = skipping_stack
    try:
        policy = (await stack.http.get("/settings/payments", headers=HO)).json()
        saved = await stack.http.put("/settings/payments", json={**policy, "on_decline": "cancel"}, headers=HO)
        assert saved.status_code == 200, saved.text
        created = await stack.http.post("/subscriptions", json=subscription_body(token="tok_decline"), headers=HO)
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        failed = await _period(stack, sid, 0, "failed")
        assert failed["attempts"] == 1 and "payment policy" in failed["detail"]
        assert (await _order(stack, failed["order_number"]))["status"] == "cancelled"
        assert [a["type"] for a in (await _subscription(stack, sid))["alerts"]] == ["renewal_failed"]
    finally:
        await _end(stack)


async def test_placing_a_period_again_answers_the_order_placed_the_first_time(skipping_stack):
    stack = skipping_stack
    try:
        created = await stack.http.post("/subscriptions", json=subscription_body(), headers=CHANNEL)
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        first = await _period(stack, sid, 0, "paid")
        state = SubscriptionState.model_validate(await _subscription(stack, sid))
        renewals = SubscriptionActivities(stack.engine, stack.client, "test")
        again = await ActivityEnvironment().run(renewals.place_renewal, RenewalAsk(state=state, period=0))
        assert again.order_number == first["order_number"]  # a retried placement: the same order
        with Session(stack.engine) as session:
            placed = session.exec(
                select(OrderPlacementRow).where(
                    OrderPlacementRow.holder == SUBSCRIPTION_HOLDER,
                    col(OrderPlacementRow.idempotency_key).startswith(f"{sid}:"),
                )
            )
            assert len(placed.all()) == 1  # one number claimed for the subscription
        assert [kind for kind, _, _ in gateway_operations(stack.engine, first["order_number"])] == ["sale"]
    finally:
        await _end(stack)


async def test_a_cancellation_stops_the_retries_of_a_declined_renewal(skipping_stack):
    stack = skipping_stack
    try:
        created = await stack.http.post("/subscriptions", json=subscription_body(token="tok_decline"), headers=CHANNEL)
        sid = created.json()["subscription_id"]
        stack.subscriptions = [sid]
        declined = await _period(stack, sid, 0, "declined")
        await _change(stack, sid, "cancel", {"reason": "customer left"})
        failed = await _period(stack, sid, 0, "failed")
        assert failed["attempts"] == 1
        assert (await eventually(lambda: _cancelled(stack, declined["order_number"])))["status"] == "cancelled"
        await stack.env.sleep(RETRY_EVERY * 2)
        assert [o for _, o, _ in gateway_operations(stack.engine, declined["order_number"])] == ["declined"]
    finally:
        await _end(stack)


async def test_the_estimate_shows_the_first_and_next_billing_date_and_amount(stack):
    starts = (datetime.now(UTC) + timedelta(days=40)).replace(day=15, hour=9, minute=0, second=0, microsecond=0)
    a_month_on = starts.replace(year=starts.year + starts.month // 12, month=starts.month % 12 + 1)
    body = subscription_body(lines=[{"sku": TEE, "quantity": 2}], starts_at=starts.isoformat())
    answer = await stack.http.post("/subscriptions/estimate", json=body, headers=CHANNEL)
    assert answer.status_code == 200, answer.text
    estimate = answer.json()
    assert estimate["period"] == MONTH
    assert datetime.fromisoformat(estimate["first_billing"]["at"]) == starts
    assert datetime.fromisoformat(estimate["then"]["at"]) == a_month_on
    assert estimate["first_billing"]["amount"] == estimate["then"]["amount"] == PRICES[TEE] * 2
    bad = await stack.http.post("/subscriptions/estimate", json=subscription_body(period="P1Y"), headers=CHANNEL)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
