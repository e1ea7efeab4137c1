"""XML notification extracts from real orders, end to end: each order event that tells a customer something becomes
an extract, kept with the change and delivered to the drop folder by the extracts lane; an instructed refund says so;
the xml_extract exporter hands on along a chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from activities.notifications import validate_extract
from models.db.tables import OrderEventRow
from models.events import OrderEventType
from models.transition import EXTRACT_FOR_EVENT
from tests.http_receiver import http_receiver
from tests.outbox_support import rows
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    PRICES,
    TEE,
    act,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    settled,
    store_says,
    ui_sign_in,
)

NS = {"n": "urn:baton:order-notification:1"}
TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    return tmp_path / "extracts"


@pytest.fixture
def stack_settings(drop_folder: Path) -> dict[str, Any]:
    """Extracts to a drop folder; an XML-extract exporter on INITPAID hands on to a second one on ERP_COMPLETED."""
    return {
        "extract_drop_folder": str(drop_folder),
        "outbox_poll_seconds": 0.05,
        "outbound_retry_initial_seconds": 0.3,
        "outbound_retry_max_interval_seconds": 1.0,
        "exporters": [
            {"name": "erp", "kind": "xml_extract", "on_state": "INITPAID", "sets_state": "ERP_COMPLETED"},
            {"name": "crm", "kind": "xml_extract", "on_state": "ERP_COMPLETED", "extract_type": "collected"},
        ],
    }


async def _extracts(stack, number: str, count: int) -> list[dict]:
    """The order's extracts once `count` of them are listed, all delivered."""

    async def listed() -> list[dict] | None:
        response = await stack.http.get("/extracts", params={"order_number": number}, headers=HO)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items if len(items) == count and all(item["delivered_at"] for item in items) else None

    return await eventually(listed, timeout=60)


def _per_event(stack, number: str) -> dict[str, str]:
    """The extract each of the order's events makes: extract id -> type."""
    events = rows(stack.engine, OrderEventRow, order_number=number)
    return {
        f"{e.event_id}:extract": EXTRACT_FOR_EVENT[OrderEventType(e.type)].value
        for e in events
        if OrderEventType(e.type) in EXTRACT_FOR_EVENT
    }


async def _document(stack, item: dict) -> etree._Element:
    response = await stack.http.get(item["href"], headers=CHANNEL)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    return etree.fromstring(response.content)


def _text(document: etree._Element, path: str) -> str | None:
    return document.findtext(path, namespaces=NS)


async def test_every_extract_of_an_order_is_valid_listed_and_in_the_drop_folder(stack, drop_folder):
    card = {"mode": "auth_capture", "method": "card", "token": "tok_approve", "amount": {"amount": TOTAL,
            "currency": "GBP"}}  # fmt: skip
    number = await place(stack.http, order_body(payment=card))
    await act(stack.http, number, "cancel-lines", {"lines": [{"line_id": "L1", "quantity": 1}], "reason": "no"})
    await settled(stack.http, number)  # the line's price refunded to the card
    await store_says(stack.http, number, "update_acknowledged")
    await make_ready(stack.http, number)
    await collect(stack.http, number)
    await act(stack.http, number, "refunds", {"amount": {"amount": 500, "currency": "GBP"}, "reason": "late"})
    await settled(stack.http, number)

    per_event = _per_event(stack, number)
    assert sorted(per_event.values()) == sorted(
        ["updated", "refunded", "ready_for_collection", "collected", "refunded"]
    )
    items = await _extracts(stack, number, len(per_event) + 2)  # and one of each exporter
    by_id = {item["extract_id"]: item for item in items}
    assert {i: by_id[i]["type"] for i in per_event} == per_event
    assert by_id[f"{number}:erp:INITPAID"]["type"] == "order_export"
    assert by_id[f"{number}:crm:ERP_COMPLETED"]["type"] == "collected"
    assert [item["created_at"] for item in items] == sorted(item["created_at"] for item in items)
    for item in items:
        document = (await stack.http.get(item["href"], headers=HO)).content
        validate_extract(document)
        (path,) = item["delivered_to"]
        assert Path(path).parent == drop_folder and Path(path).read_bytes() == document
        assert (item["delivery_attempts"], item["last_error"]) == (1, None)
    assert len(list(drop_folder.iterdir())) == len(items)  # whole files only: no temporary file left

    documents = {i: await _document(stack, by_id[i]) for i in per_event}
    updated, _line_refund, ready, collected, refunded = (documents[i] for i in sorted(per_event, key=_sequence))
    assert _text(ready, "n:Order/n:OrderNumber") == number
    assert _text(ready, "n:Order/n:Customer/n:Email") == "ada@example.com"
    assert _text(ready, "n:Order/n:Store/n:Name") == "London Oxford Street"
    assert updated.xpath("string(//n:Line[n:LineId='L1']/n:CancelledQuantity)", namespaces=NS) == "1"
    assert collected.xpath("//n:Line/n:Status/text()", namespaces=NS) == ["collected", "collected"]
    assert (_text(refunded, "n:Refund/n:Amount"), _text(refunded, "n:Refund/n:How")) == ("500", "refunded")
    assert _text(refunded, "n:Refund/n:PaymentReference") is None  # a gateway's reference never leaves
    assert _text(refunded, "n:Order/n:Totals/n:Refunded") == str(PRICES[TEE] + 500)


def _sequence(extract_id: str) -> int:
    return int(extract_id.split(":")[1])


async def test_a_cancelled_prepaid_order_is_refunded_by_an_instruction_to_its_channel(stack):
    with http_receiver(200, path="/hooks/channel") as channel:
        body = {"name": "webstore", "url": channel.url, "event_types": ["cancelled", "refund_instructed"]}
        assert (await stack.http.post("/webhook-subscribers", json=body, headers=HO)).status_code == 201
        number = await place(stack.http)  # prepaid by the channel, its reference PSP-4242
        await act(stack.http, number, "cancel", {"reason": "changed mind"})
        view = await settled(stack.http, number)
        assert [(r["status"], r["reference"], r["amount"]["amount"]) for r in view["refunds"]] == [
            ("instructed", "PSP-4242", TOTAL)]  # fmt: skip
        per_event = _per_event(stack, number)
        items = await _extracts(stack, number, len(per_event) + 2)

        async def told() -> bool:
            return len(channel.accepted) == 2

        await eventually(told, timeout=60)
    cancelled, instructed = (r.json for r in channel.accepted)
    assert (cancelled["type"], instructed["type"]) == ("cancelled", "refund_instructed")
    assert instructed["order_number"] == number and instructed["order"]["refunded"]["amount"] == TOTAL
    assert sorted(per_event.values()) == ["cancelled", "refunded"]
    by_type = {item["type"]: item for item in items if item["extract_id"] in per_event}
    cancelled_doc = await _document(stack, by_type["cancelled"])
    assert (_text(cancelled_doc, "n:Reason"), _text(cancelled_doc, "n:Order/n:Status")) == (
        "order_cancelled",
        "cancelled",
    )
    refund = await _document(stack, by_type["refunded"])
    assert by_type["refunded"]["extract_id"] == f"{instructed['event_id']}:extract"
    assert _text(refund, "n:Refund/n:Amount") == str(TOTAL)
    assert (_text(refund, "n:Refund/n:How"), _text(refund, "n:Refund/n:PaymentReference")) == ("instructed", "PSP-4242")
    validate_extract(etree.tostring(refund))


async def test_xml_extract_exporters_chain_and_are_audited(stack, drop_folder):
    number = await place(stack.http)

    async def exports() -> list[dict] | None:
        runs = (await stack.http.get(f"/orders/{number}/exports", headers=HO)).json()
        return runs if len(runs) == 2 and all(r["outcome"] == "succeeded" for r in runs) else None

    erp, crm = await eventually(exports, timeout=60)
    assert (erp["exporter"], erp["kind"], erp["state"], erp["sets_state"]) == (
        "erp", "xml_extract", "INITPAID", "ERP_COMPLETED")  # fmt: skip
    assert (crm["exporter"], crm["state"], crm["attempts"]) == ("crm", "ERP_COMPLETED", 1)
    items = await _extracts(stack, number, 2)
    assert sorted(i["type"] for i in items) == ["collected", "order_export"]
    assert {i["extract_id"] for i in items} == {erp["run_id"], crm["run_id"]}
    for item in items:  # succeeded once delivered, so both files are there
        assert Path(item["delivered_to"][0]).parent == drop_folder
        validate_extract(Path(item["delivered_to"][0]).read_bytes())


async def test_the_order_page_lists_its_export_runs_and_extracts(stack):
    number = await place(stack.http)
    items = await _extracts(stack, number, 2)
    assert (await ui_sign_in(stack.http, HO_KEY)).status_code == 303
    page = (await stack.http.get(f"/ui/orders/{number}")).text
    for item in items:  # opened in the browser by the signed-in user (the API's /extracts wants a bearer key)
        assert f'href="/ui/extracts/{item["extract_id"]}"' in page
        document = await stack.http.get(f"/ui/extracts/{item['extract_id']}")
        assert document.status_code == 200 and document.text.startswith("<?xml")
    assert "erp" in page and "INITPAID → ERP_COMPLETED" in page and "succeeded" in page
