"""Custom fields through the real stack: Head Office defines them (`/settings/custom-fields`), placement asks for the
required ones and checks every value by type (422 naming the field, nothing placed), the order keeps and shows them,
Head Office edits one (an update on the order's workflow, audited in its history; refused once the order is
final), and the dashboard and `GET /orders` find orders by a field's value."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from activities.placement import request_hash
from models.placing import PlaceOrder
from tests.support import CHANNEL, HO, HO_KEY, act, order_body, place, ui_sign_in, wait_for_status

FIELDS = {
    "fields": [
        {"name": "po_number", "label": "PO number", "type": "text", "required": True},
        {"name": "floor", "label": "Floor", "type": "number"},
        {"name": "tier", "label": "Tier", "type": "choice", "allowed_values": ["gold", "silver"]},
        {"name": "gift", "label": "Gift wrap", "type": "boolean", "applies_to": "line"},
    ]
}


async def _define(http) -> None:
    answer = await http.put("/settings/custom-fields", json=FIELDS, headers=HO)
    assert answer.status_code == 200, answer.text


def _body(fields: dict[str, Any] | None = None, first_line: dict[str, Any] | None = None) -> dict[str, Any]:
    body = order_body()
    if fields is not None:
        body["custom_fields"] = fields
    if first_line is not None:
        body["lines"][0]["custom_fields"] = first_line
    return body


async def _refused(http, body: dict[str, Any], field: str, says: str) -> None:
    answer = await http.post("/orders", json=body, headers=CHANNEL)
    assert answer.status_code == 422, answer.text
    errors = {error["field"]: error["message"] for error in answer.json()["errors"]}
    assert says in errors.get(field, ""), errors


async def test_a_required_field_is_asked_at_placement_and_shown_on_the_order(stack):
    http = stack.http
    await _define(http)
    defaults = {"required": False, "applies_to": "order", "allowed_values": []}
    kept = (await http.get("/settings/custom-fields", headers=HO)).json()
    assert kept == {"fields": [defaults | field for field in FIELDS["fields"]]}
    before = (await http.get("/orders", headers=HO)).json()["total"]

    await _refused(http, _body(), "custom_fields.po_number", "PO number is required")
    await _refused(
        http, _body({"po_number": "PO-1", "tier": "bronze"}), "custom_fields.tier", "'bronze' is not allowed"
    )
    await _refused(http, _body({"po_number": "PO-1", "floor": "3"}), "custom_fields.floor", "must be a number")
    await _refused(http, _body({"po_number": "PO-1"}, {"gift": "yes"}), "lines[0].custom_fields.gift", "true or false")
    await _refused(http, _body({"po_number": "PO-1", "colour": "red"}), "custom_fields.colour", "no custom field")
    assert (await http.get("/orders", headers=HO)).json()["total"] == before  # nothing was placed

    number = await place(http, _body({"po_number": "PO-1", "floor": 3, "tier": "gold"}, {"gift": True}))
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert view["custom_fields"] == {"po_number": "PO-1", "floor": 3, "tier": "gold"}
    assert [line["custom_fields"] for line in view["lines"]] == [{"gift": True}, {}]


async def test_head_office_edits_a_field_and_the_history_shows_who_when_old_and_new(stack):
    http = stack.http
    await _define(http)
    number = await place(http, _body({"po_number": "PO-1"}))

    view = await act(http, number, "custom-fields", {"field": "po_number", "value": "PO-2", "reason": "new PO"})
    assert view["custom_fields"] == {"po_number": "PO-2"}
    entry = view["history"][-1]
    assert (entry["action"], entry["actor"]) == ("custom_field_changed", "ho:alice")
    assert entry["detail"] == "po_number: PO-1 → PO-2 (new PO)"

    view = await act(
        http, number, "custom-fields", {"field": "gift", "line_id": "L1", "value": True, "reason": "asked"}
    )
    assert view["lines"][0]["custom_fields"] == {"gift": True}
    view = await act(http, number, "custom-fields", {"field": "floor", "value": "2.5", "reason": "typed in a form"})
    assert view["custom_fields"]["floor"] == 2.5

    for body, field in [
        ({"field": "tier", "value": "bronze"}, "value"),
        ({"field": "po_number"}, "value"),  # required: it may change, not go
        ({"field": "colour", "value": "red"}, "field"),
        ({"field": "gift", "value": True}, "line_id"),
        ({"field": "gift", "line_id": "L9", "value": True}, "line_id"),
        ({"field": "floor", "value": "three"}, "value"),
    ]:
        answer = await http.post(f"/orders/{number}/custom-fields", json={**body, "reason": "x"}, headers=HO)
        assert answer.status_code == 422, answer.text
        assert [error["field"] for error in answer.json()["errors"]] == [field], answer.text
    assert (await http.get(f"/orders/{number}", headers=HO)).json()["version"] == view["version"]

    await act(http, number, "cancel", {"reason": "customer asked"})
    await wait_for_status(http, number, "cancelled")
    answer = await http.post(
        f"/orders/{number}/custom-fields", json={"field": "po_number", "value": "PO-3", "reason": "late"}, headers=HO
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["rule"] == "order_final"


async def test_the_dashboard_and_the_order_list_find_an_order_by_a_field_value(stack):
    http = stack.http
    await _define(http)
    first = await place(http, _body({"po_number": "PO-7", "floor": 3}))
    second = await place(http, _body({"po_number": "PO-8"}, {"gift": True}))

    async def found(field: str) -> list[str]:
        answer = await http.get("/orders", params={"field": field}, headers=HO)
        assert answer.status_code == 200, answer.text
        return [item["order_number"] for item in answer.json()["items"]]

    assert await found("po_number:PO-7") == [first]
    assert await found("floor:3.0") == [first]  # read as the field's type
    assert await found("gift:yes") == [second]  # a line's field
    assert await found("po_number:PO-9") == []
    assert (await http.get("/orders", params={"field": "po_number"}, headers=HO)).status_code == 422

    await act(http, first, "custom-fields", {"field": "po_number", "value": "PO-9", "reason": "corrected"})
    assert await found("po_number:PO-9") == [first]
    assert await found("po_number:PO-7") == []

    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    page = await http.get("/ui/orders", params={"view": "all", "field": "po_number:PO-9"})
    assert page.status_code == 200
    assert re.findall(r'data-order="(\d+)"', page.text) == [first]
    assert 'value="po_number:PO-9"' in page.text
    order_page = await http.get(f"/ui/orders/{second}")
    assert 'data-field-value="po_number">PO-8<' in order_page.text
    assert "Gift wrap: yes" in order_page.text


async def test_definitions_that_contradict_themselves_are_refused_by_field(stack):
    http = stack.http
    await _define(http)
    twice = {"fields": [*FIELDS["fields"], {"name": "floor", "label": "Again", "type": "text"}]}
    answer = await http.put("/settings/custom-fields", json=twice, headers=HO)
    assert answer.status_code == 422 and "fields[4].name: floor is defined twice" in answer.text, answer.text
    choice = {"fields": [{"name": "tier", "label": "Tier", "type": "text", "allowed_values": ["gold"]}]}
    answer = await http.put("/settings/custom-fields", json=choice, headers=HO)
    assert answer.status_code == 422 and "only a choice has allowed_values" in answer.text, answer.text
    kept = (await http.get("/settings/custom-fields", headers=HO)).json()["fields"]
    assert [field["name"] for field in kept] == [field["name"] for field in FIELDS["fields"]]  # unchanged
    assert (await http.get("/settings/custom-fields", headers=CHANNEL)).status_code == 403


async def test_the_order_page_offers_the_edit_once_fields_are_defined(stack):
    http = stack.http
    number = await place(http)
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    assert 'id="action-custom-fields"' not in (await http.get(f"/ui/orders/{number}")).text
    await _define(http)
    assert 'id="action-custom-fields"' in (await http.get(f"/ui/orders/{number}")).text


def test_an_order_without_custom_fields_hashes_as_before_they_existed():
    """An Idempotency-Key used before custom fields (and estimates, scheduled orders and B2B references) existed
    answers its order, not "key reused"."""
    order = PlaceOrder.model_validate(order_body())
    later = {"custom_fields": True, "estimation_id": True, "fulfil_on": True}
    b2b = {"customer_reference": True, "purchase_order_number": True}
    lines = {"__all__": {"custom_fields", "unit_cost"}}
    before = order.model_dump(mode="json", exclude={**later, **b2b, "lines": lines})
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert request_hash(order) == hashlib.sha256(canonical.encode()).hexdigest()
    given = PlaceOrder.model_validate(order_body(custom_fields={"po_number": "PO-1"}))
    assert request_hash(given) != request_hash(order)
