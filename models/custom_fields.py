"""Custom fields: values the business defines for its own orders and lines (a purchase order number, a floor, a
gift flag), which Baton keeps, shows and filters by without knowing what they mean.

Head Office defines the fields (`GET/PUT /settings/custom-fields`): each has a name (its key), a label, a type
(text, number, date, boolean, choice), whether it is required, the values a choice allows, and whether it applies
to the order or to each line. `POST /orders` gives values in `custom_fields`, on the order and on each line;
`placement_problems` checks them here, naming each field (`custom_fields.<name>`,
`lines[i].custom_fields.<name>`). A value is the JSON it was given in: a string (text, a date as YYYY-MM-DD, a
choice), a number, or true/false. Numbers describe counts and measures, never money (money is minor units).

Pure rules: no I/O. Head Office's edits after placement are models/custom_field_actions.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from models.text import LINE_PATTERN, Line

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MAX_FIELDS = 50  # defined, and given on one order or line
MAX_TEXT = 500
# A number's bound: JSON numbers beyond it are not exact in every reader (JavaScript's safe integers).
MAX_NUMBER = 2**53

FieldName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=40)]
TextValue = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=MAX_TEXT)]
NumberValue = Annotated[StrictInt, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
# Strict: JSON true stays a boolean, 3 a number, "3" a string; the definition's type then says which is right.
CustomValue = StrictBool | NumberValue | StrictFloat | TextValue
Problem = tuple[str, str]  # the field's path and what is wrong (placement makes FieldProblems of them)
CustomValues = Annotated[
    dict[FieldName, CustomValue],
    Field(max_length=MAX_FIELDS, description="Custom field values by name (GET /settings/custom-fields)"),
]


class CustomFieldType(StrEnum):
    text = "text"
    number = "number"
    date = "date"  # YYYY-MM-DD
    boolean = "boolean"
    choice = "choice"  # one of the definition's allowed values


class CustomFieldScope(StrEnum):
    order = "order"
    line = "line"


class CustomFieldDefinition(BaseModel):
    """One field Head Office defines."""

    model_config = ConfigDict(extra="forbid")

    name: FieldName = Field(description="The key values are given under: lower case, digits and _")
    label: Line = Field(min_length=1, max_length=100, description="What people see")
    type: CustomFieldType
    applies_to: CustomFieldScope = CustomFieldScope.order
    required: bool = Field(default=False, description="Placement refuses an order (or a line) without it")
    allowed_values: list[Annotated[Line, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100, description="choice only: the values it allows"
    )

    @model_validator(mode="after")
    def _allowed_values_only_for_a_choice(self) -> Self:
        if self.type is CustomFieldType.choice:
            if not self.allowed_values:
                raise ValueError(f"{self.name}: a choice needs its allowed_values")
            if len(set(self.allowed_values)) != len(self.allowed_values):
                raise ValueError(f"{self.name}: allowed_values are given twice")
        elif self.allowed_values:
            raise ValueError(f"{self.name}: only a choice has allowed_values, not a {self.type}")
        return self


class CustomFieldSettings(BaseModel):
    """`GET/PUT /settings/custom-fields`: the fields orders and lines may carry. None by default, so an order
    gives none; a field added as required applies to orders placed from then on (placed orders keep theirs)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[CustomFieldDefinition] = Field(default_factory=list, max_length=MAX_FIELDS)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        seen: set[str] = set()
        for index, field in enumerate(self.fields):
            if field.name in seen:
                raise ValueError(f"fields[{index}].name: {field.name} is defined twice (names are unique)")
            seen.add(field.name)
        return self

    def applying_to(self, scope: CustomFieldScope) -> dict[str, CustomFieldDefinition]:
        return {field.name: field for field in self.fields if field.applies_to is scope}

    def named(self, name: str) -> CustomFieldDefinition | None:
        return next((field for field in self.fields if field.name == name), None)


def value_problem(definition: CustomFieldDefinition, value: object) -> str | None:
    """What is wrong with a value for this field (None: it fits)."""
    kind = definition.type
    if kind is CustomFieldType.boolean:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is CustomFieldType.number:
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= MAX_NUMBER:
            return f"must be a number (up to {MAX_NUMBER} either way)"  # `not <=`: NaN compares false
        return None
    if not isinstance(value, str):
        return "must be text" if kind is not CustomFieldType.date else "must be a date, YYYY-MM-DD"
    if kind is CustomFieldType.date:
        try:
            date.fromisoformat(value)
        except ValueError:
            return "must be a date, YYYY-MM-DD"
        return None if len(value) == 10 else "must be a date, YYYY-MM-DD"
    if kind is CustomFieldType.choice and value not in definition.allowed_values:
        return f"{value!r} is not allowed (one of: {', '.join(definition.allowed_values)})"
    if kind is CustomFieldType.text and not value.strip():
        return "must not be blank"
    return None


def values_problems(
    values: Mapping[str, object], definitions: Mapping[str, CustomFieldDefinition], path: str, scope: str
) -> list[Problem]:
    """Each value checked against its definition, and every required field given; `path` prefixes the field."""
    problems: list[Problem] = []
    for name, value in values.items():
        definition = definitions.get(name)
        if definition is None:
            problems.append((f"{path}.{name}", f"no custom field {name!r} is defined for {scope}s"))
        elif (problem := value_problem(definition, value)) is not None:
            problems.append((f"{path}.{name}", f"{definition.label} {problem}"))
    for name, definition in definitions.items():
        if definition.required and name not in values:
            problems.append((f"{path}.{name}", f"{definition.label} is required"))
    return problems


def custom_field_problems(
    order_values: Mapping[str, object], line_values: Sequence[Mapping[str, object]], settings: CustomFieldSettings
) -> list[Problem]:
    """Placement: the order's values and each line's, against the fields defined for each."""
    problems = values_problems(
        order_values, settings.applying_to(CustomFieldScope.order), "custom_fields", CustomFieldScope.order
    )
    line_fields = settings.applying_to(CustomFieldScope.line)
    for index, values in enumerate(line_values):
        problems += values_problems(values, line_fields, f"lines[{index}].custom_fields", CustomFieldScope.line)
    return problems


def as_text(value: object) -> str:
    """A value as one string, the same for equal values: what the read model indexes and the dashboard filters by
    (true, 3, 2.5, 2026-12-01, PO-1)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def filter_text(definition: CustomFieldDefinition | None, text: str) -> str:
    """What a filter's typed text matches: the same string `as_text` makes of the value it means (3.0 finds 3,
    yes finds true) when the field is known; the text itself otherwise."""
    if definition is None:
        return text
    if definition.type is CustomFieldType.boolean and text.lower() in ("true", "yes", "1", "false", "no", "0"):
        return as_text(text.lower() in ("true", "yes", "1"))
    if definition.type is CustomFieldType.number:
        try:
            return as_text(float(text))
        except ValueError:
            return text
    return text
