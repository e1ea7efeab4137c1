"""Payment clocks on the time-skipping server: authorisations renewed before they lapse, and the SLAs of orders
waiting for an offline payment or for Head Office approval."""

from __future__ import annotations

from datetime import timedelta

from tests.support import CHANNEL, HO, eventually, gateway_operations, order_body, wait_for_status


async def _view(stack, number: str) -> dict:
    return (await stack.http.get(f"/orders/{number}", headers=HO)).json()


async def _policy(stack, **changes) -> None:
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    assert (await stack.http.put("/settings/payments", json={**policy, **changes}, headers=HO)).is_success


async def _place(stack, payment: dict, **overrides) -> str:
    body = order_body(**overrides)
    body["payment"] = {**payment, "amount": body["payment"]["amount"]}
    if payment["mode"] == "prepaid":
        body["payment"].setdefault("reference", "PSP-1")
    response = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    return response.json()["order_number"]


def _operations(stack, number: str) -> list[tuple[str, str]]:
    return [(kind, outcome) for kind, outcome, _amount in gateway_operations(stack.engine, number)]


async def test_an_authorisation_is_renewed_before_it_lapses_and_the_old_one_voided(skipping_stack):
    stack = skipping_stack
    await _policy(stack, authorisation_lifetime="P2D", reauthorise_before="PT12H")
    number = await _place(stack, {"mode": "authorise", "method": "card", "token": "tok_approve"})
    view = await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    first = view["payments"][0]
    assert _operations(stack, number) == [("authorise", "approved")]

    await stack.env.sleep(timedelta(days=1, hours=11))
    assert (await _view(stack, number))["payments"][0]["authorisation_reference"] == first["authorisation_reference"]
    await stack.env.sleep(timedelta(hours=2))

    async def renewed():
        view = await _view(stack, number)
        return view if "authorisation_replaced" in [h["action"] for h in view["history"]] else None

    view = await eventually(renewed)
    payment = view["payments"][0]
    assert payment["status"] == "authorised"
    assert payment["authorisation_reference"] != first["authorisation_reference"]
    assert payment["authorised_until"] > first["authorised_until"]
    assert _operations(stack, number) == [("authorise", "approved"), ("authorise", "approved"), ("void", "approved")]
    assert view["status"] == "awaiting_acknowledgement"  # the order carries on


async def test_offline_payment_not_confirmed_in_time_raises_an_alert_cleared_by_confirmation(skipping_stack):
    stack = skipping_stack
    number = await _place(stack, {"mode": "offline", "method": "bank_transfer"})
    await wait_for_status(stack.http, number, "awaiting_payment")
    await stack.env.sleep(timedelta(days=1, hours=23))
    assert (await _view(stack, number))["alerts"] == []
    await stack.env.sleep(timedelta(hours=1, minutes=1))

    async def alerted():
        view = await _view(stack, number)
        return view if view["has_alert"] else None

    view = await eventually(alerted)
    assert [(a["type"], a["cleared_at"]) for a in view["alerts"]] == [("awaiting_payment", None)]
    response = await stack.http.post(
        f"/orders/{number}/confirm-payment", json={"reason": "arrived", "reference": "BACS 9"}, headers=HO
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_acknowledgement" and not response.json()["has_alert"]


async def test_an_order_left_awaiting_approval_raises_an_alert(skipping_stack):
    stack = skipping_stack
    await _policy(stack, approval_customers=["C42"])
    number = await _place(stack, {"mode": "prepaid", "method": "card"})
    await wait_for_status(stack.http, number, "awaiting_approval")
    await stack.env.sleep(timedelta(hours=4, minutes=1))

    async def alerted():
        view = await _view(stack, number)
        return view if view["has_alert"] else None

    view = await eventually(alerted)
    assert [a["type"] for a in view["alerts"]] == ["awaiting_approval"]
