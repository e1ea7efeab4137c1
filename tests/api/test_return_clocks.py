"""The return's refund clock: a refund not issued within the policy's refund_hours of the inspection raises a
`refund_not_issued` alert on the return (time skipped, not waited). Here Head Office had refunded the whole order
by hand before the goods came back, so the order refuses the return's refund: it is never issued."""

from __future__ import annotations

from datetime import timedelta

from tests.support import CHANNEL, HO, collect, eventually, make_ready, place


async def test_a_refund_not_issued_within_the_policy_hours_alerts(skipping_stack):
    stack = skipping_stack
    http = stack.http
    policy = (await http.get("/settings/returns", headers=HO)).json()
    assert policy["refund_hours"] == 48  # the default
    assert (await http.put("/settings/returns", json={**policy, "refund_hours": 6}, headers=HO)).is_success
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    body = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    return_id = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    total = (await http.get(f"/orders/{number}", headers=HO)).json()["total"]
    everything = {"amount": total, "reason": "goodwill: refunded in full on the phone"}
    assert (await http.post(f"/orders/{number}/refunds", json=everything, headers=HO)).is_success
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success

    async def read() -> dict:
        return (await http.get(f"/returns/{return_id}", headers=HO)).json()

    await eventually(lambda: _has(read, "refund_refused"))
    await stack.env.sleep(timedelta(hours=5))
    assert "refund_not_issued" not in (await read())["alerts"]
    await stack.env.sleep(timedelta(hours=2))
    await eventually(lambda: _has(read, "refund_not_issued"))
    state = await read()
    assert any("refund not issued within 6 hours" in what for _at, _actor, what in state["history"])


async def test_a_refund_issued_in_time_raises_no_alert(skipping_stack):
    stack = skipping_stack
    http = stack.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    body = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    return_id = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()["return_id"]
    assert (await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)).is_success
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success

    async def reimbursed() -> dict | None:
        state = (await http.get(f"/returns/{return_id}", headers=HO)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(reimbursed)
    await stack.env.sleep(timedelta(hours=49))
    assert state["alerts"] == [] and (await http.get(f"/returns/{return_id}", headers=HO)).json()["alerts"] == []


async def _has(read, alert: str) -> bool:
    return alert in (await read())["alerts"]
