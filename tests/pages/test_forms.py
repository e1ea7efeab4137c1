"""The order page's action forms, generated from models/actions.py: every action's form parses back into its body
model (no browser, no Temporal)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.pages import forms, results
from api.problems import InvalidInput
from api.routers.interventions import body_model
from models.actions import ACTIONS, BY_PATH, Action

# What a person enters, by form field name; every field of every action's form has an entry here.
SAMPLES: dict[str, list[str]] = {
    "reason": ["customer called"],
    "client_note": ["Sorry for the wait.\nYour order is on its way."],
    "lines": ["1"],  # as lines.L1 (a quantity per line); lines.L2 left at 0
    "line_id": ["L1"],
    "line_ids": ["L1", "L2"],
    "size": ["L"],
    "colour": [""],
    "sku": ["TEE-BLA-M"],
    "quantity": ["2"],
    "store_id": ["S002"],
    "address.name": ["Ada Lovelace"],
    "address.line1": ["12 St James's Square"],
    "address.line2": [""],
    "address.city": ["London"],
    "address.postcode": ["SW1Y 4JH"],
    "address.country": ["GB"],
    "from_location": ["W001"],
    "text": ["Rang the customer"],
    "client_facing": ["on"],
    "method": ["phone"],
    "amount": ["15.00"],
    "reference": ["BACS 2026-11-22 0042"],
    "payment_id": ["P1"],
    "token": ["tok_approve"],
    "delivery_id": ["D2"],
    "into": ["D3"],
    "location_id": [""],  # move-delivery: left empty, sourcing chooses
    "field": ["po_number"],  # custom-fields: the field, and its value as typed
    "value": ["PO-2291"],
    "stage": ["ready"],
    "percent_bp": ["1000"],
    "fulfil_on": ["2026-12-24"],  # reschedule
    "number": ["INV-7781"],  # third-party-invoices: the invoice number and its system
    "system": ["SAP"],
}
# A refund is an amount or lines, not both; a milestone a share or an amount.
LEFT_EMPTY = {("refunds", "lines"), ("change-milestone", "amount")}


def _leaves(fields: tuple[forms.FormField, ...]) -> list[forms.FormField]:
    return [leaf for f in fields for leaf in (_leaves(f.fields) if f.kind == "group" else [f])]


def _representative(action: Action) -> FormData:
    items: list[tuple[str, str]] = [("idempotency_key", "k-1")]
    for field in _leaves(forms.form_of(action).fields):
        if (action.path, field.name) in LEFT_EMPTY:
            continue
        assert field.name in SAMPLES, f"no sample for {action.path}'s field {field.name}"
        name = f"{field.name}.L1" if field.kind == "line_quantities" else field.name
        items += [(name, value) for value in SAMPLES[field.name]]
        if field.kind == "line_quantities":
            items.append((f"{field.name}.L2", "0"))
    return FormData(items)


@pytest.mark.parametrize("action", ACTIONS, ids=[a.path for a in ACTIONS])
def test_every_action_form_parses_into_its_body_model(action: Action):
    form = forms.form_of(action)
    body = body_model(action).model_validate(forms.parse(form, _representative(action), "GBP"))
    assert "actor" not in {f.name for f in form.fields}  # the API fills it
    dumped = body.model_dump()
    if dumped.get("amount") is not None:
        assert dumped["amount"] == {"amount": 1500, "currency": "GBP"}
    if dumped.get("lines") is not None:
        assert dumped["lines"] == [{"line_id": "L1", "quantity": 1}]
    if "address" in dumped:
        assert dumped["address"]["city"] == "London" and dumped["address"]["line2"] is None
    if "client_note" in dumped:
        assert dumped["client_note"] == "Sorry for the wait.\nYour order is on its way."


def test_widgets_follow_the_fields_types_and_names():
    kinds = {f.name: f.kind for f in forms.form_of(BY_PATH["refunds"]).fields}
    assert kinds == {"amount": "money", "lines": "line_quantities", "reason": "text", "client_note": "textarea"}
    address = next(f for f in forms.form_of(BY_PATH["home-delivery"]).fields if f.name == "address")
    assert address.kind == "group" and [f.name for f in address.fields][:2] == ["address.name", "address.line1"]
    add_item = {f.name: f for f in forms.form_of(BY_PATH["add-item"]).fields}
    assert add_item["sku"].kind == "sku" and add_item["quantity"].kind == "number"
    assert (add_item["quantity"].minimum, add_item["quantity"].maximum, add_item["quantity"].default) == (1, 999, "1")
    assert [f.name for f in forms.form_of(BY_PATH["notes"]).fields] == ["text", "client_facing"]
    assert [f.kind for f in forms.form_of(BY_PATH["buy-in-store"]).fields][0] == "lines"
    assert {f.kind for f in forms.form_of(BY_PATH["override-payment"]).fields} >= {"payment", "text"}


def test_a_refund_by_lines_reads_a_quantity_per_line():
    action = BY_PATH["refunds"]
    form = FormData([("lines.L1", "2"), ("lines.L2", ""), ("lines.L3", "0"), ("amount", ""), ("reason", "damaged")])
    body = body_model(action).model_validate(forms.parse(forms.form_of(action), form, "GBP"))
    assert body.model_dump()["lines"] == [{"line_id": "L1", "quantity": 2}] and body.model_dump()["amount"] is None


def test_money_is_read_in_major_units_of_the_orders_currency():
    assert forms.minor_units("15", "GBP") == 1500
    assert forms.minor_units(" 15.5 ", "EUR") == 1550
    assert forms.minor_units("1,250.00", "GBP") == 125000
    assert forms.minor_units("1500", "JPY") == 1500
    assert forms.minor_units("1.234", "KWD") == 1234
    for text, currency in (("abc", "GBP"), ("-1", "GBP"), ("1.234", "GBP"), ("1.5", "JPY"), ("NaN", "GBP")):
        with pytest.raises(ValueError):
            forms.minor_units(text, currency)


def test_an_empty_field_takes_the_default_and_a_missing_one_is_named_in_plain_words():
    action = BY_PATH["payments"]
    form = forms.form_of(action)
    body = body_model(action).model_validate(forms.parse(form, FormData([("amount", "5"), ("reason", "fee")]), "GBP"))
    assert body.model_dump()["method"] == "card"

    with pytest.raises(ValidationError) as missing:
        body_model(action).model_validate(forms.parse(form, FormData([("amount", "5"), ("method", "")]), "GBP"))
    result = results.failed(form, missing.value)
    assert result.kind == "invalid" and result.kept_key and result.details == ["Reason: Field required"]

    with pytest.raises(InvalidInput) as invalid:
        forms.parse(form, FormData([("amount", "five"), ("reason", "fee")]), "GBP")
    assert results.failed(form, invalid.value).details == ["Amount: 'five' is not an amount"]

    refund = forms.form_of(BY_PATH["refunds"])
    with pytest.raises(ValidationError) as neither:
        body_model(BY_PATH["refunds"]).model_validate(forms.parse(refund, FormData([("reason", "x")]), "GBP"))
    assert results.failed(refund, neither.value).details == ["Give either `amount` or `lines`."]
