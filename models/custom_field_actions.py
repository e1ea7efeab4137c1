"""Head Office edits an order's custom field (models/custom_fields.py) after placement: `POST
/orders/{n}/custom-fields`, one field of the order or of a line at a time, set or cleared.

The API looks up the field's definition and refuses (422) what does not fit it before the workflow sees it; the
command carries that definition, so the rule here checks the value again, deterministically, under the order's
lock. An accepted edit changes the value on the order and writes who, when, the old and the new value and why into
the order's history (its journey); nothing else moves (no stock, money or store message).

An order's custom fields are kept as it finished: once it is completed or cancelled they are refused
(`order_final`), and once its workflow has closed the API answers 409 `order_closed` as for any action.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from models import journey
from models.custom_fields import (
    CustomFieldDefinition,
    CustomFieldScope,
    CustomValue,
    FieldName,
    as_text,
    value_problem,
)
from models.effects import Effects, Refusal
from models.intervention_commands import _Command
from models.order import FINAL_STATUSES, OrderState
from models.text import Line

CHANGED = "custom_field_changed"  # the history entry's action


class EditCustomField(_Command):
    """One custom field set (or cleared, with no value) on the order or one of its lines."""

    name: FieldName
    line_id: Line | None = Field(default=None, max_length=16, description="A line's field: the line")
    value: CustomValue | None = Field(default=None, description="The new value; left out, the field is cleared")
    definition: CustomFieldDefinition = Field(description="The field as defined when edited (set by the API)")


def refusal_for_edit_custom_field(state: OrderState, command: EditCustomField) -> Refusal | None:
    definition = command.definition
    if state.status in FINAL_STATUSES:
        return Refusal("order_final", f"the order is {state.status}: its custom fields are kept as it finished")
    if definition.name != command.name:
        return Refusal("invalid_custom_field", f"{command.name} is not the field {definition.name}")
    if (definition.applies_to is CustomFieldScope.line) != (command.line_id is not None):
        which = "a line's field: name the line" if command.line_id is None else "the order's field: name no line"
        return Refusal("custom_field_scope", f"{definition.name} is {which}")
    if command.line_id is not None and state.line(command.line_id) is None:
        return Refusal("unknown_line", f"line {command.line_id} is not on the order")
    if command.value is None:
        if definition.required:
            return Refusal("custom_field_required", f"{definition.label} is required: change it, don't clear it")
    elif (problem := value_problem(definition, command.value)) is not None:
        return Refusal("invalid_custom_field", f"{definition.label} {problem}")
    return None


def apply_edit_custom_field(state: OrderState, command: EditCustomField, now: datetime) -> Effects:
    """Set or clear the value; recorded only when it changes (an edit to the same value leaves no trace)."""
    line = state.line(command.line_id) if command.line_id is not None else None
    values = line.custom_fields if line is not None else state.custom_fields
    old = values.get(command.name)
    if old == command.value and type(old) is type(command.value):
        return Effects()
    if command.value is None:
        values.pop(command.name, None)
    else:
        values[command.name] = command.value
    where = f"{command.name} on {line.line_id}" if line is not None else command.name
    shown = [as_text(v) if v is not None else "(none)" for v in (old, command.value)]
    journey.record(state, now, command.actor, CHANGED, f"{where}: {shown[0]} → {shown[1]} ({command.reason})")
    return Effects()
