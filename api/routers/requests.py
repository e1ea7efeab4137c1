"""Customer requests: a channel (or Head Office on the phone) files what the customer asks for on their order;
Head Office accepts it (the matching action runs on the order) or declines it with a reason. Each is its own
workflow (workflows/requests.py), shown on the order as a `customer_request` alert until answered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from api import orders_service
from api.deps import (
    ORDER_PLACERS,
    Caller,
    HeadOffice,
    SessionDep,
    SettingsDep,
    TemporalDep,
    in_threadpool,
    require_role,
)
from api.numbered_workflows import actor_of, start_numbered, update
from api.params import IdempotencyKey, Offset, OrderNumber
from api.point_of_no_return import PONR_KINDS, refuse_past_point_of_no_return
from api.problems import Forbidden, InvalidInput, NotFound, Unavailable, problem_responses
from api.routers.interventions import PREPARED, body_model
from models.actions import BY_NAME
from models.db import policies
from models.db import requests as request_rows
from models.db import returns as return_rows
from models.exchanges import exchange_problems
from models.requests import ACTION_OF, CustomerRequest, FileRequest, RequestKind, RequestPolicy
from models.returns import RequestReturn
from models.settings import ApiKeyHolder
from models.text import Line
from workflows.requests import REQUEST_WORKFLOW, Answer, CustomerRequestWorkflow, RequestStart, request_workflow_id

router = APIRouter(tags=["customer requests"])

RequestId = Annotated[str, Path(pattern=r"^request-[0-9A-Za-z-]{1,60}$")]


class Accept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Line = Field(default="", max_length=500)


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line = Field(min_length=1, max_length=500)


def _check_details(body: FileRequest) -> None:
    """The details are what the action (or a return) takes: refused now, naming the field, not when accepted."""
    try:
        if body.kind is RequestKind.return_lines:
            RequestReturn.model_validate(body.details)
        else:
            body_model(BY_NAME[ACTION_OF[body.kind]]).model_validate({**body.details, "reason": body.note})
    except ValidationError as error:
        raise InvalidInput(
            [{"field": ".".join(["details", *(str(p) for p in e["loc"])]), "message": e["msg"]} for e in error.errors()]
        ) from None


@router.post(
    "/orders/{order_number}/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerRequest,
    responses=problem_responses(403, 404),
)
async def file_request(
    order_number: OrderNumber,
    body: FileRequest,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> CustomerRequest:
    """File what the customer asks for. Open until Head Office answers (or applied at once when the policy allows);
    the same Idempotency-Key answers the same request."""
    require_role(caller, ORDER_PLACERS, lambda: Forbidden("a channel or Head Office files customer requests"))
    _check_details(body)
    record = await in_threadpool(session, orders_service.order_record, session, order_number, caller)
    refuse_past_point_of_no_return(record.view, "a cancellation or return" if body.kind in PONR_KINDS else None)

    def read() -> tuple[RequestPolicy, int]:
        if body.kind is RequestKind.return_lines:  # an exchange asked for must be like for like: refused now
            asked = RequestReturn.model_validate(body.details)
            facts = return_rows.order_facts(session, order_number, record.view)
            if problems := exchange_problems(facts, asked, return_rows.wanted_products(session, asked)):
                raise InvalidInput([{"field": f"details.{p.field}", "message": p.message} for p in problems])
        return policies.get_request_policy(session), request_rows.count_for_order(session, order_number)

    policy, count = await in_threadpool(session, read)

    def start(request_id: str) -> RequestStart:
        request = CustomerRequest(
            request_id=request_id,
            order_number=order_number,
            kind=body.kind,
            details=body.details,
            note=body.note,
            filed_by=actor_of(caller),
            filed_at=datetime.now(UTC),
        )
        return RequestStart(request=request, policy=policy, order_status=record.status)

    def make_id(k: int | str) -> str:
        return request_workflow_id(order_number, k)

    request_id = await start_numbered(
        temporal, settings.task_queue, REQUEST_WORKFLOW, make_id, start, count, caller, idempotency_key
    )
    return await _view(temporal, request_id)


async def _view(temporal: Client, request_id: str) -> CustomerRequest:
    handle = temporal.get_workflow_handle(request_id)
    for _ in range(50):
        try:
            found: CustomerRequest = await handle.query(CustomerRequestWorkflow.view)
            return found
        except RPCError:
            await asyncio.sleep(0.1)
    raise Unavailable(f"request {request_id} is not readable yet; read it again shortly", type_="request_pending")


@router.get("/orders/{order_number}/requests", response_model=list[CustomerRequest], tags=["orders"])
def list_requests(order_number: OrderNumber, session: SessionDep, caller: Caller) -> list[CustomerRequest]:
    """The order's customer requests, oldest first."""
    orders_service.order_record(session, order_number, caller)
    return request_rows.for_order(session, order_number)


@router.get("/requests", response_model=list[CustomerRequest])
def list_open_requests(
    session: SessionDep,
    _ho: HeadOffice,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[CustomerRequest]:
    """Open requests, the longest waiting first: Head Office's queue."""
    return request_rows.open_requests(session, limit, offset)


@router.get("/requests/{request_id}", response_model=CustomerRequest, responses=problem_responses(404))
def get_request(request_id: RequestId, session: SessionDep, caller: Caller) -> CustomerRequest:
    found = request_rows.get(session, request_id)
    if found is None:
        raise NotFound(f"request {request_id} not found", type_="request-not-found")
    orders_service.order_record(session, found.order_number, caller)
    return found


async def _request_to_answer(
    request_id: str, session: SessionDep, temporal: Client, caller: ApiKeyHolder
) -> CustomerRequest:
    """The request as read model holds it, or (just filed, not yet projected) as its workflow holds it."""
    found = await in_threadpool(session, request_rows.get, session, request_id)
    if found is None:
        try:
            found = await temporal.get_workflow_handle(request_id).query(CustomerRequestWorkflow.view)
        except RPCError:
            raise NotFound(f"request {request_id} not found", type_="request-not-found") from None
    await in_threadpool(session, orders_service.order_record, session, found.order_number, caller)
    return found


async def _answer(temporal: Client, request_id: str, name: str, answer: Answer) -> CustomerRequest:
    return await update(temporal, request_id, name, answer, CustomerRequest, "request_answered")


@router.post("/requests/{request_id}/accept", response_model=CustomerRequest, responses=problem_responses(404, 409))
async def accept_request(
    request_id: RequestId, body: Accept, session: SessionDep, temporal: TemporalDep, caller: HeadOffice
) -> CustomerRequest:
    """Accept: the matching action runs on the order (or a return opens); answered `failed` if the order refuses.
    What the action needs resolving (a variant, an item's price, stock at the store) is checked now, as the action's
    own route checks it: a 422 or 409 leaves the request open."""
    request = await _request_to_answer(request_id, session, temporal, caller)
    command = None
    if request.kind in ACTION_OF:
        action = BY_NAME[ACTION_OF[request.kind]]
        asked = body_model(action).model_validate({**request.details, "reason": request.note[:500]})
        prepare = PREPARED.get(action.name, (None, None))[1]
        if prepare is not None:
            view = await in_threadpool(session, orders_service.order_view, session, request.order_number)
            asked = await in_threadpool(session, prepare, session, view, asked)
        command = asked.model_dump(mode="json", exclude={"reason", "actor"})
    answer = Answer(actor=actor_of(caller), text=body.note, command=command)
    return await _answer(temporal, request_id, "accept", answer)


@router.post("/requests/{request_id}/decline", response_model=CustomerRequest, responses=problem_responses(404, 409))
async def decline_request(
    request_id: RequestId, body: Decline, session: SessionDep, temporal: TemporalDep, caller: HeadOffice
) -> CustomerRequest:
    """Decline with a reason; the channel hears it (the order event `request_answered`)."""
    await _request_to_answer(request_id, session, temporal, caller)
    return await _answer(temporal, request_id, "decline", Answer(actor=actor_of(caller), text=body.reason))


@router.get("/settings/requests", response_model=RequestPolicy, tags=["settings"])
def get_request_policy(session: SessionDep, _ho: HeadOffice) -> RequestPolicy:
    return policies.get_request_policy(session)


@router.put("/settings/requests", response_model=RequestPolicy, tags=["settings"])
def put_request_policy(policy: RequestPolicy, session: SessionDep, _ho: HeadOffice) -> RequestPolicy:
    """How long Head Office has to answer, and whether a cancellation before acknowledgement is applied at once."""
    return policies.put_request_policy(session, policy)
