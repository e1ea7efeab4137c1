"""Head Office actions on an order. Each is a Temporal Update with a validator: a refused action answers
409 naming the rule and leaves no trace; an accepted one answers the new order view. Send an
Idempotency-Key: a retried request is applied once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.deps import HeadOffice, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.interventions_service import actor_of, require_available, run_update, sibling_variant, to_new_line
from api.orders_service import get_order_state
from api.problems import field_error
from api.schemas import OrderView
from models import interventions as ho
from models.catalogue import LocationKind
from models.db import catalogue
from models.db.store_links import link_state
from models.order import ReleaseHold
from models.store_link import click_and_collect_refusal
from workflows.order_workflow import OrderWorkflow

T = TypeVar("T")

router = APIRouter(prefix="/orders/{order_number}", tags=["head office actions"])


class OrderActions:
    """Everything an action needs: the order, the caller (Head Office), and the Idempotency-Key."""

    def __init__(
        self,
        order_number: str,
        session: SessionDep,
        temporal: TemporalDep,
        settings: SettingsDep,
        user: HeadOffice,
        idempotency_key: Annotated[
            str | None, Header(max_length=200, description="Becomes the Temporal update id: retries apply once")
        ] = None,
    ) -> None:
        self.order_number, self.session, self.user = order_number, session, user
        self._temporal, self._settings, self._key = temporal, settings, idempotency_key

    async def run(self, update: Any, command: Any) -> OrderView:
        command.actor = actor_of(self.user)
        return await run_update(
            self.session,
            self._temporal,
            self.order_number,
            update,
            command,
            self._key,
            self._settings.update_timeout_seconds,
        )

    async def prepare(self, check: Callable[[Session], T]) -> T:
        """Run the database checks that build a command off the event loop."""
        return await in_threadpool(self.session, check, self.session)


Actions = Annotated[OrderActions, Depends()]


def _require_lines_available(session: Session, order_number: str, location_id: str) -> None:
    for line in get_order_state(session, order_number).lines:
        if line.quantity:
            require_available(session, location_id, line.sku, line.quantity)


def _example(**fields: Any) -> Any:
    return Body(openapi_examples={"example": {"value": {**fields, "reason": "customer called"}}})


class ChangeVariantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str
    size: str | None = None
    colour: str | None = None
    reason: str = Field(min_length=1, max_length=500)
    client_note: str | None = Field(default=None, max_length=1000)


class AddItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    quantity: int = Field(ge=1, le=999)
    reason: str = Field(min_length=1, max_length=500)
    client_note: str | None = Field(default=None, max_length=1000)


@router.post("/cancel", response_model=OrderView)
async def cancel_order(actions: Actions, command: Annotated[ho.CancelOrder, _example()]) -> OrderView:
    """Cancel the order: everything paid is refunded and the stock released."""
    return await actions.run(OrderWorkflow.cancel_order, command)


@router.post("/cancel-lines", response_model=OrderView)
async def cancel_lines(
    actions: Actions, command: Annotated[ho.CancelLines, _example(lines=[{"line_id": "L1", "quantity": 1}])]
) -> OrderView:
    """Cancel all or part of some lines: refunded pro rata, stock released, the store told."""
    return await actions.run(OrderWorkflow.cancel_lines, command)


@router.post("/change-variant", response_model=OrderView)
async def change_variant(
    actions: Actions, request: Annotated[ChangeVariantRequest, _example(line_id="L1", size="L")]
) -> OrderView:
    """Swap a line to another size and/or colour of the same style; the price difference is charged or refunded."""

    def prepare(session: Session) -> ho.ChangeVariant:
        state = get_order_state(session, actions.order_number)
        line = state.line(request.line_id)
        if line is None:
            raise field_error("line_id", f"line {request.line_id} is not on the order")
        current = catalogue.products_by_sku(session, {line.sku})[line.sku]
        variant = sibling_variant(session, current, request.size, request.colour)
        require_available(session, state.store_id, variant.sku, line.quantity)
        return ho.ChangeVariant(
            line_id=request.line_id, variant=variant, reason=request.reason, client_note=request.client_note
        )

    return await actions.run(OrderWorkflow.change_variant, await actions.prepare(prepare))


@router.post("/add-item", response_model=OrderView)
async def add_item(
    actions: Actions, request: Annotated[AddItemRequest, _example(sku="TEE-BLA-M", quantity=1)]
) -> OrderView:
    """Add an item, reserved at the collection store to be collected with the rest; its price is charged."""

    def prepare(session: Session) -> ho.AddItem:
        products = catalogue.products_by_sku(session, {request.sku})
        if request.sku not in products:
            raise field_error("sku", f"unknown SKU {request.sku!r}")
        state = get_order_state(session, actions.order_number)
        require_available(session, state.store_id, request.sku, request.quantity)
        return ho.AddItem(
            item=to_new_line(products[request.sku]),
            quantity=request.quantity,
            reason=request.reason,
            client_note=request.client_note,
        )

    return await actions.run(OrderWorkflow.add_item, await actions.prepare(prepare))


@router.post("/buy-in-store", response_model=OrderView)
async def buy_in_store(actions: Actions, command: Annotated[ho.BuyInStore, _example(line_ids=["L1"])]) -> OrderView:
    """The customer would rather see the items first: the lines are refunded and the stock held at the store."""
    return await actions.run(OrderWorkflow.buy_in_store, command)


@router.post("/move-to-store", response_model=OrderView)
async def move_to_store(actions: Actions, command: Annotated[ho.MoveToStore, _example(store_id="S002")]) -> OrderView:
    """Collect the whole order at another store: stock reserved there, released here, both stores told."""

    def check(session: Session) -> ho.MoveToStore:
        store = catalogue.get_store(session, command.store_id)
        if store is None or store.kind != LocationKind.store:
            raise field_error("store_id", f"unknown store {command.store_id!r}")
        if not store.click_and_collect_enabled:
            raise field_error("store_id", f"store {command.store_id} is not enabled for click & collect")
        if offline := click_and_collect_refusal(command.store_id, *link_state(session, command.store_id)):
            raise field_error("store_id", offline)
        _require_lines_available(session, actions.order_number, command.store_id)
        return command

    return await actions.run(OrderWorkflow.move_to_store, await actions.prepare(check))


@router.post("/home-delivery", response_model=OrderView)
async def switch_to_home_delivery(
    actions: Actions,
    command: Annotated[
        ho.SwitchToHomeDelivery,
        _example(
            from_location="W001",
            address={
                "name": "Ada Lovelace",
                "line1": "12 St James's Square",
                "city": "London",
                "postcode": "SW1Y 4JH",
                "country": "GB",
            },
        ),
    ],
) -> OrderView:
    """Deliver the whole order instead: stock reserved at the dispatch location, released at the store."""

    def check(session: Session) -> ho.SwitchToHomeDelivery:
        if catalogue.get_store(session, command.from_location) is None:
            raise field_error("from_location", f"unknown location {command.from_location!r}")
        _require_lines_available(session, actions.order_number, command.from_location)
        return command

    return await actions.run(OrderWorkflow.switch_to_home_delivery, await actions.prepare(check))


@router.post("/redirect-stock", response_model=OrderView)
async def redirect_stock(
    actions: Actions,
    command: Annotated[ho.RedirectStock, _example(sku="TEE-WHI-M", quantity=2, from_location="W001")],
) -> OrderView:
    """Send stock from a warehouse or another store to the collection store; the order waits for its receipt."""

    def check(session: Session) -> ho.RedirectStock:
        if catalogue.get_store(session, command.from_location) is None:
            raise field_error("from_location", f"unknown location {command.from_location!r}")
        require_available(session, command.from_location, command.sku, command.quantity)
        return command

    return await actions.run(OrderWorkflow.redirect_stock, await actions.prepare(check))


@router.post("/prompt-store", response_model=OrderView)
async def prompt_store(actions: Actions, command: Annotated[ho.PromptStore, _example()]) -> OrderView:
    """Send the order to the store again, recording who prompted it."""
    return await actions.run(OrderWorkflow.prompt_store, command)


@router.post("/notes", response_model=OrderView)
async def add_note(
    actions: Actions,
    command: Annotated[
        ho.AddNote,
        Body(openapi_examples={"example": {"value": {"text": "Called the customer", "client_facing": False}}}),
    ],
) -> OrderView:
    """Add a note, internal or client-facing."""
    return await actions.run(OrderWorkflow.add_note, command)


@router.post("/release-hold", response_model=OrderView)
async def release_hold(actions: Actions, command: Annotated[ReleaseHold, _example()]) -> OrderView:
    """Release an order on hold: accept a short pick, or try the reservation again."""
    return await actions.run(OrderWorkflow.release_hold, command)


@router.post("/payments", response_model=OrderView)
async def take_payment(
    actions: Actions,
    command: Annotated[ho.TakePayment, _example(method="card", amount={"amount": 500, "currency": "GBP"})],
) -> OrderView:
    """Take a payment on the order (recorded once per request)."""
    return await actions.run(OrderWorkflow.take_payment, command)


@router.post("/refunds", response_model=OrderView)
async def refund(
    actions: Actions, command: Annotated[ho.IssueRefund, _example(amount={"amount": 500, "currency": "GBP"})]
) -> OrderView:
    """Refund all or part of what was captured; never more than captured minus refunded."""
    return await actions.run(OrderWorkflow.refund, command)


@router.post("/approve", response_model=OrderView)
async def approve_order(actions: Actions, command: Annotated[ho.ApproveOrder, _example()]) -> OrderView:
    """Approve an order awaiting approval: its payments are taken and it goes to the store."""
    return await actions.run(OrderWorkflow.approve_order, command)


@router.post("/reject", response_model=OrderView)
async def reject_order(actions: Actions, command: Annotated[ho.RejectOrder, _example()]) -> OrderView:
    """Reject an order awaiting approval: it is cancelled and anything prepaid refunded."""
    return await actions.run(OrderWorkflow.reject_order, command)


@router.post("/confirm-payment", response_model=OrderView)
async def confirm_payment(
    actions: Actions, command: Annotated[ho.ConfirmPayment, _example(reference="BACS 2026-11-22 0042")]
) -> OrderView:
    """The offline payment (phone, bank transfer) arrived: the order goes ahead."""
    return await actions.run(OrderWorkflow.confirm_payment, command)


@router.post("/retry-payment", response_model=OrderView)
async def retry_payment(
    actions: Actions, command: Annotated[ho.RetryPayment, _example(token="tok_approve")]
) -> OrderView:
    """Try a declined payment again, with a new card token if the customer gave one."""
    return await actions.run(OrderWorkflow.retry_payment, command)


@router.post("/override-payment", response_model=OrderView)
async def override_payment(
    actions: Actions, command: Annotated[ho.OverridePayment, _example(reference="taken by phone, PDQ 7781")]
) -> OrderView:
    """Settle a failed capture or a declined payment by hand (money taken another way); audited."""
    return await actions.run(OrderWorkflow.override_payment, command)
