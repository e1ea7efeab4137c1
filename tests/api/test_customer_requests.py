"""Customer requests end to end: filed by the channel, shown on the order as an exception with its own filter,
answered by Head Office (accepted: the action runs on the order; declined: with a reason), the channel told by an
order event; a cancellation before acknowledgement applied at once by policy; Head Office's clock by time skipping."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models.db.tables import OrderEventRow
from models.order import order_workflow_id
from tests.support import CHANNEL, HO, TEE, collect, eventually, make_ready, place, store_says, wait_for_status


async def _file(http, number: str, body: dict, status: int = 201, headers: dict = CHANNEL) -> dict:
    response = await http.post(f"/orders/{number}/requests", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def _alerts(http, number: str) -> list[tuple[str, bool]]:
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    return [(a["type"], a["cleared_at"] is None) for a in view["alerts"]]


def _events(engine, number: str) -> list[str]:
    with Session(engine) as session:
        query = select(OrderEventRow.type).where(OrderEventRow.order_number == number).order_by(OrderEventRow.id)
        return list(session.exec(query))


async def test_a_request_is_an_exception_until_head_office_accepts_or_declines_it(stack):
    http = stack.http
    number = await place(http)
    await store_says(http, number, "acknowledged")
    await wait_for_status(http, number, "acknowledged")

    bad = await _file(http, number, {"kind": "cancel_lines", "details": {"lines": "all"}, "note": "x"}, status=422)
    assert bad["errors"][0]["field"] == "details.lines"
    body = {"kind": "cancel_lines", "details": {"lines": [{"line_id": "L2", "quantity": 1}]},
            "note": "the customer no longer wants the jeans"}  # fmt: skip
    request = await _file(http, number, body, headers={**CHANNEL, "Idempotency-Key": "call-7"})
    again = await _file(http, number, body, headers={**CHANNEL, "Idempotency-Key": "call-7"})
    assert again["request_id"] == request["request_id"] and request["status"] == "open"

    async def shown() -> bool:
        return ("customer_request", True) in await _alerts(http, number)

    await eventually(shown)
    listed = (await http.get("/orders", params={"alert_type": "customer_request"}, headers=HO)).json()
    assert number in [o["order_number"] for o in listed["items"]]
    queue = (await http.get("/requests", headers=HO)).json()
    assert [r["request_id"] for r in queue] == [request["request_id"]]

    accepted = await http.post(f"/requests/{request['request_id']}/accept", json={"note": "done"}, headers=HO)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["answered_by"]) == ("accepted", "ho:alice")
    twice = await http.post(f"/requests/{request['request_id']}/decline", json={"reason": "x"}, headers=HO)
    assert twice.status_code == 409

    async def applied() -> dict | None:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        line = next(line for line in view["lines"] if line["line_id"] == "L2")
        still_open = any(a["type"] == "customer_request" and a["cleared_at"] is None for a in view["alerts"])
        return view if line["cancelled_quantity"] == 1 and not still_open else None

    view = await eventually(applied)
    assert any(h["action"] == "customer_request_answered" for h in view["history"])
    await eventually(lambda: _has_event(stack.engine, number, "request_answered"))

    # Declined: the order is left as it was, the reason told.
    size = {"kind": "change_variant", "details": {"line_id": "L1", "size": "L"}, "note": "a size up"}
    second = await _file(http, number, size)
    declined = await http.post(f"/requests/{second['request_id']}/decline", json={"reason": "no L left"}, headers=HO)
    assert (declined.json()["status"], declined.json()["answer"]) == ("declined", "no L left")
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert {line["sku"] for line in view["lines"]} >= {TEE}
    assert (await http.post(f"/orders/{number}/requests", json=size, headers=HO)).status_code == 201  # HO on the phone


async def _has_event(engine, number: str, event_type: str) -> bool:
    return event_type in _events(engine, number)


async def test_the_policy_applies_a_cancellation_before_acknowledgement_at_once(stack):
    http = stack.http
    number = await place(http)
    request = await _file(http, number, {"kind": "cancel_order", "note": "ordered by mistake"})

    async def answered() -> dict | None:
        found = (await http.get(f"/requests/{request['request_id']}", headers=CHANNEL)).json()
        return found if found["status"] != "open" else None

    found = await eventually(answered)
    assert (found["status"], found["automatic"], found["answered_by"]) == ("accepted", True, "policy")
    await wait_for_status(http, number, "cancelled")
    assert ("customer_request", True) not in await _alerts(http, number)


async def test_an_accepted_request_the_order_refuses_is_answered_failed_and_a_return_request_opens_a_return(stack):
    http = stack.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    no_such = await _file(
        http, number, {"kind": "add_item", "details": {"sku": TEE, "quantity": 1}, "note": "one more"}
    )
    result = (await http.post(f"/requests/{no_such['request_id']}/accept", json={}, headers=HO)).json()
    assert result["status"] == "failed" and "refused" in result["answer"]

    lines = [{"line_id": "L1", "quantity": 1, "reason": "too small"}]
    back = {"kind": "return_lines", "note": "too small", "details": {"lines": lines, "location_id": "S001"}}
    request = await _file(http, number, back)
    result = (await http.post(f"/requests/{request['request_id']}/accept", json={}, headers=HO)).json()
    assert result["status"] == "accepted" and "return return-" in result["answer"]

    async def opened() -> list | None:
        returns = (await http.get(f"/orders/{number}/returns", headers=HO)).json()
        return returns or None

    (rma,) = await eventually(opened)
    assert rma["status"] == "authorised" and rma["lines"][0]["line_id"] == "L1"


async def test_head_office_has_a_clock_to_answer(skipping_stack):
    stack = skipping_stack
    http = stack.http
    number = await place(http)
    await _file(http, number, {"kind": "change_store", "details": {"store_id": "S002"}, "note": "closer to work"})
    await eventually(lambda: _alerted(http, number, "customer_request"))
    await stack.env.sleep(timedelta(hours=1, minutes=50))
    assert ("request_not_answered", True) not in await _alerts(http, number)
    await stack.env.sleep(timedelta(minutes=15))
    await eventually(lambda: _alerted(http, number, "request_not_answered"))


async def _alerted(http, number: str, alert_type: str) -> bool:
    return (alert_type, True) in await _alerts(http, number)


async def test_a_request_accepted_after_the_order_closed_is_answered_failed(stack):
    http = stack.http
    sla = (await http.get("/settings/sla", headers=HO)).json()
    assert (await http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    await stack.client.get_workflow_handle(order_workflow_id(number)).result()  # closed by itself
    change = {"kind": "change_store", "details": {"store_id": "S002"}, "note": "closer to work"}
    request = await _file(http, number, change)
    # The closed order shows the request all the same (its kept state and read model): an exception on the dashboard.
    await eventually(lambda: _alerted(http, number, "customer_request"))
    listed = (await http.get("/orders", params={"alert_type": "customer_request"}, headers=HO)).json()
    assert number in [o["order_number"] for o in listed["items"]]
    result = await http.post(f"/requests/{request['request_id']}/accept", json={}, headers=HO)
    assert result.status_code == 200, result.text
    assert result.json()["status"] == "failed" and result.json()["answer"].endswith(f"order {number} has closed")
    await eventually(lambda: _has_event(stack.engine, number, "request_answered"))  # the channel hears it
    assert ("customer_request", True) not in await _alerts(http, number)


async def test_an_add_item_request_declined_tells_the_channel_the_reason(stack):
    http = stack.http
    number = await place(http)
    body = {"kind": "add_item", "details": {"sku": TEE, "quantity": 1}, "note": "one more tee"}
    request = await _file(http, number, body)
    declined = await http.post(
        f"/requests/{request['request_id']}/decline", json={"reason": "that size is sold out"}, headers=HO
    )
    assert declined.status_code == 200, declined.text

    def answered() -> list[dict]:
        with Session(stack.engine) as session:
            query = select(OrderEventRow.body).where(
                OrderEventRow.order_number == number, OrderEventRow.type == "request_answered"
            )
            return list(session.exec(query))

    async def told() -> list[dict]:
        return answered()

    (event,) = await eventually(told)
    assert request["request_id"] in event["detail"] and "that size is sold out" in event["detail"]
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert [line["sku"] for line in view["lines"]].count(TEE) == 1  # nothing was added
