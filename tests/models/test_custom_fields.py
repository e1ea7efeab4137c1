"""Custom fields' pure rules (models/custom_fields.py, models/custom_field_actions.py): definitions refused when they
contradict themselves, values checked by type at placement (naming the field), and Head Office's edit refused by
each of its rules, or applied and written into the history (old -> new, who, when, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.actions import BY_NAME
from models.custom_field_actions import CHANGED, EditCustomField
from models.custom_fields import CustomFieldSettings, as_text, custom_field_problems, filter_text, value_problem
from models.order import OrderState, OrderStatus
from models.placement import new_order, placement_problems
from models.placing import PlaceOrder
from tests.models.factories import HO, OPEN_STORE, PRODUCTS, T0, VALID_FIELDS, at, cleared_state, command
from tests.models.test_placement import place

FIELDS = CustomFieldSettings.model_validate(
    {
        "fields": [
            {"name": "po_number", "label": "PO number", "type": "text", "required": True},
            {"name": "floor", "label": "Floor", "type": "number"},
            {"name": "deliver_by", "label": "Deliver by", "type": "date"},
            {"name": "gift", "label": "Gift", "type": "boolean", "applies_to": "line"},
            {"name": "tier", "label": "Tier", "type": "choice", "allowed_values": ["gold", "silver"]},
        ]
    }
)


# ---- definitions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ([{"name": "a", "label": "A", "type": "text"}, {"name": "a", "label": "B", "type": "date"}], "defined twice"),
        ([{"name": "a", "label": "A", "type": "text", "allowed_values": ["x"]}], "only a choice"),
        ([{"name": "a", "label": "A", "type": "choice"}], "needs its allowed_values"),
        ([{"name": "a", "label": "A", "type": "choice", "allowed_values": ["x", "x"]}], "given twice"),
        ([{"name": "PO Number", "label": "A", "type": "text"}], "pattern"),
        ([{"name": "a", "label": "A", "type": "colour"}], "type"),
    ],
)
def test_a_definition_that_contradicts_itself_is_refused(fields, says):
    with pytest.raises(ValidationError, match=says):
        CustomFieldSettings.model_validate({"fields": fields})


# ---- values ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "fits"),
    [
        ("po_number", "PO-1", True),
        ("po_number", "  ", False),
        ("po_number", 12, False),
        ("floor", 3, True),
        ("floor", 2.5, True),
        ("floor", "3", False),
        ("floor", True, False),
        ("floor", float("nan"), False),
        ("floor", 2.0**60, False),
        ("deliver_by", "2026-12-24", True),
        ("deliver_by", "2026-13-01", False),
        ("deliver_by", "20261224", False),
        ("gift", True, True),
        ("gift", "yes", False),
        ("tier", "gold", True),
        ("tier", "bronze", False),
    ],
)
def test_a_value_fits_its_type(name, value, fits):
    definition = FIELDS.named(name)
    assert definition is not None
    assert (value_problem(definition, value) is None) is fits


def test_placement_names_every_field_that_is_wrong():
    problems = custom_field_problems(
        {"floor": "three", "tier": "bronze", "colour": "red"}, [{"gift": "yes"}, {"po_number": "PO-1"}], FIELDS
    )
    assert problems == [
        ("custom_fields.floor", "Floor must be a number (up to 9007199254740992 either way)"),
        ("custom_fields.tier", "Tier 'bronze' is not allowed (one of: gold, silver)"),
        ("custom_fields.colour", "no custom field 'colour' is defined for orders"),
        ("custom_fields.po_number", "PO number is required"),
        ("lines[0].custom_fields.gift", "Gift must be true or false"),
        ("lines[1].custom_fields.po_number", "no custom field 'po_number' is defined for lines"),
    ]
    assert custom_field_problems({"po_number": "PO-1"}, [{"gift": True}, {}], FIELDS) == []


def test_placement_refuses_a_missing_required_field_and_keeps_given_ones_on_the_order():
    body = place().model_dump(mode="json")
    missing = PlaceOrder.model_validate(body)
    problems = placement_problems(missing, PRODUCTS, OPEN_STORE, fields=FIELDS)
    assert [(p.field, p.message) for p in problems] == [("custom_fields.po_number", "PO number is required")]
    assert placement_problems(missing, PRODUCTS, OPEN_STORE) == []  # none defined: nothing asked

    body["custom_fields"] = {"po_number": "PO-1", "floor": 3}
    body["lines"][0]["custom_fields"] = {"gift": True}
    given = PlaceOrder.model_validate(body)
    assert placement_problems(given, PRODUCTS, OPEN_STORE, fields=FIELDS) == []
    state = new_order("100001", given, PRODUCTS, T0)
    assert state.custom_fields == {"po_number": "PO-1", "floor": 3}
    assert [line.custom_fields for line in state.lines] == [{"gift": True}, {}]


def test_values_read_as_one_text_for_the_index_and_filters():
    assert [as_text(v) for v in (True, False, 3, 3.0, 2.5, "PO-1")] == ["true", "false", "3", "3", "2.5", "PO-1"]
    assert filter_text(FIELDS.named("gift"), "Yes") == "true"
    assert filter_text(FIELDS.named("floor"), "3.0") == "3"
    assert filter_text(FIELDS.named("po_number"), "yes") == "yes"
    assert filter_text(None, "3.0") == "3.0"


# ---- Head Office's edit --------------------------------------------------------------------------------------------

PO = {"name": "po_number", "label": "PO number", "type": "text", "required": True}
EDIT = BY_NAME["edit_custom_field"]


def _edit(**fields: Any) -> EditCustomField:
    """The edit command (VALID_FIELDS' unless `fields` say otherwise); `field` stands for its `name`."""
    if "field" in fields:
        fields["name"] = fields.pop("field")
    return command(EditCustomField, **{**VALID_FIELDS["edit_custom_field"], **fields})


def _refused(state: OrderState, **fields: Any) -> str | None:
    refusal = EDIT.refusal(state, _edit(**fields))
    return refusal.rule if refusal else None


def _apply(state: OrderState, now: datetime, **fields: Any) -> None:
    assert _refused(state, **fields) is None
    EDIT.apply(state, _edit(**fields), now)


GIFT = {"name": "gift", "label": "Gift", "type": "boolean", "applies_to": "line"}


def test_an_edit_is_refused_by_each_of_its_rules():
    state = cleared_state()
    assert _refused(state) is None
    assert _refused(state, field="floor") == "invalid_custom_field"
    assert _refused(state, value=12) == "invalid_custom_field"
    assert _refused(state, value=None, definition=PO) == "custom_field_required"
    assert _refused(state, line_id="L1") == "custom_field_scope"
    assert _refused(state, field="gift", value=True, definition=GIFT) == "custom_field_scope"
    line = {"field": "gift", "value": True, "definition": GIFT}
    assert _refused(state, line_id="L9", **line) == "unknown_line"
    assert _refused(state, line_id="L1", **line) is None
    for status in (OrderStatus.completed, OrderStatus.cancelled):
        assert _refused(cleared_state(status)) == "order_final"


def test_an_edit_changes_the_value_and_writes_who_when_old_and_new_into_the_history():
    state = cleared_state()
    state.custom_fields = {"po_number": "PO-1"}
    version = state.version
    _apply(state, at(5), definition=PO, reason="customer sent a new PO")
    assert state.custom_fields == {"po_number": "PO-2"}
    entry = state.history[-1]
    assert (entry.action, entry.actor, entry.at) == (CHANGED, HO, at(5))
    assert entry.detail == "po_number: PO-1 → PO-2 (customer sent a new PO)"
    assert state.version == version + 1

    _apply(state, at(6), definition=PO)  # the same value again: nothing changes
    assert state.version == version + 1 and state.history[-1] is entry

    _apply(state, at(7), line_id="L1", field="gift", value=True, definition=GIFT)
    _apply(state, at(8), line_id="L1", field="gift", value=None, definition=GIFT)
    assert state.lines[0].custom_fields == {}
    assert [h.detail for h in state.history[-2:]] == ["gift on L1: (none) → true (because)",
                                                      "gift on L1: true → (none) (because)"]  # fmt: skip


# ---- the filter finds every value it indexes ------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
)


@given(value=NUMBERS)
def test_a_number_typed_back_into_the_filter_finds_itself(value):
    floor = FIELDS.named("floor")
    assert floor is not None and value_problem(floor, value) is None
    assert filter_text(floor, as_text(value)) == as_text(value)


@given(value=st.booleans(), spelled=st.sampled_from([str.lower, str.upper, str.title]))
def test_a_boolean_typed_back_into_the_filter_finds_itself(value, spelled):
    gift = FIELDS.named("gift")
    assert filter_text(gift, spelled(as_text(value))) == as_text(value)
    assert filter_text(gift, spelled("yes" if value else "no")) == as_text(value)
