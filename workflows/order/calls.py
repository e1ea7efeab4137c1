"""The order workflow's calls to Baton's own database (local activities: short, retried, in the workflow task)
and to the payment gateways (a regular activity: external, retried with backoff, then `unknown`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

A = TypeVar("A")
R = TypeVar("R")

with workflow.unsafe.imports_passed_through():
    from activities.gateways.base import GatewayErrorType
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from activities.projection import ProjectionActivities
    from activities.refunds import RefundActivities
    from activities.write_errors import UNCURABLE_WRITE, refused_class
    from models.catalogue import DispatchTransfer, LineReservation, ReceiveTransfer, ReservationOutcome, ReserveStock
    from models.order import OrderState
    from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult, MoneyOperation
    from models.resourcing import Resourced, ResourceDelivery
    from models.sla import SlaPolicy
    from models.transition import ReservedCommit, ReservedTransition, Transition

DATABASE_TIMEOUT = timedelta(seconds=30)
# A gateway that is down is retried (same idempotency key) until the policy's gateway_retry_for has passed;
# a decline is an answer, never retried.
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_interval=timedelta(seconds=30)
)
# Nothing was sent, so nothing moved: these end a call with a decline rather than an unknown outcome.
NOTHING_SENT = frozenset({GatewayErrorType.misconfigured, GatewayErrorType.invalid_request})
# A write the database refuses fails alike on every attempt (activities/write_errors.py): never retried, whatever
# the activity said. Anything else (a locked database, a lost connection) is retried until it goes through.
DATABASE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=[UNCURABLE_WRITE])


class WriteRefused(Exception):
    """The database refused to write an order's change; `error_class` names its error."""

    def __init__(self, error_class: str) -> None:
        super().__init__(f"the change could not be written ({error_class})")
        self.error_class = error_class


def refusal_of(error: ActivityError | ApplicationError) -> WriteRefused | None:
    """The WriteRefused an activity's failure stands for, if the database refused its write; else None."""
    # A local activity's non-retryable failure reaches the workflow as the ApplicationError itself, unwrapped.
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError) and cause.type == UNCURABLE_WRITE:
        return WriteRefused(refused_class(cause))
    return None


async def reserve(order_number: str, location_id: str, lines: list[LineReservation]) -> ReservationOutcome:
    return await workflow.execute_local_activity_method(
        InventoryActivities.reserve_stock,
        ReserveStock(order_number=order_number, location_id=location_id, lines=lines),
        start_to_close_timeout=DATABASE_TIMEOUT,
        retry_policy=DATABASE_RETRY,
    )


async def resource_delivery(request: ResourceDelivery) -> Resourced:
    return await workflow.execute_local_activity_method(
        InventoryActivities.resource_delivery,
        request,
        start_to_close_timeout=DATABASE_TIMEOUT,
        retry_policy=DATABASE_RETRY,
    )


async def dispatch_transfer(transfer: DispatchTransfer) -> None:
    """Stock leaves the source now; a shortage refuses the action that asked for it (nothing changed yet)."""
    try:
        await workflow.execute_local_activity_method(
            InventoryActivities.dispatch_transfer,
            transfer,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
    except ActivityError as error:
        if isinstance(error.cause, ApplicationError):
            raise ApplicationError(error.cause.message, type=error.cause.type) from error
        raise


async def receive_transfer(transfer_id: str) -> None:
    await workflow.execute_local_activity_method(
        InventoryActivities.receive_transfer,
        ReceiveTransfer(transfer_id=transfer_id),
        start_to_close_timeout=DATABASE_TIMEOUT,
        retry_policy=DATABASE_RETRY,
    )


async def commit_if_reserved(
    reserve: ReserveStock, transition: Transition, more: list[ReserveStock] | None = None
) -> ReservedCommit:
    """Reserve the lines at the store (and `more`: each further delivery's at its location) and write the change
    that sends the order there, in one transaction. Raises WriteRefused when the database refuses the change
    (nothing was reserved or written)."""
    request = ReservedTransition(reserve=reserve, transition=transition, more=more or [])
    return await _write(ProjectionActivities.commit_if_reserved, request)


async def commit(transition: Transition) -> SlaPolicy:
    """Write one change: stock, projection, events, extracts and store messages in one transaction. Answers the
    store's SLA policy as it stands now, so a running order picks up changed settings at its next step. Raises
    WriteRefused when the database refuses the change (nothing of it was written)."""
    return await _write(ProjectionActivities.commit_transition, transition)


async def keep_closed(state: OrderState) -> None:
    """Keep the order's final state as its workflow ends: a refund after it closed decides on it."""
    await workflow.execute_local_activity_method(
        RefundActivities.keep_closed_order, state, start_to_close_timeout=DATABASE_TIMEOUT, retry_policy=DATABASE_RETRY
    )


async def _write(activity: Callable[[ProjectionActivities, A], R], argument: A) -> R:
    """One database write as a local activity; a write the database refuses for good raises WriteRefused."""
    try:
        return await workflow.execute_local_activity_method(
            activity, argument, start_to_close_timeout=DATABASE_TIMEOUT, retry_policy=DATABASE_RETRY
        )
    except (ActivityError, ApplicationError) as error:
        refused = refusal_of(error)
        if refused is None:
            raise
        raise refused from error


async def call_gateway(state: OrderState, operation: MoneyOperation) -> GatewayResult | str:
    """One operation at the payment's gateway under its operation id. Answers the gateway's result, or why there
    is none (the outcome is then unknown: asked again later under the same id)."""
    payment = state.payment(operation.payment_id)
    assert payment is not None
    places = operation.kind in (GatewayOperationKind.authorise, GatewayOperationKind.sale)
    request = GatewayRequest(
        operation_id=operation.operation_id,
        order_number=state.order_number,
        kind=operation.kind,
        gateway=payment.gateway or "test",
        method=payment.method,
        amount=operation.amount,
        token=payment.token if places else None,
        reference=operation.reference,
        actor=operation.actor,
    )
    policy = state.payment_policy
    try:
        return await workflow.execute_activity_method(
            PaymentActivities.call_gateway,
            request,
            start_to_close_timeout=policy.gateway_timeout,
            schedule_to_close_timeout=max(policy.gateway_retry_for, policy.gateway_timeout),
            retry_policy=GATEWAY_RETRY,
        )
    except ActivityError as error:
        cause = error.cause
        detail = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        if isinstance(cause, ApplicationError) and cause.type in NOTHING_SENT:
            return GatewayResult(
                operation_id=operation.operation_id,
                kind=operation.kind,
                approved=False,
                detail=f"not sent: {detail}",
                amount=operation.amount,
                at=workflow.now(),
            )
        return f"no answer from the gateway: {detail}"
