"""OrderWorkflow: one click & collect order from placement to completion.

Signals: store_event (de-duplicated by event id), store_link_changed (from the store's link monitor,
de-duplicated by change id). Queries: view.
Updates (Head Office, each with a validator): release_hold, cancel_order, cancel_lines, change_variant,
add_item, buy_in_store, move_to_store, switch_to_home_delivery, redirect_stock, prompt_store, add_note,
take_payment, refund.
SLA clocks are durable timers: the main loop sleeps until the next deadline or the next message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities, PaymentTransaction
    from activities.projection import ProjectionActivities
    from activities.stores import StoreActivities, StorePush
    from models import interventions as ho
    from models import journey, settlement, sla
    from models.catalogue import (
        CommitStock,
        DispatchTransfer,
        LineReservation,
        ReceiveTransfer,
        ReserveStock,
        ResizeReservations,
    )
    from models.money import Money
    from models.order import (
        HoldReason,
        Note,
        OrderState,
        OrderStatus,
        PaymentRecord,
        ReleaseHold,
        StoreEvent,
        StoreEventType,
    )
    from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult
    from models.sla import SlaPolicy
    from models.store_link import LinkChange, apply_to_order
    from workflows import search_attributes as sa
from workflows.notifications import OrderNotifier

LEDGER_TIMEOUT = timedelta(seconds=30)
# After collection an order stays open this long for refunds (returns and payments come later).
REFUND_WINDOW = timedelta(days=30)
REFUND_WINDOW_PATCH = "refund-window-after-completion"
STORE_PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)
# Orders placed from this patch on settle payments through gateways (approvals, authorise/capture, offline,
# re-authorisation); orders placed before keep the payment ledger they started with.
PAYMENTS_PATCH = "payment-gateways"
# A gateway that is down is retried a while; a decline is an answer, never retried.
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, state: OrderState) -> None:
        self._state = state
        self._policy = SlaPolicy()
        self._inbox: list[StoreEvent] = []
        self._lock = asyncio.Lock()
        self._changed = False
        # The API starts the workflow with these already set; upsert only when they change.
        self._indexed = (state.status.value, state.has_open_alert)
        self._alerts_counted = len(state.alerts)  # for the baton_sla_alerts_raised metric
        self._notifier = OrderNotifier(state.order_number)  # order events to subscribers and exporters

    @workflow.run
    async def run(self, state: OrderState) -> OrderState:
        async with self._lock:
            await self._project()
            if not _settles() or await self._clear_for_store():
                await self._reserve_and_send()
        while not self._state.is_final:
            await self._wait_for_message_or_deadline()
            async with self._lock:
                while self._inbox:
                    await self._apply_store_event(self._inbox.pop(0))
                await self._enforce_deadlines()
        if self._state.status == OrderStatus.completed and workflow.patched(REFUND_WINDOW_PATCH):
            await self._stay_open_for_refunds()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._notifier.close()
        return self._state

    @workflow.query
    def view(self) -> OrderState:
        return self._state

    @workflow.signal
    def store_event(self, event: StoreEvent) -> None:
        # Dedup at the door: a webhook retried by the store is recorded once.
        if journey.seen(self._state, event.event_id) or any(e.event_id == event.event_id for e in self._inbox):
            return
        self._state.seen_event_ids.append(event.event_id)
        self._inbox.append(event)

    @workflow.signal
    async def store_link_changed(self, change: LinkChange) -> None:
        """The order's store went offline (store_offline alert) or came back online (alert cleared)."""
        async with self._lock:
            if apply_to_order(self._state, change, workflow.now()):
                await self._project()

    @workflow.update
    async def release_hold(self, command: ReleaseHold) -> OrderState:
        async with self._lock:
            now = workflow.now()
            if self._state.hold_reason is HoldReason.short_pick:
                kept = journey.accept_short_pick(self._state, now, command.actor, command.reason)
                await self._resize(kept)
                await self._send_to_store("order_updated")
            else:
                journey.record(self._state, now, command.actor, "hold_released", command.reason)
                await self._reserve_and_send()
            if command.client_note:
                self._state.notes.append(
                    Note(at=now, actor=command.actor, text=command.client_note, client_facing=True)
                )
            await self._project()
            self._changed = True
            return self._state

    @release_hold.validator
    def _validate_release_hold(self, command: ReleaseHold) -> None:
        refusal = journey.refusal_for_release_hold(self._state)
        if refusal:
            raise ApplicationError(refusal, type="order_not_on_hold")

    @workflow.update
    async def cancel_order(self, command: ho.CancelOrder) -> OrderState:
        return await self._intervene(command, ho.refusal_for_cancel_order, ho.apply_cancel_order)

    @cancel_order.validator
    def _validate_cancel_order(self, command: ho.CancelOrder) -> None:
        _refuse(ho.refusal_for_cancel_order(self._state, command))

    @workflow.update
    async def cancel_lines(self, command: ho.CancelLines) -> OrderState:
        return await self._intervene(command, ho.refusal_for_cancel_lines, ho.apply_cancel_lines)

    @cancel_lines.validator
    def _validate_cancel_lines(self, command: ho.CancelLines) -> None:
        _refuse(ho.refusal_for_cancel_lines(self._state, command))

    @workflow.update
    async def change_variant(self, command: ho.ChangeVariant) -> OrderState:
        return await self._intervene(
            command, ho.refusal_for_change_variant, ho.apply_change_variant, ho.needs_for_change_variant
        )

    @change_variant.validator
    def _validate_change_variant(self, command: ho.ChangeVariant) -> None:
        _refuse(ho.refusal_for_change_variant(self._state, command))

    @workflow.update
    async def add_item(self, command: ho.AddItem) -> OrderState:
        return await self._intervene(command, ho.refusal_for_add_item, ho.apply_add_item, ho.needs_for_add_item)

    @add_item.validator
    def _validate_add_item(self, command: ho.AddItem) -> None:
        _refuse(ho.refusal_for_add_item(self._state, command))

    @workflow.update
    async def buy_in_store(self, command: ho.BuyInStore) -> OrderState:
        return await self._intervene(command, ho.refusal_for_buy_in_store, ho.apply_buy_in_store)

    @buy_in_store.validator
    def _validate_buy_in_store(self, command: ho.BuyInStore) -> None:
        _refuse(ho.refusal_for_buy_in_store(self._state, command))

    @workflow.update
    async def move_to_store(self, command: ho.MoveToStore) -> OrderState:
        async with self._lock:
            _refuse(ho.refusal_for_move_to_store(self._state, command))
            await self._reserve_or_refuse(ho.needs_for_move_to_store(self._state, command), command.store_id)
            old_store = self._state.store_id
            effects = ho.apply_move_to_store(self._state, command, workflow.now())
            await self._resize(effects.resize, effects.resize_location)
            await self._send_to_store("order_cancelled", store_id=old_store)
            await self._send_to_store("order_created")
            workflow.upsert_search_attributes([sa.STORE_ID.value_set(self._state.store_id)])
            return await self._changed_view()

    @workflow.update
    async def switch_to_home_delivery(self, command: ho.SwitchToHomeDelivery) -> OrderState:
        async with self._lock:
            _refuse(ho.refusal_for_home_delivery(self._state, command))
            await self._reserve_or_refuse(ho.needs_for_home_delivery(self._state, command), command.from_location)
            effects = ho.apply_home_delivery(self._state, command, workflow.now())
            await self._resize(effects.resize, effects.resize_location)
            await self._send_to_store("order_cancelled")  # the store no longer hands it over
            await self._send_to_store("delivery_created", store_id=command.from_location)
            return await self._changed_view()

    @switch_to_home_delivery.validator
    def _validate_switch_to_home_delivery(self, command: ho.SwitchToHomeDelivery) -> None:
        _refuse(ho.refusal_for_home_delivery(self._state, command))

    @move_to_store.validator
    def _validate_move_to_store(self, command: ho.MoveToStore) -> None:
        _refuse(ho.refusal_for_move_to_store(self._state, command))

    @workflow.update
    async def redirect_stock(self, command: ho.RedirectStock) -> OrderState:
        async with self._lock:
            _refuse(ho.refusal_for_redirect_stock(self._state, command))
            now = workflow.now()
            transfer_id = f"{workflow.info().workflow_id}:transfer:{len(self._state.transfers) + 1}"
            transfer = ho.new_transfer(self._state, command, transfer_id, now)
            await self._ledger_or_refuse(
                InventoryActivities.dispatch_transfer,
                DispatchTransfer(
                    order_number=self._state.order_number,
                    **transfer.model_dump(include={"transfer_id", "sku", "quantity", "from_location", "to_location"}),
                ),
            )
            effects = ho.apply_redirect_stock(self._state, command, transfer, now)
            await self._carry_out(effects, command.actor, command.reason)
            return await self._changed_view()

    @redirect_stock.validator
    def _validate_redirect_stock(self, command: ho.RedirectStock) -> None:
        _refuse(ho.refusal_for_redirect_stock(self._state, command))

    @workflow.update
    async def prompt_store(self, command: ho.PromptStore) -> OrderState:
        return await self._intervene(command, ho.refusal_for_prompt_store, ho.apply_prompt_store)

    @prompt_store.validator
    def _validate_prompt_store(self, command: ho.PromptStore) -> None:
        _refuse(ho.refusal_for_prompt_store(self._state, command))

    @workflow.update
    async def add_note(self, command: ho.AddNote) -> OrderState:
        return await self._intervene(command, ho.refusal_for_add_note, ho.apply_add_note)

    @workflow.update
    async def take_payment(self, command: ho.TakePayment) -> OrderState:
        return await self._intervene(command, ho.refusal_for_take_payment, ho.apply_take_payment)

    @take_payment.validator
    def _validate_take_payment(self, command: ho.TakePayment) -> None:
        _refuse(ho.refusal_for_take_payment(self._state, command))

    @workflow.update
    async def refund(self, command: ho.IssueRefund) -> OrderState:
        return await self._intervene(command, ho.refusal_for_refund, ho.apply_refund, strict_refund=True)

    @refund.validator
    def _validate_refund(self, command: ho.IssueRefund) -> None:
        _refuse(ho.refusal_for_refund(self._state, command))

    # ---- approvals and payments -------------------------------------------------------------

    @workflow.update
    async def approve_order(self, command: ho.ApproveOrder) -> OrderState:
        return await self._clear_and_go(command, ho.refusal_for_approval, ho.apply_approve_order)

    @approve_order.validator
    def _validate_approve_order(self, command: ho.ApproveOrder) -> None:
        _refuse(ho.refusal_for_approval(self._state, command))

    @workflow.update
    async def reject_order(self, command: ho.RejectOrder) -> OrderState:
        return await self._intervene(command, ho.refusal_for_approval, ho.apply_reject_order)

    @reject_order.validator
    def _validate_reject_order(self, command: ho.RejectOrder) -> None:
        _refuse(ho.refusal_for_approval(self._state, command))

    @workflow.update
    async def confirm_payment(self, command: ho.ConfirmPayment) -> OrderState:
        return await self._clear_and_go(command, ho.refusal_for_confirm_payment, ho.apply_confirm_payment)

    @confirm_payment.validator
    def _validate_confirm_payment(self, command: ho.ConfirmPayment) -> None:
        _refuse(ho.refusal_for_confirm_payment(self._state, command))

    @workflow.update
    async def retry_payment(self, command: ho.RetryPayment) -> OrderState:
        return await self._clear_and_go(command, ho.refusal_for_retry_payment, ho.apply_retry_payment)

    @retry_payment.validator
    def _validate_retry_payment(self, command: ho.RetryPayment) -> None:
        _refuse(ho.refusal_for_retry_payment(self._state, command))

    @workflow.update
    async def override_payment(self, command: ho.OverridePayment) -> OrderState:
        async with self._lock:
            _refuse(ho.refusal_for_override_payment(self._state, command))
            state = self._state
            settlement.override(
                state, command.payment_id, command.reference, command.actor, command.reason, workflow.now()
            )
            if state.hold_reason is HoldReason.payment_declined and settlement.is_cleared(state):
                await self._go_ahead_once_paid()
            return await self._changed_view()

    @override_payment.validator
    def _validate_override_payment(self, command: ho.OverridePayment) -> None:
        _refuse(ho.refusal_for_override_payment(self._state, command))

    async def _clear_and_go(self, command, refusal_for, apply) -> OrderState:  # type: ignore[no-untyped-def]
        """Approve, confirm an offline payment, or retry a declined one: then pay and go to the store."""
        async with self._lock:
            _refuse(refusal_for(self._state, command))
            apply(self._state, command, workflow.now())
            await self._go_ahead_once_paid()
            return await self._changed_view()

    async def _clear_for_store(self) -> bool:
        """Approval first, then payment: True when the order may go to the store now."""
        state = self._state
        if state.approval_reason:
            journey.transition(
                state,
                OrderStatus.awaiting_approval,
                workflow.now(),
                journey.SYSTEM,
                "approval_required",
                state.approval_reason,
            )
            await self._project()
            return False
        return await self._take_payments()

    async def _go_ahead_once_paid(self) -> None:
        if await self._take_payments():
            await self._reserve_and_send()

    async def _take_payments(self) -> bool:
        """Take or authorise what is still pending; True when nothing blocks the order any more."""
        state = self._state
        for payment in settlement.to_take_at_placement(state):
            result = await self._gateway(payment, settlement.placement_kind(payment), payment.amount)
            settlement.apply_gateway_result(
                state, payment, result, state.payment_policy, workflow.now(), journey.SYSTEM
            )
            if not result.approved:
                break
        now = workflow.now()
        declined = settlement.declined(state)
        if declined:
            reason = "; ".join(f"{p.payment_id} {p.method} declined: {p.detail}" for p in declined)
            if state.payment_policy.on_decline == "cancel":
                journey.transition(state, OrderStatus.cancelled, now, journey.SYSTEM, "payment_declined", reason)
                if state.refundable().amount:  # stored value taken before the card was declined goes back
                    await self._refund(state.refundable(), journey.SYSTEM, "payment declined")
                await self._settle_cancellation(journey.SYSTEM, "payment declined")
            elif state.status == OrderStatus.on_hold:
                journey.record(state, now, journey.SYSTEM, "still_declined", reason)
            else:
                journey.hold(state, HoldReason.payment_declined, now, journey.SYSTEM, reason)
            await self._project()
            return False
        if settlement.awaiting_offline_payment(state):
            journey.transition(
                state,
                OrderStatus.awaiting_payment,
                now,
                journey.SYSTEM,
                "awaiting_payment",
                "offline payment to confirm",
            )
            await self._project()
            return False
        if any(p.status in ("taken", "captured", "authorised") for p in state.payments):
            journey.record(state, now, journey.SYSTEM, "payment_confirmed", settlement.confirmation(state))
        return True

    async def _gateway(
        self,
        payment: PaymentRecord,
        kind: GatewayOperationKind,
        amount: Money,
        reference: str | None = None,
        actor: str = journey.SYSTEM,
    ) -> GatewayResult:
        """One money movement at the payment's gateway, under an idempotency key only this operation has."""
        state = self._state
        state.gateway_operations += 1
        operation_id = f"{workflow.info().workflow_id}:{kind}:{state.gateway_operations}"
        request = GatewayRequest(
            operation_id=operation_id,
            order_number=state.order_number,
            kind=kind,
            gateway=payment.gateway or "test",
            method=payment.method,
            amount=amount,
            token=payment.token if kind in (GatewayOperationKind.authorise, GatewayOperationKind.sale) else None,
            reference=reference,
            actor=actor,
        )
        try:
            return await workflow.execute_activity_method(
                PaymentActivities.call_gateway,
                request,
                start_to_close_timeout=state.payment_policy.gateway_timeout,
                retry_policy=GATEWAY_RETRY,
            )
        except ActivityError as error:
            # The gateway stayed unreachable through every retry: an answer for the order, not a crash.
            cause = error.cause.message if error.cause else str(error)
            return GatewayResult(
                operation_id=operation_id,
                kind=kind,
                approved=False,
                detail=f"gateway error: {cause}",
                amount=amount,
                at=workflow.now(),
            )

    async def _settle_at_handover(self, reference: str, actor: str) -> None:
        """Capture what was authorised (or void what is no longer needed) and take payment due at handover."""
        state = self._state
        for payment, amount in settlement.captures_at_handover(state):
            if amount.amount == 0:
                result = await self._gateway(
                    payment, GatewayOperationKind.void, payment.amount, payment.authorisation_reference
                )
            else:
                result = await self._gateway(
                    payment, GatewayOperationKind.capture, amount, payment.authorisation_reference
                )
            settlement.apply_gateway_result(
                state, payment, result, state.payment_policy, workflow.now(), journey.SYSTEM
            )
        if settlement.take_due_at_handover(state, reference, actor, workflow.now()):
            journey.record(state, workflow.now(), actor, "payment_confirmed", settlement.confirmation(state))

    async def _settle_cancellation(self, actor: str, reason: str) -> None:
        """A cancelled order holds no authorisation: each is voided (refunds are the cancelling rule's)."""
        state = self._state
        for payment in settlement.to_void(state):
            result = await self._gateway(
                payment, GatewayOperationKind.void, payment.amount, payment.authorisation_reference, actor
            )
            settlement.apply_gateway_result(state, payment, result, state.payment_policy, workflow.now(), actor)

    async def _refund(self, amount: Money, actor: str, reason: str) -> list[str]:
        """Refund through the gateway that took the money (card first, stored value last); money taken outside
        a gateway is refunded in the ledger. Returns what was declined."""
        state, declined = self._state, []
        for payment, part in settlement.refund_plan(state, amount):
            if payment.gateway and payment.status == "captured":
                result = await self._gateway(payment, GatewayOperationKind.refund, part, payment.reference, actor)
                if not result.approved:
                    declined.append(f"{payment.payment_id} {part}: {result.detail}")
                    journey.record(state, workflow.now(), actor, "refund_declined", declined[-1])
                    continue
                reference = result.reference
            else:
                state.gateway_operations += 1
                reference = await workflow.execute_local_activity_method(
                    PaymentActivities.record_payment_transaction,
                    PaymentTransaction(
                        transaction_id=f"{workflow.info().workflow_id}:refund:{state.gateway_operations}",
                        order_number=state.order_number,
                        kind="refund",
                        method=payment.method,
                        amount=part,
                        actor=actor,
                    ),
                    start_to_close_timeout=LEDGER_TIMEOUT,
                )
            settlement.record_refund(state, payment, part, reference, actor, reason, workflow.now())
        return declined

    async def _reauthorise_before_lapse(self) -> bool:
        state, changed = self._state, False
        for payment in settlement.to_reauthorise(state, workflow.now()):
            result = await self._gateway(payment, GatewayOperationKind.authorise, payment.amount)
            old = settlement.reauthorised(state, payment, result, state.payment_policy, workflow.now())
            if old:
                # The new authorisation is in place: release the old one rather than let it hold funds.
                void = await self._gateway(payment, GatewayOperationKind.void, payment.amount, old)
                detail = (
                    f"{payment.payment_id} previous authorisation {old}: {'voided' if void.approved else void.detail}"
                )
                journey.record(state, workflow.now(), journey.SYSTEM, "authorisation_replaced", detail)
            changed = True
        return changed

    # ---- interventions: one path for all of them ---------------------------------------------

    async def _intervene(self, command, refusal_for, apply, needs=None, strict_refund=False) -> OrderState:  # type: ignore[no-untyped-def]
        async with self._lock:
            # Checked again under the lock: a concurrent intervention may have changed the order since the
            # validator ran (two users refunding the same money, spending the same stock).
            _refuse(refusal_for(self._state, command))
            if needs is not None:
                await self._reserve_or_refuse(needs(self._state, command), self._state.store_id)
            effects = apply(self._state, command, workflow.now())
            effects.strict_refund = strict_refund
            await self._carry_out(effects, command.actor, getattr(command, "reason", ""))
            return await self._changed_view()

    async def _changed_view(self) -> OrderState:
        await self._project()
        self._changed = True
        return self._state

    async def _reserve_or_refuse(self, lines: list[LineReservation], location_id: str) -> None:
        outcome = await workflow.execute_local_activity_method(
            InventoryActivities.reserve_stock,
            ReserveStock(order_number=self._state.order_number, location_id=location_id, lines=lines),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )
        if not outcome.reserved:
            raise ApplicationError(outcome.detail, type="stock_shortage")

    async def _ledger_or_refuse(self, activity, request) -> None:  # type: ignore[no-untyped-def]
        try:
            await workflow.execute_local_activity_method(activity, request, start_to_close_timeout=LEDGER_TIMEOUT)
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError):
                raise ApplicationError(error.cause.message, type=error.cause.type) from error
            raise

    async def _carry_out(self, effects: ho.Effects, actor: str, reason: str) -> None:
        if effects.resize:
            await self._resize(effects.resize, effects.resize_location)
        if effects.refund is not None and _settles():
            declined = await self._refund(effects.refund, actor, reason)
            if declined and effects.strict_refund:
                await self._project()
                raise ApplicationError(f"refund declined: {'; '.join(declined)}", type="refund_declined")
        elif effects.refund is not None:
            await self._move_money("refund", effects.refund, actor, reason)
        if _settles() and self._state.status == OrderStatus.cancelled:
            await self._settle_cancellation(actor, reason)
        if effects.charge is not None:
            await self._move_money("payment", effects.charge, actor, reason)
        if effects.store_message:
            await self._send_to_store(effects.store_message)

    async def _move_money(self, kind: str, amount: Money, actor: str, reason: str) -> None:
        state = self._state
        count = len(state.refunds if kind == "refund" else state.payments) + 1
        method = state.payments[0].method if state.payments else "manual"
        reference = await workflow.execute_local_activity_method(
            PaymentActivities.record_payment_transaction,
            PaymentTransaction(
                transaction_id=f"{workflow.info().workflow_id}:{kind}:{count}",
                order_number=state.order_number,
                kind=kind,  # type: ignore[arg-type]
                method=method,
                amount=amount,
                actor=actor,
            ),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )
        now = workflow.now()
        if kind == "refund":
            ho.record_refund(state, amount, reference, actor, reason, now)
        else:
            state.payments.append(
                PaymentRecord(
                    mode="head_office", method=method, amount=amount, at=now, actor=actor, reference=reference
                )
            )
            journey.record(state, now, actor, "payment_taken", f"{amount} ({reference})")

    async def _stay_open_for_refunds(self) -> None:
        """Completed orders accept refunds and notes for a while; late store events are recorded."""
        deadline = workflow.now() + REFUND_WINDOW
        while workflow.now() < deadline:
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=deadline - workflow.now())
            except TimeoutError:
                return
            async with self._lock:
                while self._inbox:
                    await self._apply_store_event(self._inbox.pop(0))

    # ---- steps -------------------------------------------------------------------------------

    async def _wait_for_message_or_deadline(self) -> None:
        wakeup = min(
            (
                due
                for due in (sla.next_wakeup(self._state, self._policy), settlement.reauthorisation_due(self._state))
                if due
            ),
            default=None,
        )
        timeout = None if wakeup is None else wakeup - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: bool(self._inbox) or self._changed, timeout=timeout)
        except TimeoutError:
            pass
        self._changed = False

    async def _reserve_and_send(self) -> None:
        state = self._state
        outcome = await workflow.execute_local_activity_method(
            InventoryActivities.reserve_stock,
            ReserveStock(
                order_number=state.order_number,
                location_id=state.store_id,
                lines=[LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in state.lines],
            ),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )
        now = workflow.now()
        if not outcome.reserved:
            if state.status == OrderStatus.on_hold:
                journey.record(state, now, journey.SYSTEM, "still_short", outcome.detail)
            else:
                journey.hold(state, HoldReason.stock_shortage, now, journey.SYSTEM, outcome.detail)
            await self._project()
            return
        journey.record(state, now, journey.SYSTEM, "stock_reserved", f"at {state.store_id}")
        await self._send_to_store("order_created")
        journey.transition(state, OrderStatus.awaiting_acknowledgement, workflow.now(), journey.SYSTEM, "sent_to_store")
        await self._project()

    async def _apply_store_event(self, event: StoreEvent) -> None:
        state, now = self._state, workflow.now()
        actor = journey.store_actor(event.store_id)
        refusal = journey.refusal_for_store_event(state, event)
        if refusal:
            journey.record_store_exception(state, event, refusal, now)
        elif event.type is StoreEventType.acknowledged:
            journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged")
        elif event.type is StoreEventType.picked:
            if state.status == OrderStatus.awaiting_acknowledgement:
                journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged", "implied by pick")
            short = journey.record_pick(state, event.picked)
            if short:
                journey.hold(state, HoldReason.short_pick, now, actor, f"picked short: {', '.join(short)}")
            else:
                journey.transition(
                    state, OrderStatus.ready_for_collection, now, actor, "picked", "customer told the order is ready"
                )
        elif event.type is StoreEventType.collected:
            journey.transition(state, OrderStatus.collected, now, actor, "collected")
            await workflow.execute_local_activity_method(
                InventoryActivities.commit_stock,
                CommitStock(order_number=state.order_number),
                start_to_close_timeout=LEDGER_TIMEOUT,
            )
            if _settles():
                await self._settle_at_handover(event.event_id, actor)
            journey.transition(state, OrderStatus.completed, workflow.now(), journey.SYSTEM, "completed")
        elif event.type is StoreEventType.not_collected:
            await self._resize({line.line_id: 0 for line in state.lines})
            journey.transition(state, OrderStatus.cancelled, now, actor, "not_collected", "stock released")
            if _settles():
                await self._settle_cancellation(actor, "not collected")
        elif event.type is StoreEventType.update_acknowledged:
            journey.acknowledge_store_update(state, now, event.store_id)
        elif event.type is StoreEventType.transfer_received:
            await self._receive_transfer(event)
        elif event.type is StoreEventType.dispatched:
            await workflow.execute_local_activity_method(
                InventoryActivities.commit_stock,
                CommitStock(order_number=state.order_number, location_id=event.store_id),
                start_to_close_timeout=LEDGER_TIMEOUT,
            )
            if _settles():
                await self._settle_at_handover(event.event_id, actor)
            state.dispatched_at = now
            journey.transition(state, OrderStatus.completed, now, actor, "dispatched", "on its way to the customer")
        await self._project()

    async def _receive_transfer(self, event: StoreEvent) -> None:
        state = self._state
        refusal = ho.receive_transfer(state, event.transfer_id or "", event.store_id, workflow.now())
        if refusal:
            journey.record_store_exception(state, event, refusal.message, workflow.now())
            return
        await workflow.execute_local_activity_method(
            InventoryActivities.receive_transfer,
            ReceiveTransfer(transfer_id=event.transfer_id or ""),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )
        if state.status == OrderStatus.awaiting_transfer and not state.pending_transfers():
            await self._reserve_and_send()

    async def _enforce_deadlines(self) -> None:
        state, now = self._state, workflow.now()
        breaches = sla.breached(state, self._policy, now)
        for alert_type in breaches:
            limit = getattr(self._policy, alert_type.value)
            journey.raise_alert(state, alert_type, now, f"SLA of {limit} breached")
        expiry = sla.collection_deadline(state, self._policy)
        if expiry is not None and expiry <= now:
            await self._resize({line.line_id: 0 for line in state.lines})
            journey.transition(
                state,
                OrderStatus.cancelled,
                now,
                journey.SYSTEM,
                "collection_expired",
                f"not collected within {self._policy.collection_expiry}; stock released",
            )
            if _settles():
                await self._settle_cancellation(journey.SYSTEM, "collection expired")
        reauthorised = _settles() and await self._reauthorise_before_lapse()
        if breaches or state.is_final or reauthorised:
            await self._project()

    async def _resize(self, targets: dict[str, int], location_id: str | None = None) -> None:
        await workflow.execute_local_activity_method(
            InventoryActivities.resize_reservations,
            ResizeReservations(order_number=self._state.order_number, targets=targets, location_id=location_id),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )

    async def _send_to_store(self, message_type: str, store_id: str | None = None) -> None:
        state = self._state
        state.store_pushes += 1
        push = StorePush(
            event_id=f"{workflow.info().workflow_id}:push:{state.store_pushes}",
            type=message_type,
            order=state,
            store_id=store_id,
        )
        try:
            delivery = await workflow.execute_activity_method(
                StoreActivities.push_to_store,
                push,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_PUSH_RETRY,
            )
            detail = f"{message_type} delivered to {delivery.url}" if delivery.delivered else delivery.detail
            journey.record(state, workflow.now(), journey.SYSTEM, "store_notified", detail)
        except ActivityError as error:
            # The store's SLA clocks still run: an unreachable store shows up as a not_acknowledged alert.
            cause = error.cause.message if error.cause else str(error)
            journey.record(state, workflow.now(), journey.SYSTEM, "store_push_failed", f"{message_type}: {cause}")

    def _count_raised_alerts(self) -> None:
        """Metrics only: no command, so recorded histories still replay; the SDK skips them while replaying."""
        raised = self._state.alerts[self._alerts_counted :]
        if raised:
            counter = workflow.metric_meter().create_counter("baton_sla_alerts_raised", "Alerts raised on orders")
            for alert in raised:
                counter.add(1, {"type": alert.type.value})
            self._alerts_counted = len(self._state.alerts)

    async def _project(self) -> None:
        self._count_raised_alerts()  # every change to the order is projected, so every new alert passes here
        self._policy = await workflow.execute_local_activity_method(
            ProjectionActivities.project_order, self._state, start_to_close_timeout=LEDGER_TIMEOUT
        )
        indexed = (self._state.status.value, self._state.has_open_alert)
        if indexed != self._indexed:
            self._indexed = indexed
            workflow.upsert_search_attributes(
                [sa.ORDER_STATUS.value_set(indexed[0]), sa.HAS_ALERT.value_set(indexed[1])]
            )
        await self._notifier.publish_new_events(self._state)  # after the projection: receivers may read it back


def _settles() -> bool:
    """True for orders that settle payments through gateways (memoised by the SDK after the first call)."""
    return workflow.patched(PAYMENTS_PATCH)


def _refuse(refusal: ho.Refusal | None) -> None:
    """Refuse an update: from a validator it leaves no trace in history; the API answers 409 with the rule."""
    if refusal is not None:
        raise ApplicationError(refusal.message, type=refusal.rule)
