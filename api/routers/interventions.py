"""Head Office actions on an order: one route per entry of models/actions.py (the one list of actions).

Each is a Temporal Update with a validator: a refused action answers 409 naming the rule and leaves no trace; an
accepted one answers the order as it left it. Send an Idempotency-Key: a retried request is applied once, and
a request whose outcome is unknown (503 outcome-unknown) learns it by being sent again with the same key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Body, Depends, Header
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import Session

from api import orders_service
from api.custom_fields_service import EditCustomFieldRequest, edit_custom_field
from api.deps import HeadOffice, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.interventions_service import (
    MoveDeliveryRequest,
    actor_of,
    move_delivery,
    require_available,
    require_collection_store,
    require_location,
    run_action,
    sibling_variant,
    source_added_item,
    to_new_line,
)
from api.params import OrderNumber
from api.problems import field_error
from api.responses import JSONBody
from models import scheduling
from models.actions import ACTIONS, Action
from models.db import catalogue
from models.intervention_commands import (
    AddItem,
    ChangeVariant,
    MoveToStore,
    RedirectStock,
    Reschedule,
    SplitDelivery,
    SwitchToHomeDelivery,
)
from models.text import LINE_PATTERN, Line, Text
from models.views import OrderView

router = APIRouter(prefix="/orders/{order_number}", tags=["head office actions"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key", **PROBLEM},
    403: {"description": "Not a Head Office key", **PROBLEM},
    404: {"description": "No such order", **PROBLEM},
    409: {"description": "Refused by a rule (`rule` names it); nothing changed", **PROBLEM},
    422: {"description": "Invalid input (`errors` name the fields); nothing changed", **PROBLEM},
    503: {"description": "The order did not answer in time: send again with the same Idempotency-Key", **PROBLEM},
}


class OrderActions:
    """Everything an action needs: the order, the caller (Head Office), and the Idempotency-Key."""

    def __init__(
        self,
        order_number: OrderNumber,
        session: SessionDep,
        temporal: TemporalDep,
        settings: SettingsDep,
        user: HeadOffice,
        idempotency_key: Annotated[
            str | None,
            Header(
                max_length=200, pattern=LINE_PATTERN, description="Becomes the Temporal update id: retries apply once"
            ),
        ] = None,
    ) -> None:
        self.order_number, self.session, self.user = order_number, session, user
        self._temporal, self._settings, self._key = temporal, settings, idempotency_key

    async def run(self, action: Action, command: Any) -> dict[str, Any]:
        command.actor = actor_of(self.user)
        return await run_action(
            self.session,
            self._temporal,
            self.order_number,
            action,
            command,
            self._key,
            self._settings.update_timeout_seconds,
            self._settings,
        )

    def view(self, session: Session) -> dict[str, Any]:
        return orders_service.order_view(session, self.order_number)


Actions = Annotated[OrderActions, Depends()]


class RunsActions(Protocol):
    """What `perform` uses of an OrderActions (the pages pass their own: api/pages/order.py)."""

    session: Session

    async def run(self, action: Action, command: Any) -> dict[str, Any]: ...

    def view(self, session: Session) -> dict[str, Any]: ...


# ---- bodies the API resolves against the catalogue before the workflow sees them ---------------------------


class ChangeVariantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: Line = Field(max_length=16)
    size: Line | None = Field(default=None, max_length=16)
    colour: Line | None = Field(default=None, max_length=32)
    reason: Line = Field(min_length=1, max_length=500)
    client_note: Text | None = Field(default=None, max_length=1000)


class AddItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Line = Field(max_length=64)
    quantity: int = Field(ge=1, le=999)
    reason: Line = Field(min_length=1, max_length=500)
    client_note: Text | None = Field(default=None, max_length=1000)


def _open_lines(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in view["lines"] if line["quantity"]]


def _change_variant(session: Session, view: dict[str, Any], request: ChangeVariantRequest) -> ChangeVariant:
    line = next((line for line in view["lines"] if line["line_id"] == request.line_id), None)
    if line is None:
        raise field_error("line_id", f"line {request.line_id} is not on the order")
    current = catalogue.products_by_sku(session, {line["sku"]})[line["sku"]]
    variant = sibling_variant(session, current, request.size, request.colour)
    require_available(session, view["store_id"], variant.sku, line["quantity"])
    return ChangeVariant(
        line_id=request.line_id, variant=variant, reason=request.reason, client_note=request.client_note
    )


def _add_item(session: Session, view: dict[str, Any], request: AddItemRequest) -> AddItem:
    products = catalogue.products_by_sku(session, {request.sku})
    if request.sku not in products:
        raise field_error("sku", f"unknown SKU {request.sku!r}")
    item = to_new_line(products[request.sku])
    fields = {"item": item, "quantity": request.quantity, "reason": request.reason, "client_note": request.client_note}
    if shipped := source_added_item(session, view, request.sku, request.quantity):
        location_id, address, decision = shipped
        return AddItem.model_validate({**fields, "ship_from": location_id, "address": address, "sourcing": decision})
    require_available(session, view["store_id"], request.sku, request.quantity)
    return AddItem.model_validate(fields)


def _move_to_store(session: Session, view: dict[str, Any], command: MoveToStore) -> MoveToStore:
    require_collection_store(session, "store_id", command.store_id)
    for line in _open_lines(view):
        require_available(session, command.store_id, line["sku"], line["quantity"])
    return command


def _home_delivery(session: Session, view: dict[str, Any], command: SwitchToHomeDelivery) -> SwitchToHomeDelivery:
    require_location(session, "from_location", command.from_location)
    if command.from_location != view["store_id"]:
        for line in _open_lines(view):
            require_available(session, command.from_location, line["sku"], line["quantity"])
    return command


def _split_delivery(session: Session, view: dict[str, Any], command: SplitDelivery) -> SplitDelivery:
    require_location(session, "from_location", command.from_location)
    return command


def _redirect_stock(session: Session, view: dict[str, Any], command: RedirectStock) -> RedirectStock:
    require_location(session, "from_location", command.from_location)
    require_available(session, command.from_location, command.sku, command.quantity)
    return command


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fulfil_on: Line = Field(
        min_length=1, max_length=40, description="The new date (YYYY-MM-DD, 00:00 UTC) or an aware date and time"
    )
    reason: Line = Field(min_length=1, max_length=500)
    client_note: Text | None = Field(default=None, max_length=1000)


_DATE_OR_MOMENT: TypeAdapter[datetime | date] = TypeAdapter(AwareDatetime | date)


def _reschedule(session: Session, view: dict[str, Any], request: RescheduleRequest) -> Reschedule:
    try:
        moment = scheduling.fulfil_moment(_DATE_OR_MOMENT.validate_python(request.fulfil_on))
    except ValidationError:
        raise field_error("fulfil_on", "a date (YYYY-MM-DD) or a date and time with its offset") from None
    if (problem := scheduling.date_problem(moment, datetime.now(UTC))) is not None:
        raise field_error("fulfil_on", problem)
    return Reschedule(fulfil_on=moment, reason=request.reason, client_note=request.client_note)


Preparer = Callable[[Session, dict[str, Any], Any], BaseModel]
PREPARED: dict[str, tuple[type[BaseModel], Preparer]] = {
    "change_variant": (ChangeVariantRequest, _change_variant),
    "add_item": (AddItemRequest, _add_item),
    "move_to_store": (MoveToStore, _move_to_store),
    "switch_to_home_delivery": (SwitchToHomeDelivery, _home_delivery),
    "redirect_stock": (RedirectStock, _redirect_stock),
    "move_delivery": (MoveDeliveryRequest, move_delivery),
    "split_delivery": (SplitDelivery, _split_delivery),
    "edit_custom_field": (EditCustomFieldRequest, edit_custom_field),
    "reschedule": (RescheduleRequest, _reschedule),
}

_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "cancel_lines": {"lines": [{"line_id": "L1", "quantity": 1}]},
    "reschedule": {"fulfil_on": "2026-12-24"},
    "change_variant": {"line_id": "L1", "size": "L"},
    "add_item": {"sku": "TEE-BLA-M", "quantity": 1},
    "buy_in_store": {"line_ids": ["L1"]},
    "move_to_store": {"store_id": "S002"},
    "switch_to_home_delivery": {"from_location": "W001", "address": _ADDRESS},
    "redirect_stock": {"sku": "TEE-WHI-M", "quantity": 2, "from_location": "W001"},
    "move_delivery": {"delivery_id": "D2"},
    "split_delivery": {"line_ids": ["L2"], "from_location": "W001", "address": _ADDRESS},
    "merge_deliveries": {"delivery_id": "D3", "into": "D2"},
    "add_note": {"text": "Called the customer", "client_facing": False},
    "take_payment": {"amount": {"amount": 500, "currency": "GBP"}},
    "refund": {"amount": {"amount": 500, "currency": "GBP"}},
    "confirm_payment": {"reference": "BACS 2026-11-22 0042"},
    "retry_payment": {"token": "tok_approve"},
    "override_payment": {"reference": "taken by phone, PDQ 7781"},
    "edit_custom_field": {"field": "po_number", "value": "PO-2291"},
    "add_third_party_invoice": {"number": "INV-7781", "system": "SAP"},
}


def body_model(action: Action) -> type[BaseModel]:
    """What the API (and the order page's form) takes for an action."""
    return PREPARED.get(action.name, (action.command, None))[0]


async def perform(actions: RunsActions, action: Action, body: BaseModel) -> dict[str, Any]:
    """Resolve the body against the catalogue if the action needs it, then run the action."""
    prepare = PREPARED.get(action.name, (None, None))[1]
    command = body
    if prepare is not None:
        command = await in_threadpool(
            actions.session, lambda: prepare(actions.session, actions.view(actions.session), body)
        )
    return await actions.run(action, command)


def _add_route(action: Action) -> None:
    async def endpoint(actions: OrderActions, body: BaseModel) -> JSONBody:
        return JSONBody(await perform(actions, action, body))

    example = EXAMPLES.get(action.name, {})
    if action.name != "add_note":
        example = {**example, "reason": "customer called"}
    endpoint.__annotations__ = {
        "actions": Actions,
        "body": Annotated[body_model(action), Body(openapi_examples={"example": {"value": example}})],
        "return": JSONBody,
    }
    endpoint.__name__ = action.name
    router.add_api_route(
        f"/{action.path}",
        endpoint,
        methods=["POST"],
        response_model=OrderView,
        summary=action.title,
        description=action.summary,
        name=action.name,
        responses=RESPONSES,
    )


for _action in ACTIONS:
    _add_route(_action)
