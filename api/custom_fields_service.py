"""Head Office's edit of a custom field (`POST /orders/{n}/custom-fields`, and its form on the order page): the body
resolved against the field's definition before the workflow sees it (models/custom_field_actions.py), so what does
not fit the definition answers 422 naming the field and never reaches the order."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from api.problems import field_error
from models.custom_field_actions import EditCustomField
from models.custom_fields import (
    CustomFieldDefinition,
    CustomFieldScope,
    CustomFieldType,
    CustomValue,
    FieldName,
    TextValue,
    as_text,
    value_problem,
)
from models.db.custom_fields import get_custom_fields
from models.text import Line


class EditCustomFieldRequest(BaseModel):
    """One field set, or cleared (no value). The value may be JSON true/false, a number or text; text is read by the
    field's type (a form sends "3" or "yes")."""

    model_config = ConfigDict(extra="forbid")

    field: FieldName = Field(description="The field's name (GET /settings/custom-fields)")
    line_id: Line | None = Field(default=None, max_length=16, description="A line's field: the line (else none)")
    value: Annotated[TextValue | None, Field(description="The new value; left out, the field is cleared")] = None
    reason: Line = Field(min_length=1, max_length=500, description="Why; kept in the order's history")

    @field_validator("value", mode="before")
    @classmethod
    def _json_values_as_text(cls, value: Any) -> Any:
        return as_text(value) if isinstance(value, bool | int | float) else value


def typed(definition: CustomFieldDefinition, text: str) -> CustomValue:
    """The value `text` means for this field (a number, true/false, or the text itself); ValueError when none."""
    if definition.type is CustomFieldType.boolean:
        answers = {"true": True, "yes": True, "false": False, "no": False}
        if text.strip().lower() not in answers:
            raise ValueError("must be true or false")
        return answers[text.strip().lower()]
    if definition.type is CustomFieldType.number:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(number):
            raise ValueError("must be a number")
        return number
    return text


def edit_custom_field(session: Session, view: dict[str, Any], request: EditCustomFieldRequest) -> EditCustomField:
    definition = get_custom_fields(session).named(request.field)
    if definition is None:
        raise field_error("field", f"no custom field {request.field!r} is defined")
    if definition.applies_to is CustomFieldScope.line:
        if request.line_id is None:
            raise field_error("line_id", f"{definition.label} is a line's field: name the line")
        if request.line_id not in {line["line_id"] for line in view["lines"]}:
            raise field_error("line_id", f"line {request.line_id} is not on the order")
    elif request.line_id is not None:
        raise field_error("line_id", f"{definition.label} is the order's field: name no line")
    value: CustomValue | None = None
    if request.value is None:
        if definition.required:
            raise field_error("value", f"{definition.label} is required: change it, don't clear it")
    else:
        try:
            value = typed(definition, request.value)
        except ValueError as error:
            raise field_error("value", f"{definition.label} {error}") from None
        if (problem := value_problem(definition, value)) is not None:
            raise field_error("value", f"{definition.label} {problem}")
    return EditCustomField(
        name=request.field, line_id=request.line_id, value=value, definition=definition, reason=request.reason
    )
