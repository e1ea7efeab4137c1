"""Bounds everywhere: every request string refuses control characters and has a maximum length, every list and
number has a maximum, and each case the fuzzing found answers 422 naming the field, changing nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.app import create_app
from models.settings import Settings
from tests.support import CHANNEL, HO, order_body, place

TWO_TO_63 = 2**63


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") or f.startswith(field + "[") for f in fields), fields


# ---- the OpenAPI document shows every request value bounded (the models and the parameters are what it shows) ----


def _openapi() -> dict[str, Any]:
    return create_app(Settings(api_keys={}), temporal=object()).openapi()  # type: ignore[arg-type]


def _safe_string(schema: dict[str, Any]) -> bool:
    if "enum" in schema or "const" in schema or schema.get("format") in ("date-time", "duration", "date"):
        return True
    if schema.get("format") == "uri":  # parsed as a URL, which percent-encodes control characters
        return "maxLength" in schema
    pattern = schema.get("pattern")
    # Anchored at both ends (or a control character could sit outside what it matches), and refusing them.
    if pattern is None or not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    if re.search(pattern, "a\x00b") or re.search(pattern, "a\x1bb"):
        return False
    bounded_by_pattern = re.search(pattern, "a" * 5000) is None
    return "maxLength" in schema or bounded_by_pattern


def _unbounded(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    components = doc["components"]["schemas"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _unbounded(doc, components[name], where, seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _unbounded(doc, sub, where, seen)
    kind = schema.get("type")
    if kind == "string" and not _safe_string(schema):
        found.append(f"{where}: string {schema}")
    if kind == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
        found.append(f"{where}: integer without a maximum")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}: list without maxItems")
        found += _unbounded(doc, schema.get("items", {}), where + "[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(doc, sub, f"{where}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        if "maxProperties" not in schema:
            found.append(f"{where}: map without maxProperties")
        found += _unbounded(doc, extra, where + "{}", seen)
    return found


def test_every_request_value_is_bounded_and_refuses_control_characters() -> None:
    doc = _openapi()
    found: list[str] = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                found += _unbounded(doc, parameter["schema"], where, set())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(doc, content["schema"], f"{method.upper()} {path} body", set())
    assert found == []


# ---- the cases the fuzzing found -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [TWO_TO_63, 1_000_001])
async def test_an_offset_past_the_bound_is_refused(stack, offset):
    _refused(await stack.http.get("/orders", params={"offset": offset}, headers=HO), "offset")
    created = await stack.http.post(
        "/webhook-subscribers",
        json={"name": "ERP", "url": "https://erp.example.com/hook", "event_types": ["collected"]},
        headers=HO,
    )
    assert created.status_code == 201, created.text
    deliveries = f"/webhook-subscribers/{created.json()['subscriber_id']}/deliveries"
    _refused(await stack.http.get(deliveries, params={"offset": offset}, headers=HO), "offset")
    assert (await stack.http.get(deliveries, params={"offset": 1_000_000}, headers=HO)).status_code == 200


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_an_extracts_since_out_of_utc_range_is_refused(stack, since):
    _refused(await stack.http.get("/extracts", params={"since": since}, headers=HO), "since")
    ok = await stack.http.get("/extracts", params={"since": "0001-01-01T00:00:00Z"}, headers=HO)
    assert ok.status_code == 200, ok.text


async def test_an_sla_of_more_than_a_year_is_refused_and_changes_nothing(stack):
    before = (await stack.http.get("/settings/sla", headers=HO)).json()
    _refused(
        await stack.http.put("/settings/sla", json={**before, "not_picked": "P999999999D"}, headers=HO), "not_picked"
    )
    _refused(await stack.http.put("/settings/sla", json={**before, "on_hold": "P366D"}, headers=HO), "on_hold")
    assert (await stack.http.get("/settings/sla", headers=HO)).json() == before
    store = (await stack.http.get("/stores/S001", headers=HO)).json()
    settings = {"name": store["name"], "sla_overrides": {"collection_expiry": "P999999999D"}}
    _refused(await stack.http.put("/stores/S001", json=settings, headers=HO), "sla_overrides.collection_expiry")
    assert (await stack.http.get("/stores/S001", headers=HO)).json() == store
    year = await stack.http.put("/settings/sla", json={**before, "not_picked": "P365D"}, headers=HO)
    assert year.status_code == 200, year.text
    assert (await stack.http.put("/settings/sla", json=before, headers=HO)).status_code == 200


async def test_a_payment_policy_duration_of_more_than_a_year_is_refused(stack):
    before = (await stack.http.get("/settings/payments", headers=HO)).json()
    bad = {**before, "authorisation_lifetime": "P999999999D"}
    _refused(await stack.http.put("/settings/payments", json=bad, headers=HO), "authorisation_lifetime")


async def test_a_payment_of_2_to_the_63_is_refused_and_the_order_goes_on(stack):
    number = await place(stack.http)
    body = {"amount": {"amount": TWO_TO_63, "currency": "GBP"}, "reason": "fee"}
    _refused(await stack.http.post(f"/orders/{number}/payments", json=body, headers=HO), "amount.amount")
    note = await stack.http.post(f"/orders/{number}/notes", json={"text": "still here"}, headers=HO)
    assert note.status_code == 200, note.text


@pytest.mark.parametrize("bad", ["Ada\x00Lovelace", "Ada\x1bLovelace", "Ada\nLovelace"])
async def test_a_control_character_in_a_name_is_refused(stack, bad):
    order = order_body()
    order["customer"]["name"] = bad
    _refused(await stack.http.post("/orders", json=order, headers=CHANNEL), "customer.name")
    _refused(await stack.http.get("/orders", params={"customer": bad}, headers=HO), "customer")


async def test_notes_keep_line_breaks_but_refuse_nul(stack):
    order = order_body()
    order["notes"] = ["line one\nline two\tand a tab"]
    assert (await stack.http.post("/orders", json=order, headers=CHANNEL)).status_code == 201
    order = order_body()
    order["notes"] = ["gift\x00wrap"]
    _refused(await stack.http.post("/orders", json=order, headers=CHANNEL), "notes[0]")


async def test_an_order_number_with_a_control_character_is_refused(stack):
    _refused(await stack.http.get("/orders/100001%00", headers=HO), "order_number")
    _refused(await stack.http.get("/orders", params={"order_number": "1\x00"}, headers=HO), "order_number")
