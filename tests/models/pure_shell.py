"""The order workflow's shell without Temporal, for property tests of the rules: the same funnel (a rule decides,
clearance goes on, stock is reserved, money moves between messages) against an in-memory gateway and books."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from models import clearance, deadlines, operations, settlement, store_events
from models.actions import BY_NAME
from models.catalogue import ReservationOutcome
from models.effects import Effects, Refusal
from models.order import OrderState, StoreEvent
from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult, MoneyOperation
from models.sla import SlaPolicy

Outcome = Literal["approve", "decline", "unknown_booked", "unknown_lost"]
Kind = GatewayOperationKind


@dataclass
class Books:
    """Money as the world saw it move: the gateway's, the channel's, the till's and the bank's."""

    gateway_in: int = 0
    gateway_out: int = 0
    outside_in: int = 0  # prepaid by the channel, taken at the till, confirmed by Head Office
    instructed_out: int = 0
    over_refunds: int = 0  # refunds asked beyond what their capture had left: must stay 0


@dataclass
class FakeGateway:
    """Keeps books by idempotency key like a real gateway: asking again under the same key gets the same answer."""

    books: Books
    next_outcomes: list[Outcome] = field(default_factory=list)
    answered: dict[str, GatewayResult] = field(default_factory=dict)
    captured: dict[str, int] = field(default_factory=dict)  # capture/sale reference -> amount left to refund
    authorised: dict[str, int] = field(default_factory=dict)  # authorisation reference -> amount left to capture
    down: bool = False

    def call(self, request: GatewayRequest, now: datetime) -> GatewayResult | None:
        if request.operation_id in self.answered:
            return None if self.down else self.answered[request.operation_id]
        if self.down:
            return None
        outcome = self.next_outcomes.pop(0) if self.next_outcomes else "approve"
        if outcome == "unknown_lost":
            return None  # never reached the gateway
        result = self._decide(request, "decline" if outcome == "decline" else "approve", now)
        self.answered[request.operation_id] = result
        return None if outcome == "unknown_booked" else result

    def _decide(self, request: GatewayRequest, outcome: str, now: datetime) -> GatewayResult:
        amount, ref = request.amount.amount, f"ref-{request.operation_id}"
        approved = outcome == "approve"
        if request.kind is Kind.refund:
            left = self.captured.get(request.reference or "", 0)
            if amount > left:
                self.books.over_refunds += 1
                approved = False
            if approved:
                self.captured[request.reference or ""] = left - amount
                self.books.gateway_out += amount
        elif request.kind is Kind.capture:
            left = self.authorised.get(request.reference or "", 0)
            approved = approved and amount <= left
            if approved:
                self.authorised[request.reference or ""] = 0
                self.captured[ref] = amount
                self.books.gateway_in += amount
        elif request.kind is Kind.void:
            approved = self.authorised.get(request.reference or "", 0) > 0
            if approved:
                self.authorised[request.reference or ""] = 0
        elif approved and request.kind is Kind.authorise:
            self.authorised[ref] = amount
        elif approved and request.kind is Kind.sale:
            self.captured[ref] = amount
            self.books.gateway_in += amount
        return GatewayResult(
            operation_id=request.operation_id,
            kind=request.kind,
            approved=approved,
            reference=ref if approved else "",
            detail="" if approved else "declined",
            amount=request.amount,
            at=now,
        )


class PureShell:
    def __init__(self, state: OrderState, gateway: FakeGateway, now: datetime) -> None:
        self.state, self.gateway, self.now = state, gateway, now
        self.policy = SlaPolicy()
        self.stock_short = False
        self.books = gateway.books
        self.books.outside_in += sum(p.moved_in for p in state.payments)  # prepaid by the channel
        self.decide(lambda now: None)
        self.move_money()

    def decide(self, rule: Any) -> None:
        state = self.state
        effects = rule(self.now) or Effects()
        effects.then(clearance.clear_for_store(state, self.now))
        if effects.send_to_store:
            outcome = ReservationOutcome(reserved=not self.stock_short, detail="short" if self.stock_short else "")
            effects.then(clearance.after_reservation(state, outcome, self.now))
        self._count_instructions()

    def act(self, name: str, command: Any) -> Refusal | None:
        action = BY_NAME[name]
        refusal = action.refusal(self.state, command)
        if refusal is None:
            self.decide(lambda now: action.apply(self.state, command, now))
            self.move_money()
        return refusal

    def store(self, event: StoreEvent) -> str | None:
        reason = store_events.refusal(self.state, event)
        if reason is None:
            if event.type.value in ("collected", "dispatched"):
                due = sum(p.amount.amount for p in self.state.payments if p.status == "due")
                self.books.outside_in += due  # the store takes what its view says is due, at the till
            self.decide(lambda now: store_events.apply(self.state, event, now))
            self.move_money()
        return reason

    def later(self, by: timedelta) -> None:
        self.now += by
        self.decide(lambda now: deadlines.on_deadline(self.state, self.policy, now))
        self.move_money()

    def move_money(self) -> None:
        while (operation := operations.next_operation(self.state)) is not None:
            result = self.gateway.call(self._request(operation), self.now)
            if result is None:
                self.decide(lambda now, op=operation: operations.mark_unknown(self.state, op, "no answer", now))
            else:
                self.decide(lambda now, op=operation, r=result: settlement.apply_result(self.state, op, r, now))

    def _request(self, operation: MoneyOperation) -> GatewayRequest:
        payment = self.state.payment(operation.payment_id)
        assert payment is not None
        return GatewayRequest(
            operation_id=operation.operation_id,
            order_number=self.state.order_number,
            kind=operation.kind,
            gateway=payment.gateway or "test",
            method=payment.method,
            amount=operation.amount,
            token=payment.token,
            reference=operation.reference,
        )

    def _count_instructions(self) -> None:
        self.books.instructed_out = sum(r.amount.amount for r in self.state.refunds if r.status == "instructed")

    @property
    def quiet(self) -> bool:
        """No gateway operation waiting to run (unknown ones wait for reconciliation)."""
        return not any(op.status in ("queued", "running") for op in self.state.operations)
