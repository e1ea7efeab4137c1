"""A return's XML extracts (schema 1.3): the Return element, valid against the XSD; the order read back from its
API view says what the live state would; which extracts each stage of a return has reached."""

from __future__ import annotations

import pytest
from lxml import etree

from activities.notifications import build_extract, validate_extract
from models.extracts import NAMESPACE, ExtractInvalid, ExtractType
from models.order import OrderStatus
from models.return_extracts import extract_order_of_view, extracts_due, for_return_extract
from models.returns import InspectedLine, ReturnLine, ReturnState, ReturnStatus
from models.views import for_api, for_extract
from tests.activities.test_notifications import _cancelled_line_and_refund, _order
from tests.models.factories import at

NS = {"n": NAMESPACE}


def _return(status: ReturnStatus = ReturnStatus.authorised, **updates) -> ReturnState:  # type: ignore[no-untyped-def]
    fields = {
        "return_id": "return-100001-1",
        "order_number": "100001",
        "status": status,
        "method": "carrier",
        "location_id": "W001",
        "lines": [ReturnLine(line_id="L1", quantity=2, reason="too small"), ReturnLine(line_id="L2", quantity=1,
                  reason="torn")],
        "requested_by": "channel:webstore",
        "requested_at": at(200),
        "carrier": "DPD",
        "tracking_number": "1Z999",
    }  # fmt: skip
    fields.update(updates)
    return ReturnState(**fields)


def test_the_order_read_from_its_view_says_what_the_live_state_says() -> None:
    for order in (_order(OrderStatus.completed), _cancelled_line_and_refund()):
        live = for_extract(order).model_dump(exclude={"collection_code", "cancelled_by"})
        assert extract_order_of_view(for_api(order)).model_dump(exclude={"collection_code", "cancelled_by"}) == live


def test_a_return_extract_carries_the_return_and_validates() -> None:
    inspected = [InspectedLine(line_id="L1", accepted=1, written_off=1), InspectedLine(line_id="L2", accepted=0)]
    state = _return(ReturnStatus.reimbursed, received_at=at(300), inspected=inspected, refunded_lines={"L1": 2})
    order = extract_order_of_view(for_api(_cancelled_line_and_refund()))
    payload = build_extract("x:1", ExtractType.return_refunded, order, at(400), returned=for_return_extract(state))
    validate_extract(payload)
    document = etree.fromstring(payload)
    assert document.get("schemaVersion") == "1.3"
    path = "/n:OrderNotification/n:Return"
    assert document.xpath(f"string({path}/n:ReturnId)", namespaces=NS) == "return-100001-1"
    assert document.xpath(f"string({path}/n:TrackingNumber)", namespaces=NS) == "1Z999"
    lines = document.xpath(f"{path}/n:Lines/n:Line", namespaces=NS)
    assert [(line.findtext(f"{{{NAMESPACE}}}Accepted"), line.findtext(f"{{{NAMESPACE}}}WrittenOff")) for line in
            lines] == [("1", "1"), ("0", "0")]  # fmt: skip
    assert document.xpath("string(/n:OrderNotification/n:Refund/n:Amount)", namespaces=NS) == "4500"


def test_a_return_element_the_schema_does_not_know_is_refused() -> None:
    state = _return()
    order = extract_order_of_view(for_api(_order(OrderStatus.completed)))
    payload = build_extract("x:1", ExtractType.return_authorised, order, at(400), returned=for_return_extract(state))
    broken = payload.replace(b"<Method>carrier</Method>", b"<Method>drone</Method>")
    assert broken != payload
    with pytest.raises(ExtractInvalid, match="Method"):
        validate_extract(broken)


def test_each_stage_reaches_its_extracts() -> None:
    assert extracts_due(_return(ReturnStatus.rejected)) == []
    assert extracts_due(_return()) == [ExtractType.return_authorised]
    received = _return(ReturnStatus.received, received_at=at(300))
    assert extracts_due(received) == [ExtractType.return_authorised, ExtractType.return_received]
    done = _return(ReturnStatus.reimbursed, received_at=at(300), refunded_lines={"L1": 1})
    assert extracts_due(done)[-1] is ExtractType.return_refunded
    refused = done.model_copy(update={"alerts": ["refund_refused"]})
    assert ExtractType.return_refunded not in extracts_due(refused)
    nothing = done.model_copy(update={"refunded_lines": {}})
    assert ExtractType.return_refunded not in extracts_due(nothing)
