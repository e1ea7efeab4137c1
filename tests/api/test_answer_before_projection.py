"""A return or request acted on straight after it is opened, before the read model has it: the route reads the
workflow instead of answering 404 (the read model is written by an activity a moment later)."""

from __future__ import annotations

from sqlmodel import Session, delete

from models.db.requests import CustomerRequestRow
from models.db.returns import ReturnRow
from tests.support import CHANNEL, HO, collect, eventually, make_ready, place


async def _projected(engine, table, key: str) -> bool:
    with Session(engine) as session:
        return session.get(table, key) is not None


def _forget(engine, statement) -> None:
    """As if the projection had not run yet."""
    with Session(engine) as session:
        session.exec(statement)
        session.commit()


async def test_a_request_not_yet_in_the_read_model_is_answered(stack):
    http = stack.http
    number = await place(http)
    body = {"kind": "change_store", "details": {"store_id": "S002"}, "note": "closer to work"}
    request = (await http.post(f"/orders/{number}/requests", json=body, headers=CHANNEL)).json()
    request_id = request["request_id"]
    await eventually(lambda: _projected(stack.engine, CustomerRequestRow, request_id))
    _forget(stack.engine, delete(CustomerRequestRow).where(CustomerRequestRow.request_id == request_id))

    declined = await http.post(f"/requests/{request_id}/decline", json={"reason": "no"}, headers=HO)
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    missing = await http.post("/requests/request-nope-1/decline", json={"reason": "no"}, headers=HO)
    assert missing.status_code == 404 and missing.json()["type"].endswith("request-not-found")


async def test_a_return_not_yet_in_the_read_model_is_received(stack):
    http = stack.http
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    lines = [{"line_id": "L1", "quantity": 1, "reason": "too small"}]
    body = {"lines": lines, "method": "store", "location_id": "S001"}
    rma = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()
    return_id = rma["return_id"]
    await eventually(lambda: _projected(stack.engine, ReturnRow, return_id))
    _forget(stack.engine, delete(ReturnRow).where(ReturnRow.return_id == return_id))

    received = await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=HO)
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "received"
    missing = await http.post("/returns/return-nope-1/cancel", json={"reason": "x"}, headers=HO)
    assert missing.status_code == 404
