"""XML notification extracts from real orders: each order event that tells a customer something becomes an
extract in the outbox and the drop folder, and the xml_extract exporter hands on along a chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from activities.notifications import validate_extract
from tests.support import CHANNEL, HO, HO_KEY, eventually, order_body, post_store_event, store_event, wait_for_status

pytestmark = pytest.mark.skip(reason="order shell rebuild: rewritten against the outbox")


NS = {"n": "urn:baton:order-notification:1"}


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    return tmp_path / "extracts"


@pytest.fixture
def stack_settings(drop_folder: Path) -> dict[str, Any]:
    """Extracts to a drop folder; an XML-extract exporter on INITPAID hands on to a second one on ERP_COMPLETED."""
    return {
        "extract_drop_folder": str(drop_folder),
        "exporters": [
            {"name": "erp", "kind": "xml_extract", "on_state": "INITPAID", "sets_state": "ERP_COMPLETED"},
            {"name": "crm", "kind": "xml_extract", "on_state": "ERP_COMPLETED", "extract_type": "collected"},
        ],
    }


async def _extracts(stack, number: str, count: int) -> list[dict]:
    async def listed():
        items = (await stack.http.get("/extracts", params={"order_number": number}, headers=HO)).json()["items"]
        return items if len(items) >= count and all(i["delivered_at"] for i in items) else None

    return await eventually(listed, timeout=30)


async def _send(stack, number: str, type_: str, **kwargs) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


async def test_a_collected_order_leaves_its_extracts_in_the_outbox_and_the_drop_folder(stack, drop_folder):
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    refund = {"amount": {"amount": 500, "currency": "GBP"}, "reason": "late"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)).status_code == 200

    items = await _extracts(stack, number, 5)
    by_type = {item["type"]: item for item in items}
    assert set(by_type) == {"ready_for_collection", "collected", "refunded", "order_export"}
    assert sorted(i["type"] for i in items) == [
        "collected",  # the collection
        "collected",  # the crm exporter's extract
        "order_export",  # the erp exporter's extract
        "ready_for_collection",
        "refunded",
    ]
    for item in items:
        document = (await stack.http.get(f"/extracts/{item['extract_id']}", headers=HO)).content
        validate_extract(document)
        (path,) = item["delivered_to"]
        assert Path(path).parent == drop_folder and Path(path).read_bytes() == document
    ready = etree.fromstring((await stack.http.get(by_type["ready_for_collection"]["href"], headers=HO)).content)
    assert ready.findtext("n:Order/n:OrderNumber", namespaces=NS) == number
    assert ready.findtext("n:Order/n:Customer/n:Email", namespaces=NS) == "ada@example.com"
    refunded = etree.fromstring((await stack.http.get(by_type["refunded"]["href"], headers=HO)).content)
    assert refunded.find("n:Refund", namespaces=NS) is not None


async def test_xml_extract_exporters_chain_and_are_audited(stack):
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")

    async def exports():
        runs = (await stack.http.get(f"/orders/{number}/exports", headers=HO)).json()
        return runs if len(runs) == 2 and all(r["outcome"] == "succeeded" for r in runs) else None

    erp, crm = await eventually(exports, timeout=30)
    assert (erp["exporter"], erp["state"], erp["sets_state"]) == ("erp", "INITPAID", "ERP_COMPLETED")
    assert (crm["exporter"], crm["state"]) == ("crm", "ERP_COMPLETED")
    items = await _extracts(stack, number, 2)
    assert sorted(i["type"] for i in items) == ["collected", "order_export"]
    assert {i["extract_id"] for i in items} == {erp["run_id"], crm["run_id"]}


async def test_the_order_page_lists_its_export_runs_and_extracts(stack):
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    items = await _extracts(stack, number, 2)
    assert (await stack.http.post("/ui/sign-in", data={"api_key": HO_KEY})).status_code == 303
    page = (await stack.http.get(f"/ui/orders/{number}")).text
    for item in items:
        assert f'href="/extracts/{item["extract_id"]}"' in page
    assert "erp" in page and "INITPAID → ERP_COMPLETED" in page and "succeeded" in page
