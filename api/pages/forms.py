"""The Head Office action forms, generated from the one list of actions (models/actions.py): one form per action,
its fields derived from the action's body model (`body_model(action)`), and the submitted form parsed back into
that body. A field's widget follows its type (money, whole numbers, yes/no, an address, quantities of lines) and,
for ids, its name (a line, a store, a location, a SKU, a payment); there is no table per action."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticUndefined

from api.problems import InvalidInput
from api.routers.interventions import body_model
from models.actions import ACTIONS, Action
from models.money import MAX_AMOUNT, Money

Kind = Literal[
    "text",  # one line of text
    "textarea",  # text that may run over lines (notes)
    "number",  # a whole number
    "money",  # an amount in major units (12.50), in the order's currency
    "checkbox",  # yes or no
    "line",  # one of the order's open lines
    "lines",  # some of the order's open lines
    "line_quantities",  # a quantity for each of the order's open lines
    "store",  # a click & collect store
    "location",  # any store or warehouse
    "sku",  # a catalogue item
    "payment",  # one of the order's payments
    "custom_field",  # one of the custom fields Head Office defined
    "group",  # a nested model (an address): its own fields
]
# Ids are chosen from a list, by the field's name.
_CHOSEN_BY_NAME: dict[str, Kind] = {
    "line_id": "line",
    "line_ids": "lines",
    "store_id": "store",
    "from_location": "location",
    "sku": "sku",
    "payment_id": "payment",
    "field": "custom_field",
}
_LABELS = {
    "client_note": "Note for the customer",
    "from_location": "From",
    "line_ids": "Lines",
    "lines": "Quantities",
    "payment_id": "Payment",
    "field": "Field",
    "store_id": "Store",
    "sku": "Item",
    "client_facing": "Client-facing",
    "line1": "Address line 1",
    "line2": "Address line 2",
}
_LAST = ("reason", "client_note")  # why, and what to tell the customer, close every form


@dataclass(frozen=True)
class FormField:
    name: str  # the control's name: "reason", "address.city"; line quantities are "lines.L1", "lines.L2"...
    kind: Kind
    label: str
    required: bool
    help: str = ""
    default: str = ""
    minimum: int | None = None
    maximum: int | None = None
    fields: tuple[FormField, ...] = ()  # a group's own fields

    @property
    def key(self) -> str:
        """The body's key for this field (the last part of its name)."""
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ActionForm:
    action: Action
    fields: tuple[FormField, ...]

    @property
    def id(self) -> str:
        return f"action-{self.action.path}"

    def label_of(self, path: str) -> str:
        """The label people see for a dotted field path ("address.city" → "City"); the path itself if unknown."""
        fields, label = self.fields, path
        for part in path.split("."):
            found = next((f for f in fields if f.key == part), None)
            if found is None:
                break
            fields, label = found.fields, found.label
        return label


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside Optional[...] and Annotated[...], and the Annotated metadata met on the way."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata += extra
        elif origin in (Union, UnionType):
            options = [a for a in get_args(annotation) if a is not NoneType]
            if len(options) != 1:
                raise TypeError(f"no form widget for {annotation}")
            annotation = options[0]
        else:
            return annotation, metadata


def _bound(metadata: list[Any], kind: type, attribute: str) -> int | None:
    return next((getattr(m, attribute) for m in metadata if isinstance(m, kind)), None)


def _multiline(metadata: list[Any]) -> bool:
    patterns = [m.pattern for m in metadata if isinstance(m, StringConstraints) and m.pattern]
    return bool(patterns) and all(re.fullmatch(p, "one\ntwo") for p in patterns)


def _kind(name: str, annotation: Any, metadata: list[Any]) -> Kind:
    if annotation is Money:
        return "money"
    if annotation is bool:
        return "checkbox"
    if annotation is int:
        return "number"
    if get_origin(annotation) is list:
        item, _ = _unwrap(get_args(annotation)[0])
        if isinstance(item, type) and issubclass(item, BaseModel) and set(item.model_fields) == {"line_id", "quantity"}:
            return "line_quantities"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "group"
    if name in _CHOSEN_BY_NAME:
        return _CHOSEN_BY_NAME[name]
    if annotation is str:
        return "textarea" if _multiline(metadata) else "text"
    raise TypeError(f"no form widget for {name}: {annotation}")


def _field(name: str, info: FieldInfo, prefix: str) -> FormField | None:
    annotation, metadata = _unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    # For type checkers pydantic declares SkipJsonSchema an Annotated alias; at run time it is this marker class.
    if any(isinstance(m, SkipJsonSchema) for m in metadata):  # type: ignore[misc]
        return None  # filled by the API (the actor), never by people
    kind = _kind(name, annotation, metadata)
    minimum, maximum = _bound(metadata, annotated_types.Ge, "ge"), _bound(metadata, annotated_types.Le, "le")
    default = info.default
    if default in (PydanticUndefined, None):
        default = minimum if kind == "number" and minimum is not None else ""
    return FormField(
        name=f"{prefix}{name}",
        kind=kind,
        label=_LABELS.get(name, name.replace("_", " ").capitalize()),
        required=info.is_required(),
        help=info.description or "",
        default="" if isinstance(default, bool) else str(default),
        minimum=minimum,
        maximum=maximum,
        fields=fields_of(annotation, f"{prefix}{name}.") if kind == "group" else (),
    )


@cache
def fields_of(model: type[BaseModel], prefix: str = "") -> tuple[FormField, ...]:
    fields = [f for name, info in model.model_fields.items() if (f := _field(name, info, prefix)) is not None]
    return tuple(sorted(fields, key=lambda f: _LAST.index(f.key) + 1 if f.key in _LAST else 0))


@cache
def form_of(action: Action) -> ActionForm:
    return ActionForm(action, fields_of(body_model(action)))


def forms() -> list[ActionForm]:
    """One form per Head Office action, in the list's order."""
    return [form_of(action) for action in ACTIONS]


# ---- the submitted form, back into the action's body ---------------------------------------------------------


class _Missing:
    pass


MISSING = _Missing()  # nothing entered: the model's default applies, or it says the field is required


def minor_units(text: str, currency: str) -> int:
    """12.50 in the order's currency, in its minor units (1250 pence); refuses what the currency cannot hold."""
    exponent = -int(Money(amount=1, currency=currency).decimal().as_tuple().exponent)
    try:
        value = Decimal(text.strip().replace(",", "")).scaleb(exponent)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value != value.to_integral_value() or value < 0 or value > MAX_AMOUNT:
        example = "12" if exponent == 0 else f"12.{'5'.ljust(exponent, '0')}"
        raise ValueError(f"{text!r} is not an amount in {currency}: give one like {example}")
    return int(value)


def _value(field: FormField, form: Any, currency: str) -> Any:
    if field.kind == "group":
        group = {f.key: v for f in field.fields if (v := _value(f, form, currency)) is not MISSING}
        return group or MISSING
    if field.kind == "checkbox":
        return field.name in form
    if field.kind == "lines":
        return [str(v) for v in form.getlist(field.name)] or MISSING
    if field.kind == "line_quantities":
        prefix = f"{field.name}."
        chosen = [
            {"line_id": name.removeprefix(prefix), "quantity": text}
            for name in dict.fromkeys(form.keys())
            if name.startswith(prefix) and (text := str(form.get(name, "")).strip()) not in ("", "0")
        ]
        return chosen or MISSING
    text = str(form.get(field.name, "")).strip()
    if not text:
        return MISSING
    if field.kind == "money":
        return {"amount": minor_units(text, currency), "currency": currency}
    return text


def parse(form_: ActionForm, form: Any, currency: str) -> dict[str, Any]:
    """The body of the action from its form's fields (validate it with the action's body model)."""
    body: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for field in form_.fields:
        try:
            value = _value(field, form, currency)
        except ValueError as error:
            errors.append({"field": field.name, "message": str(error)})
            continue
        if value is not MISSING:
            body[field.key] = value
    if errors:
        raise InvalidInput(errors)
    return body
