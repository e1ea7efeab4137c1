"""Sending Head Office actions to an order's workflow as Temporal Updates, and translating the answers; the checks
that resolve an action's body against the catalogue before the workflow sees it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.projection import ProjectionActivities
from activities.refunds import note_closed_order
from api import orders_service
from api.deps import in_threadpool
from api.late_refunds import refund_closed_order
from api.problems import Conflict, OutcomeUnknown, field_error
from models.actions import Action, ActionOutcome
from models.catalogue import LocationKind, Product
from models.closing import ORDER_CLOSING
from models.db import catalogue, closed_orders, policies
from models.db import sourcing as sourcing_db
from models.db.store_links import link_state
from models.intervention_commands import AddNote, MoveDelivery, NewLine
from models.order import order_workflow_id
from models.settings import ApiKeyHolder, Settings
from models.sourcing import CandidateVerdict, LineToSource, SourcingDecision, source
from models.store_link import click_and_collect_refusal
from models.text import Line, Text


def actor_of(caller: ApiKeyHolder) -> str:
    return f"ho:{caller.name}"


async def run_action(
    session: Session,
    temporal: Client,
    order_number: str,
    action: Action,
    command: BaseModel,
    idempotency_key: str | None,
    timeout_seconds: float,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run one action on the order; the Idempotency-Key is the update id, so a retry is applied once and answers
        what the first attempt answered. Returns the order's view as the action left it. A refund on an order whose
        workflow has closed is paid by a Refund workflow of its own, and a note is written on its kept state (given the
    settings)."""
    update_id = idempotency_key or str(uuid.uuid4())

    async def closed(error: Exception, closing: bool = False) -> dict[str, Any]:
        # An order closed before orders kept their final state (open 30 days, then gone) takes no late refund.
        kept = closing or await in_threadpool(session, closed_orders.is_kept, session, order_number)
        if action.name == "refund" and settings is not None and kept:
            return await refund_closed_order(
                session, temporal, order_number, command, update_id, settings.task_queue, timeout_seconds
            )
        if action.name == "add_note" and settings is not None and kept and not closing:
            assert isinstance(command, AddNote)
            engine = session.get_bind()
            assert isinstance(engine, Engine)
            projection = ProjectionActivities(engine, settings)  # its writing, in this request (no workflow)
            await in_threadpool(session, note_closed_order, engine, projection, order_number, command, update_id)
            return await in_threadpool(session, orders_service.order_view, session, order_number)
        raise Conflict(f"order {order_number} is closed", type_="order_closed", rule="order_closed") from error

    handle = temporal.get_workflow_handle(order_workflow_id(order_number))
    try:
        await asyncio.wait_for(
            handle.execute_update(action.name, command, id=update_id, result_type=ActionOutcome),
            timeout=timeout_seconds,
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        rule = cause.type if isinstance(cause, ApplicationError) and cause.type else "refused"
        if rule == ORDER_CLOSING:  # its workflow is closing: it takes no more actions
            return await closed(error, closing=True)
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise Conflict(message, type_=rule, rule=rule) from error
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
        raise OutcomeUnknown(
            f"the order did not answer within {timeout_seconds:g} s; the action may still be applied. Send it "
            "again with the same Idempotency-Key to learn its outcome: it is applied once.",
            idempotency_key=update_id,
        ) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            # No workflow: an order that never was (404), or one whose workflow has ended (409).
            await in_threadpool(session, orders_service.order_record, session, order_number)
            return await closed(error)
        raise
    # The workflow committed the change (and its projection) before it answered.
    return await in_threadpool(session, orders_service.order_view, session, order_number)


def sibling_variant(session: Session, current: Product, size: str | None, colour: str | None) -> NewLine:
    """The variant of the same style in the asked size and/or colour (the other attribute kept)."""
    if size is None and colour is None:
        raise field_error("size", "give a size, a colour, or both")
    want_size, want_colour = size or current.size, colour or current.colour
    for product in catalogue.list_products(session, current.style):
        if product.size == want_size and product.colour == want_colour:
            return to_new_line(product)
    raise field_error("size" if size else "colour", f"{current.style} comes in no {want_colour} {want_size}")


def to_new_line(product: Product) -> NewLine:
    return NewLine(
        sku=product.sku, style=product.style, size=product.size, colour=product.colour, unit_price=product.price
    )


def require_available(session: Session, location_id: str, sku: str, quantity: int) -> None:
    """Refuse before the workflow sees it when the stock is plainly not there (the ledger still decides)."""
    holding = catalogue.stock_holding(session, sku)
    available = next((loc.available for loc in holding.locations if loc.location_id == location_id), 0)
    if available < quantity:
        raise Conflict(
            f"{location_id} has {available} {sku} available, not {quantity}",
            type_="stock_shortage",
            rule="stock_shortage",
        )


def require_location(session: Session, field: str, location_id: str) -> None:
    if catalogue.get_store(session, location_id) is None:
        raise field_error(field, f"unknown location {location_id!r}")


def require_collection_store(session: Session, field: str, store_id: str) -> None:
    store = catalogue.get_store(session, store_id)
    if store is None or store.kind != LocationKind.store:
        raise field_error(field, f"unknown store {store_id!r}")
    if not store.click_and_collect_enabled:
        raise field_error(field, f"store {store_id} is not enabled for click & collect")
    if offline := click_and_collect_refusal(store_id, *link_state(session, store_id)):
        raise field_error(field, offline)


def move_delivery(session: Session, view: dict[str, Any], request: MoveDeliveryRequest) -> MoveDelivery:
    """The delivery's new location: the one Head Office names (known, holding its lines), or sourcing's choice
    among every other enabled, online location (one location for all its lines, or 409)."""
    delivery = next((d for d in view.get("deliveries", []) if d["delivery_id"] == request.delivery_id), None)
    if delivery is None:
        raise field_error("delivery_id", f"delivery {request.delivery_id} is not on the order")
    lines = [line for line in view["lines"] if line["line_id"] in delivery["lines"] and line["quantity"]]
    if request.location_id is not None:
        require_location(session, "location_id", request.location_id)
        for line in lines:
            require_available(session, request.location_id, line["sku"], line["quantity"])
        return MoveDelivery(
            delivery_id=request.delivery_id,
            location_id=request.location_id,
            reason=request.reason,
            client_note=request.client_note,
        )
    current = delivery["location_id"]
    wanted = [LineToSource(line_id=line["line_id"], sku=line["sku"], quantity=line["quantity"]) for line in lines]
    candidates = [c for c in sourcing_db.candidates(session, {line.sku for line in wanted}) if c.location_id != current]
    postcode = (delivery.get("address") or {}).get("postcode")
    decision = source(wanted, candidates, policies.get_sourcing_policy(session), postcode, datetime.now(UTC))
    if decision.unsourced or decision.splits != 1:
        raise Conflict(
            f"no other enabled, online location holds every line of {request.delivery_id}",
            type_="stock_shortage",
            rule="stock_shortage",
        )
    moved_from = catalogue.get_store(session, current)
    kind = moved_from.kind if moved_from else LocationKind.warehouse
    decision.candidates.append(
        CandidateVerdict(location_id=current, kind=kind, reason="the location it moves away from")
    )
    (location_id,) = decision.assignments
    return MoveDelivery(
        delivery_id=request.delivery_id,
        location_id=location_id,
        sourcing=decision,
        reason=request.reason,
        client_note=request.client_note,
    )


class MoveDeliveryRequest(BaseModel):
    """`POST /orders/{n}/move-delivery`: a further delivery to another location; leave `location_id` out to have
    sourcing choose one."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: Line = Field(max_length=16)
    location_id: Line | None = Field(default=None, min_length=1, max_length=32, description="Left out: re-source it")
    reason: Line = Field(min_length=1, max_length=500)
    client_note: Text | None = Field(default=None, max_length=1000)


def source_added_item(
    session: Session, view: dict[str, Any], sku: str, quantity: int
) -> tuple[str, dict[str, Any], SourcingDecision] | None:
    """Where an added item ships from when the collection store lacks it and the order has somewhere to deliver
    to (one of its home deliveries' address): sourcing's choice, or None (the store has it, or nothing to ship to:
    the store's shortage refuses the action as before)."""
    holding = catalogue.stock_holding(session, sku)
    at_store = next((loc.available for loc in holding.locations if loc.location_id == view["store_id"]), 0)
    address = view.get("delivery_address") or next(
        (d["address"] for d in view.get("deliveries", []) if d.get("address")), None
    )
    if at_store >= quantity or address is None:
        return None
    wanted = [LineToSource(line_id=f"L{len(view['lines']) + 1}", sku=sku, quantity=quantity)]
    candidates = sourcing_db.candidates(session, {sku})
    decision = source(
        wanted, candidates, policies.get_sourcing_policy(session), address.get("postcode"), datetime.now(UTC)
    )
    if decision.unsourced:
        return None
    (location_id,) = decision.assignments
    return location_id, address, decision
