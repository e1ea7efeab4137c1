"""Returns (RMA): requested on an order by a channel, Head Office or a store; authorised or rejected by the return
policy; shipped by carrier, received at their location, inspected, restocked and refunded, each return its own
workflow (workflows/returns.py). The return policy is a Head Office setting."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api import orders_service
from api.deps import Caller, HeadOffice, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.numbered_workflows import actor_of, start_numbered, update
from api.params import IdempotencyKey, OrderNumber
from api.point_of_no_return import refuse_past_point_of_no_return
from api.problems import Forbidden, InvalidInput, NotFound, Unavailable, problem_responses
from models.db import policies
from models.db import returns as return_rows
from models.exchanges import exchange_problems
from models.returns import (
    RETURN_WORKFLOW,
    InspectedLine,
    OrderFacts,
    RequestReturn,
    ReturnPolicy,
    ReturnStart,
    ReturnState,
    return_workflow_id,
)
from models.settings import ApiKeyHolder, Role
from models.text import Line
from workflows.returns import Closing, Inspection, Receipt, ReturnWorkflow, Shipment

router = APIRouter(tags=["returns"])

ReturnId = Annotated[str, Path(pattern=r"^return-[0-9A-Za-z-]{1,60}$")]


class ShipReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: Line = Field(min_length=1, max_length=64)
    tracking_number: Line = Field(min_length=1, max_length=64)


class ReceiveReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class InspectReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[InspectedLine] = Field(min_length=1, max_length=100)


class CancelReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line = Field(min_length=1, max_length=200)


@router.post(
    "/orders/{order_number}/returns",
    status_code=status.HTTP_201_CREATED,
    response_model=ReturnState,
    responses=problem_responses(404),
)
async def request_return(
    order_number: OrderNumber,
    body: RequestReturn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> ReturnState:
    """Ask to return lines of a completed order: authorised (then sent back and received) or rejected by the return
    policy, with its reasons; a line may ask for an exchange (like for like, else 422). The same Idempotency-Key
    answers the same return."""
    record = await in_threadpool(session, orders_service.order_record, session, order_number, caller)
    refuse_past_point_of_no_return(record.view, "a return of its delivered items")

    def read() -> tuple[OrderFacts, ReturnPolicy, int]:
        facts = return_rows.order_facts(session, order_number, record.view)
        if problems := exchange_problems(facts, body, return_rows.wanted_products(session, body)):
            raise InvalidInput([{"field": p.field, "message": p.message} for p in problems])
        return facts, policies.get_return_policy(session), return_rows.count_for_order(session, order_number)

    facts, policy, count = await in_threadpool(session, read)
    actor = actor_of(caller)

    def start(return_id: str) -> ReturnStart:
        return ReturnStart(return_id=return_id, facts=facts, request=body, policy=policy, actor=actor)

    def make_id(k: int | str) -> str:
        return return_workflow_id(order_number, k)

    return_id = await start_numbered(
        temporal, settings.task_queue, RETURN_WORKFLOW, make_id, start, count, caller, idempotency_key
    )
    return await _view(temporal, return_id)


async def _view(temporal: Client, return_id: str) -> ReturnState:
    """The return as its workflow decided it (its first step runs at once)."""
    handle = temporal.get_workflow_handle(return_id)
    for _ in range(100):
        try:
            state = await handle.query(ReturnWorkflow.view)
        except RPCError:  # a query that met the run finishing: asked again
            state = None
        if state is not None:
            return state
        await asyncio.sleep(0.1)
    raise Unavailable(f"return {return_id} has not been decided yet; read it again shortly", type_="return_pending")


@router.get("/orders/{order_number}/returns", response_model=list[ReturnState], tags=["orders"])
def list_returns(order_number: OrderNumber, session: SessionDep, caller: Caller) -> list[ReturnState]:
    """The order's returns, oldest first."""
    orders_service.order_record(session, order_number, caller)
    return return_rows.for_order(session, order_number)


def _known_return(
    session: Session, return_id: str, caller: ApiKeyHolder, just_opened: ReturnState | None = None
) -> ReturnState:
    found = return_rows.get(session, return_id) or just_opened
    if found is None:
        raise NotFound(f"return {return_id} not found", type_="return-not-found")
    if caller.store_id is None or caller.store_id != found.location_id:  # the receiving location reads it too
        orders_service.order_record(session, found.order_number, caller)  # 404 for another store's or channel's
    return found


async def _return_to_change(session: Session, temporal: Client, return_id: str, caller: ApiKeyHolder) -> ReturnState:
    """The return as the read model holds it or, just opened and not yet projected, as its workflow holds it."""
    just_opened = None
    if await in_threadpool(session, return_rows.get, session, return_id) is None:
        try:
            just_opened = await temporal.get_workflow_handle(return_id).query(ReturnWorkflow.view)
        except RPCError:
            pass  # no such workflow: a 404 below
    return await in_threadpool(session, _known_return, session, return_id, caller, just_opened)


@router.get("/returns/{return_id}", response_model=ReturnState, responses=problem_responses(404))
def get_return(return_id: ReturnId, session: SessionDep, caller: Caller) -> ReturnState:
    return _known_return(session, return_id, caller)


async def _update(temporal: Client, return_id: str, name: str, argument: BaseModel) -> ReturnState:
    return await update(temporal, return_id, name, argument, ReturnState, "return_refused")


def _at_location(caller: ApiKeyHolder, state: ReturnState) -> None:
    """Head Office, or the staff of the location the return goes to."""
    if caller.role is Role.head_office:
        return
    if caller.store_id != state.location_id:
        raise Forbidden(f"only Head Office or {state.location_id} receive and inspect this return")


@router.post("/returns/{return_id}/shipped", response_model=ReturnState, responses=problem_responses(404, 409))
async def ship_return(
    return_id: ReturnId, body: ShipReturn, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> ReturnState:
    """The customer sent the return by carrier (a return by carrier only)."""
    await _return_to_change(session, temporal, return_id, caller)
    shipment = Shipment(carrier=body.carrier, tracking_number=body.tracking_number, actor=actor_of(caller))
    return await _update(temporal, return_id, "ship", shipment)


@router.post("/returns/{return_id}/received", response_model=ReturnState, responses=problem_responses(403, 404, 409))
async def receive_return(
    return_id: ReturnId, body: ReceiveReturn, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> ReturnState:
    """The goods arrived at the return's location (the order hears of it: RETURNED)."""
    state = await _return_to_change(session, temporal, return_id, caller)
    _at_location(caller, state)
    return await _update(temporal, return_id, "receive", Receipt(location_id=body.location_id, actor=actor_of(caller)))


@router.post("/returns/{return_id}/inspection", response_model=ReturnState, responses=problem_responses(403, 404, 409))
async def inspect_return(
    return_id: ReturnId, body: InspectReturn, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> ReturnState:
    """Units accepted per line: they go back into stock and the order refunds them."""
    state = await _return_to_change(session, temporal, return_id, caller)
    _at_location(caller, state)
    return await _update(temporal, return_id, "inspect", Inspection(lines=body.lines, actor=actor_of(caller)))


@router.post("/returns/{return_id}/cancel", response_model=ReturnState, responses=problem_responses(404, 409))
async def cancel_return(
    return_id: ReturnId, body: CancelReturn, session: SessionDep, temporal: TemporalDep, caller: HeadOffice
) -> ReturnState:
    """Close a return whose goods never came: nothing is refunded."""
    await _return_to_change(session, temporal, return_id, caller)
    return await _update(temporal, return_id, "cancel", Closing(reason=body.reason, actor=actor_of(caller)))


@router.get("/settings/returns", response_model=ReturnPolicy, tags=["settings"])
def get_return_policy(session: SessionDep, _ho: HeadOffice) -> ReturnPolicy:
    return policies.get_return_policy(session)


@router.put("/settings/returns", response_model=ReturnPolicy, tags=["settings"])
def put_return_policy(policy: ReturnPolicy, session: SessionDep, _ho: HeadOffice) -> ReturnPolicy:
    """The return window, products that cannot be returned, and how long an authorised return may take to arrive."""
    return policies.put_return_policy(session, policy)
