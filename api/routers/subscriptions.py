"""Subscriptions: `POST /subscriptions` subscribes a customer (its own workflow, workflows/subscriptions.py, which
places an order every period); `GET /subscriptions/{id}` shows it with its next billing date and amount;
`POST /subscriptions/{id}/{change}` pauses, resumes, skips the next period, changes a quantity or the card, or
cancels (a refused change is a 409 naming its rule). The subscribing channel sees and changes its own
subscriptions; Head Office every one."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import placement
from activities.subscriptions import renewal_order
from api.deps import ORDER_PLACERS, Caller, SessionDep, SettingsDep, TemporalDep, in_threadpool, require_role
from api.numbered_workflows import actor_of
from api.params import IdempotencyKey
from api.problems import Conflict, Forbidden, InvalidInput, NotFound, problem_responses
from models.db import catalogue
from models.settings import ApiKeyHolder, Role
from models.subscriptions import (
    SUBSCRIPTION_WORKFLOW,
    Change,
    NewSubscription,
    NextBilling,
    SubscriptionState,
    SubscriptionView,
    new_subscription,
    next_billing,
    period_problem,
    subscription_workflow_id,
)
from models.text import Line

router = APIRouter(tags=["subscriptions"])

SubscriptionId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
STARTS_LEEWAY = timedelta(minutes=5)  # a client's clock a little behind ours
STARTS_WITHIN = timedelta(days=365)
CHANGES = ("pause", "resume", "skip_next", "change_quantity", "change_card", "cancel")


class ChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line = Field(default="", max_length=500)
    sku: Line | None = Field(default=None, max_length=64, description="change_quantity: the line")
    quantity: int | None = Field(default=None, ge=1, le=999, description="change_quantity: its new quantity")
    token: Line | None = Field(default=None, min_length=1, max_length=255, description="change_card: the new card")


def _prices(session: SessionDep, skus: set[str]) -> dict[str, int]:
    return {sku: product.price.amount for sku, product in catalogue.products_by_sku(session, skus).items()}


def _checked(session: SessionDep, body: NewSubscription, gateway: str) -> NewSubscription:
    """Refused now, naming the field, when its first order could not be placed; locked prices kept."""
    if problem := period_problem(body.period):
        raise InvalidInput([{"field": "period", "message": problem}])
    now = datetime.now(UTC)
    if body.starts_at is not None and not now - STARTS_LEEWAY <= body.starts_at <= now + STARTS_WITHIN:
        # A start in the past would bill every period since at once.
        raise InvalidInput([{"field": "starts_at", "message": "from now to a year ahead"}])
    prices = _prices(session, {line.sku for line in body.lines})
    unknown = [
        {"field": f"lines[{i}].sku", "message": f"unknown SKU {line.sku}"}
        for i, line in enumerate(body.lines)
        if line.sku not in prices
    ]
    if unknown:
        raise InvalidInput(unknown)
    lines = [line.model_copy(update={"locked_price": prices[line.sku]}) for line in body.lines]
    body = body.model_copy(update={"lines": lines})
    trial = new_subscription("check", "check", body, datetime.now(UTC))
    try:
        placement.check(session, renewal_order(trial, 0, prices), frozenset({gateway}))
    except placement.PlacementRefused as refused:
        errors = [{"field": p.field, "message": p.message} for p in refused.problems if p.field != "payment.amount"]
        if errors:
            raise InvalidInput(errors) from None
    return body


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionView,
    responses=problem_responses(403),
)
async def subscribe(
    body: NewSubscription,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> SubscriptionView:
    """Subscribe a customer: an order every `period` from `starts_at`, charged to the card token. Completes at once;
    the same Idempotency-Key answers the same subscription."""
    require_role(caller, ORDER_PLACERS, lambda: Forbidden("a channel or Head Office subscribes customers"))
    if caller.channels is not None and body.channel not in caller.channels:
        raise Forbidden(
            f"this key subscribes for {', '.join(caller.channels) or 'none'} only", type_="channel-not-allowed"
        )
    body = await in_threadpool(session, _checked, session, body, settings.payment_gateway)
    if idempotency_key:
        subscription_id = hashlib.sha256(f"{caller.name}:{idempotency_key}".encode()).hexdigest()[:12]
    else:
        subscription_id = uuid.uuid4().hex[:12]
    state = new_subscription(subscription_id, actor_of(caller), body, datetime.now(UTC))
    await temporal.start_workflow(
        SUBSCRIPTION_WORKFLOW,
        state,
        id=subscription_workflow_id(subscription_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await subscription_view(session, temporal, subscription_id, caller)


class SubscriptionEstimate(BaseModel):
    """What subscribing would bill: the first period's date and amount (due then, charged to the card at once), and
    the one after it, at today's catalogue prices."""

    first_billing: NextBilling
    then: NextBilling
    period: str


@router.post("/subscriptions/estimate", response_model=SubscriptionEstimate, responses=problem_responses(403))
async def estimate_subscription(
    body: NewSubscription, session: SessionDep, settings: SettingsDep, caller: Caller
) -> SubscriptionEstimate:
    """The billing estimate of a subscription before it is made: `POST /subscriptions`'s body, judged by the same
    rules (422 naming the field), answering when the first and second periods are billed and how much. Nothing is
    kept."""
    require_role(caller, ORDER_PLACERS, lambda: Forbidden("a channel or Head Office subscribes customers"))
    body = await in_threadpool(session, _checked, session, body, settings.payment_gateway)
    trial = new_subscription("estimate", actor_of(caller), body, datetime.now(UTC))
    prices = await in_threadpool(session, _prices, session, {line.sku for line in body.lines})
    first = next_billing(trial, prices)
    trial.next_period += 1
    return SubscriptionEstimate(first_billing=first, then=next_billing(trial, prices), period=body.period)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionView, responses=problem_responses(404))
async def get_subscription(
    subscription_id: SubscriptionId, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> SubscriptionView:
    """The subscription, its periods (with their orders), alerts, history and `next_billing` (date and amount at
    today's catalogue prices, or the locked ones)."""
    return await subscription_view(session, temporal, subscription_id, caller)


@router.post(
    "/subscriptions/{subscription_id}/{change}",
    response_model=SubscriptionView,
    responses=problem_responses(404, 409),
)
async def change_subscription(
    subscription_id: SubscriptionId,
    change: Annotated[str, Path(pattern=f"^({'|'.join(CHANGES)})$")],
    body: ChangeBody,
    session: SessionDep,
    temporal: TemporalDep,
    caller: Caller,
) -> SubscriptionView:
    """pause | resume | skip_next | change_quantity {sku, quantity} | change_card {token} | cancel."""
    await subscription_view(session, temporal, subscription_id, caller)  # 404 unless the caller may see it
    command = Change(kind=change, actor=actor_of(caller), **body.model_dump())  # type: ignore[arg-type]
    handle = temporal.get_workflow_handle(subscription_workflow_id(subscription_id))
    try:
        await handle.execute_update("change", command, result_type=SubscriptionState)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        rule = cause.type or "refused" if isinstance(cause, ApplicationError) else "refused"
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise Conflict(message, type_=rule, rule=rule) from error
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Conflict(
                "the subscription has ended", type_="subscription_cancelled", rule="subscription_cancelled"
            ) from error
        raise
    return await subscription_view(session, temporal, subscription_id, caller)


async def subscription_state(temporal: Client, subscription_id: str) -> SubscriptionState | None:
    handle = temporal.get_workflow_handle(subscription_workflow_id(subscription_id))
    try:
        state: SubscriptionState = await handle.query("view", result_type=SubscriptionState)
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise
    return state


def _may_see(caller: ApiKeyHolder, state: SubscriptionState) -> bool:
    return caller.role is Role.head_office or (caller.role is Role.channel and state.owner == actor_of(caller))


async def subscription_view(
    session: SessionDep, temporal: Client, subscription_id: str, caller: ApiKeyHolder
) -> SubscriptionView:
    state = await subscription_state(temporal, subscription_id)
    if state is None or not _may_see(caller, state):
        raise NotFound(f"no subscription {subscription_id}")
    prices = await in_threadpool(session, _prices, session, {line.sku for line in state.lines})
    return SubscriptionView(**state.model_dump(), next_billing=next_billing(state, prices))
