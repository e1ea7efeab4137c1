"""SubscriptionWorkflow (type "Subscription", id `subscription-<id>`): one subscription, for as long as it runs
(models/subscriptions.py decides; this shell carries it out).

Each period, on a durable timer, it places a normal order (activities/subscriptions.py: the same placement as
`POST /orders`, one idempotency key per period) charged to the subscription's card (auth_capture) through the
order's normal payment path. A declined card holds that order (its own `payment_declined` alert); the subscription
raises its own alert and retries the payment every RETRY_EVERY, RENEWAL_RETRIES times (with the card on file then,
so a changed card is used); after that the period is marked failed, its order cancelled, and the next period goes
on as planned.

Update `change` (pause, resume, skip_next, change_quantity, change_card, cancel): refused by the rules in its
validator, naming the rule; audited in the subscription's history. Query `view`. It continues as new every
PERIODS_PER_RUN periods, carrying its state (the last periods only), so years of renewals keep a bounded history."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions import OrderAsk, Renewal, RenewalAsk, SubscriptionActivities
    from models import subscriptions as rules
    from models.subscriptions import (
        SUBSCRIPTION_WORKFLOW,
        Change,
        PeriodRecord,
        SubscriptionAlert,
        SubscriptionState,
        SubscriptionStatus,
    )

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
OUTCOME_TIMEOUT = timedelta(minutes=1)  # the outcome activity waits for the gateway itself (OUTCOME_WAIT)
POLL_EVERY = timedelta(minutes=1)  # then, while a renewal's payment is still at the gateway
POLL_FOR = timedelta(hours=1)  # then the period counts as placed; the order's own alerts take it from there
KEPT_PERIODS = 24  # periods carried into a new run (older ones are in the orders themselves)


@workflow.defn(name=SUBSCRIPTION_WORKFLOW)
class SubscriptionWorkflow:
    @workflow.init
    def __init__(self, state: SubscriptionState) -> None:
        self._state = state
        self._changed = False

    @workflow.run
    async def run(self, state: SubscriptionState) -> SubscriptionState:
        state = self._state
        renewed_this_run = 0
        while state.status is not SubscriptionStatus.cancelled:
            if renewed_this_run >= rules.PERIODS_PER_RUN and workflow.all_handlers_finished():
                state.periods = state.periods[-KEPT_PERIODS:]
                state.history = state.history[-100:]
                state.runs += 1
                workflow.continue_as_new(state)
            self._changed = False
            if state.status is SubscriptionStatus.paused:
                await workflow.wait_condition(lambda: self._changed)
                continue
            wait = state.next_due() - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._changed, timeout=wait)
                    continue  # changed while waiting: look again (paused, skipped, cancelled)
                except TimeoutError:
                    pass
            if rules.skip_due(state, workflow.now()):
                continue
            await self._renew(state.next_period)
            state.next_period += 1
            renewed_this_run += 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        return state

    async def _renew(self, period: int) -> None:
        state = self._state
        due = state.next_due()
        placed: Renewal = await workflow.execute_activity_method(
            SubscriptionActivities.place_renewal,
            RenewalAsk(state=state, period=period),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        if placed.order_number is None:
            state.periods.append(PeriodRecord(index=period, due_at=due, status="refused", detail=placed.refused or ""))
            rules.raise_alert(state, self._alert("renewal_refused", period, placed.refused or "refused"))
            return
        record = PeriodRecord(index=period, due_at=due, status="placed", order_number=placed.order_number)
        record.amount, record.attempts = placed.amount, 1
        state.periods.append(record)
        outcome = await self._outcome(placed.order_number)
        while outcome == "declined" and record.attempts <= rules.RENEWAL_RETRIES:
            record.status = "declined"
            if record.attempts == 1:
                retries = f"retried {rules.RENEWAL_RETRIES} times, every {rules.RETRY_EVERY.total_seconds() / 3600:g}h"
                message = f"the card was declined for order {placed.order_number}; {retries}"
                rules.raise_alert(state, self._alert("payment_declined", period, message))
            try:  # a cancellation stops the retries too (its order is cancelled below)
                await workflow.wait_condition(
                    lambda: state.status is SubscriptionStatus.cancelled, timeout=rules.RETRY_EVERY
                )
                break
            except TimeoutError:
                pass
            ask = self._ask(placed.order_number, f"retry-{record.attempts}", "renewal payment retried")
            ask.token = state.token  # the card on file now (the customer may have changed it)
            refused = await workflow.execute_activity_method(
                SubscriptionActivities.retry_renewal_payment, ask, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
            record.attempts += 1
            state.history.append(
                rules.HistoryEntry(
                    at=workflow.now(),
                    actor="subscription",
                    action="payment_retried",
                    detail=refused or f"attempt {record.attempts}",
                )
            )
            outcome = await self._outcome(placed.order_number)
        if outcome == "cancelled":  # the payment policy cancels a declined order: no retries on it
            record.status, record.detail = "failed", "declined; the order was cancelled by the payment policy"
            rules.raise_alert(state, self._alert("renewal_failed", period, f"period {period} failed: {record.detail}"))
            return
        if outcome == "declined":
            record.status, record.detail = "failed", f"declined {record.attempts} times"
            message = f"period {period} failed: the card was declined {record.attempts} times"
            rules.raise_alert(state, self._alert("renewal_failed", period, message))
            await workflow.execute_activity_method(
                SubscriptionActivities.cancel_renewal,
                self._ask(placed.order_number, "cancel", "subscription renewal payment failed"),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
            )
            return
        if outcome == "paid":
            record.status = "paid"
            rules.resolve_alerts(state, period, workflow.now())
        state.history.append(
            rules.HistoryEntry(
                at=workflow.now(),
                actor="subscription",
                action=f"period_{record.status}",
                detail=f"{period}: order {placed.order_number}",
            )
        )

    async def _outcome(self, order_number: str) -> str:
        waited = timedelta(0)
        while True:
            outcome: str = await workflow.execute_activity_method(
                SubscriptionActivities.renewal_outcome,
                order_number,
                start_to_close_timeout=OUTCOME_TIMEOUT,
                heartbeat_timeout=TIMEOUT,
                retry_policy=RETRY,
            )
            if outcome != "pending" or waited >= POLL_FOR:
                return outcome
            await workflow.sleep(POLL_EVERY)
            waited += POLL_EVERY

    def _ask(self, order_number: str, step: str, reason: str) -> OrderAsk:
        state = self._state
        update_id = f"{rules.subscription_workflow_id(state.subscription_id)}:{order_number}:{step}"
        return OrderAsk(
            order_number=order_number, update_id=update_id, actor=f"subscription:{state.subscription_id}", reason=reason
        )

    def _alert(self, kind: str, period: int, message: str) -> SubscriptionAlert:
        return SubscriptionAlert(type=kind, period=period, message=message, raised_at=workflow.now())  # type: ignore[arg-type]

    @workflow.update
    def change(self, change: Change) -> SubscriptionState:
        rules.apply(self._state, change, workflow.now())
        self._changed = True
        return self._state

    @change.validator
    def _validate_change(self, change: Change) -> None:
        refusal = rules.refusal(self._state, change)
        if refusal is not None:
            raise ApplicationError(refusal.message, type=refusal.rule, non_retryable=True)

    @workflow.query
    def view(self) -> SubscriptionState:
        return self._state
