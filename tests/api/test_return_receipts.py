"""A return received by a signed webhook from its location (the stores' signing scheme): received once, whatever the
retries; unsigned, from another location, or for a return already received, refused; the order records it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from lxml import etree

from activities.notifications import validate_extract
from models.extracts import NAMESPACE
from tests.support import CHANNEL, HO, collect, eventually, make_ready, place, signed_headers


async def _authorised_return(http) -> tuple[str, str]:
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    body = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"}
    rma = (await http.post(f"/orders/{number}/returns", json=body, headers=CHANNEL)).json()
    assert rma["status"] == "authorised", rma
    return number, rma["return_id"]


def _received(return_id: str, event_id: str | None = None) -> dict:
    return {
        "event_id": event_id or f"evt-{uuid.uuid4().hex}",
        "type": "return_received",
        "return_id": return_id,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


async def _post(http, store_id: str, event: dict, *, signer: str | None = None):
    body = json.dumps(event).encode()
    return await http.post(
        f"/webhooks/stores/{store_id}/returns", content=body, headers=signed_headers(signer or store_id, body)
    )


async def test_a_signed_webhook_receives_the_return_once(stack):
    http = stack.http
    number, return_id = await _authorised_return(http)
    event = _received(return_id)

    unsigned = await http.post("/webhooks/stores/S001/returns", json=event)
    assert unsigned.status_code == 401
    forged = await _post(http, "S001", event, signer="S002")  # signed with another store's secret
    assert forged.status_code == 401
    elsewhere = await _post(http, "S002", event)  # a real store, but not where the return goes
    assert elsewhere.status_code == 404
    assert (await http.get(f"/returns/{return_id}", headers=HO)).json()["status"] == "authorised"

    first = await _post(http, "S001", event)
    assert first.status_code == 202, first.text
    assert first.json() == {"status": "accepted", "event_id": event["event_id"], "order_number": number}
    retried = await _post(http, "S001", event)  # the same event again: the same answer, no second receipt
    assert retried.status_code == 202, retried.text
    state = (await http.get(f"/returns/{return_id}", headers=HO)).json()
    assert state["status"] == "received"
    assert [what for _at, _actor, what in state["history"]].count("received at S001") == 1
    another = await _post(http, "S001", _received(return_id))  # a new event for a return received already
    assert another.status_code == 409 and another.json()["rule"] == "return_refused"

    async def order_recorded() -> bool:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        return any(h["action"] == "partially_returned" and return_id in h["detail"] for h in view["history"])

    await eventually(order_recorded)


async def test_a_bad_return_event_is_a_422_naming_the_field(stack):
    http = stack.http
    _number, return_id = await _authorised_return(http)
    bad = {**_received(return_id), "type": "return_lost"}
    answer = await _post(http, "S001", bad)
    assert answer.status_code == 422
    assert any(error["field"] == "type" for error in answer.json()["errors"]), answer.text


async def test_a_return_makes_authorised_received_and_refunded_extracts_valid_against_the_schema(stack):
    http = stack.http
    number, return_id = await _authorised_return(http)
    assert (await _post(http, "S001", _received(return_id))).status_code == 202
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success
    kinds = ["return_authorised", "return_received", "return_refunded"]

    async def all_made() -> list[dict] | None:
        listed = (await http.get("/extracts", params={"order_number": number}, headers=HO)).json()["items"]
        mine = sorted((i for i in listed if i["type"] in kinds), key=lambda i: kinds.index(i["type"]))
        return mine if len(mine) == 3 else None

    made = await eventually(all_made, timeout=30)
    assert [i["extract_id"] for i in made] == [f"{return_id}:{kind}:extract" for kind in kinds]
    ns = {"n": NAMESPACE}
    for item, kind in zip(made, kinds, strict=True):
        payload = (await http.get(f"/extracts/{item['extract_id']}", headers=HO)).content
        validate_extract(payload)
        document = etree.fromstring(payload)
        assert document.get("schemaVersion") == "1.3"
        assert document.xpath("string(/n:OrderNotification/n:Type)", namespaces=ns) == kind
        assert document.xpath("string(/n:OrderNotification/n:Return/n:ReturnId)", namespaces=ns) == return_id
        assert document.xpath("string(/n:OrderNotification/n:Order/n:OrderNumber)", namespaces=ns) == number
        line = "/n:OrderNotification/n:Return/n:Lines/n:Line"
        assert document.xpath(f"string({line}/n:Reason)", namespaces=ns) == "too small"
        inspected = document.xpath(f"string({line}/n:Accepted)", namespaces=ns)
        assert inspected == ("1" if kind == "return_refunded" else "")
    refunded = etree.fromstring((await http.get(f"/extracts/{made[2]['extract_id']}", headers=HO)).content)
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    unit = next(line["unit_price"]["amount"] for line in view["lines"] if line["line_id"] == "L1")
    assert refunded.xpath("string(/n:OrderNotification/n:Refund/n:Amount)", namespaces=ns) == str(unit)


async def test_the_receiving_event_sent_again_after_the_return_finished_is_accepted_again(stack):
    http = stack.http
    _number, return_id = await _authorised_return(http)
    event = _received(return_id)
    assert (await _post(http, "S001", event)).status_code == 202
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}]}
    assert (await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=HO)).is_success
    await stack.client.get_workflow_handle(return_id).result()  # reimbursed: the return's workflow has finished
    again = await _post(http, "S001", event)  # the location's retry, late
    assert again.status_code == 202, again.text
    other = await _post(http, "S001", _received(return_id))  # another event: the return is closed
    assert other.status_code == 409 and other.json()["rule"] == "return_refused"
    state = (await http.get(f"/returns/{return_id}", headers=HO)).json()
    assert [what for _at, _actor, what in state["history"]].count("received at S001") == 1
