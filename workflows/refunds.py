"""RefundWorkflow (type "Refund", id `refund-<order>-<k>`): one refund given after its order's workflow closed
(Head Office's refund action on a closed order, keyed by its Idempotency-Key; a return's refund, keyed by the
return), decided by the order's own money rules on its kept final state (models/late_refunds.py).

It claims the refund on the kept order (refused: it answers the rule, nothing changed), sends each claimed gateway
operation once under an id derived from this workflow (a gateway without an answer is asked again later, same id,
never redone), and records each answer on the order: its read model, history and `refunded` event, as the order
would. No messages: it runs to its outcome. `activities.refunds.refund_after_close` is the one way the API and
returns start it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from activities.refunds import RefundActivities
    from models import late_refunds
    from models.late_refunds import (
        REFUND_WORKFLOW,
        GatewayCall,
        LateRefundAsk,
        LateRefundOutcome,
        Settling,
        Unanswered,
    )
    from models.payments import GatewayResult
    from workflows.order.calls import DATABASE_RETRY, DATABASE_TIMEOUT, GATEWAY_RETRY, NOTHING_SENT

# The kept state is written as the order's workflow ends: a refund asked in that moment waits for it a little.
KEPT_STATE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=8)


@workflow.defn(name=REFUND_WORKFLOW)
class RefundWorkflow:
    @workflow.run
    async def run(self, ask: LateRefundAsk) -> LateRefundOutcome:
        try:
            claimed = await workflow.execute_local_activity_method(
                RefundActivities.claim_late_refund,
                ask,
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=KEPT_STATE_RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(error)
            return LateRefundOutcome(
                refund_id=ask.refund_id, order_number=ask.order_number, refused_rule="order_closed",
                refused_message=f"order {ask.order_number} cannot be refunded after it closed: {message}",
            )  # fmt: skip
        if claimed.refused_rule:
            return LateRefundOutcome(
                refund_id=ask.refund_id, order_number=ask.order_number,
                refused_rule=claimed.refused_rule, refused_message=claimed.refused_message,
            )  # fmt: skip
        results: list[GatewayResult] = []
        calls = list(claimed.calls)
        while calls:
            result = await _answer(ask.order_number, calls.pop(0))
            results.append(result)
            settled = await workflow.execute_local_activity_method(
                RefundActivities.settle_late_refund,
                Settling(refund_id=ask.refund_id, order_number=ask.order_number, result=result),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
            )
            calls.extend(settled.calls)
        return late_refunds.outcome(ask, [r for r in results if r.kind == "refund"])


async def _answer(order_number: str, call: GatewayCall) -> GatewayResult:
    """The gateway's answer to one operation: sent once under its id; without an answer, the order shows it unknown
    and it is asked again later under the same id (the gateway answers from its books, the ledger from its row),
    never redone. A request the gateway never received (misconfigured, invalid) is a decline: nothing moved."""
    checks = 0
    while True:
        try:
            return await workflow.execute_activity_method(
                PaymentActivities.call_gateway,
                call.request,
                start_to_close_timeout=call.policy.gateway_timeout,
                schedule_to_close_timeout=max(call.policy.gateway_retry_for, call.policy.gateway_timeout),
                retry_policy=GATEWAY_RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            detail = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            if isinstance(cause, ApplicationError) and cause.type in NOTHING_SENT:
                return GatewayResult(
                    operation_id=call.request.operation_id, kind=call.request.kind, approved=False,
                    detail=f"not sent: {detail}", amount=call.request.amount, at=workflow.now(),
                )  # fmt: skip
            if checks == 0:
                await workflow.execute_local_activity_method(
                    RefundActivities.note_late_refund_unknown,
                    Unanswered(order_number=order_number, operation_id=call.request.operation_id, detail=detail),
                    start_to_close_timeout=DATABASE_TIMEOUT,
                    retry_policy=DATABASE_RETRY,
                )
        await workflow.sleep(late_refunds.recheck_after(call.policy, checks))
        checks += 1
