"""Money you can trust, as a stateful property: any sequence of placements (every payment mode), Head Office
actions, store events, gateway declines and unknown outcomes keeps the books straight at every step.

The rules run in tests/models/pure_shell.py (the workflow's funnel without Temporal) against a gateway that keeps
its own books by idempotency key. Invariants, checked after every step:
- `paid` is exactly the money that moved in (gateway captures and sales, plus what the channel, the till or the
  bank took), and `refunded` exactly what moved out (or was instructed);
- no refund exceeds its payment: per payment, refunds never pass what it took, and the gateway is never asked to
  refund more than its capture has left;
- when nothing is in flight (queued, running or without an answer), Baton never keeps more than the order comes
  to (unless a refund was declined and Head Office decides);
- once the order is final and settled, money in minus money out equals what the customer owes for what they
  received: the collected lines (less discounts and goodwill, plus charges), or the fee of an uncollected order.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from models.catalogue import Product
from models.intervention_commands import (
    AddItem,
    AddNote,
    ApproveOrder,
    CancelLines,
    CancelOrder,
    ChangeVariant,
    ConfirmPayment,
    IssueRefund,
    LineQuantity,
    NewLine,
    OverridePayment,
    RejectOrder,
    ReleaseHold,
    RetryPayment,
    TakePayment,
)
from models.money import Money
from models.order import OrderStatus, StoreEvent, StoreEventType
from models.payment_policy import PaymentPolicy
from models.placement import new_order
from models.placing import PlaceOrder
from tests.models.factories import T0
from tests.models.pure_shell import Books, FakeGateway, PureShell

PRODUCTS = {
    "TEE-WHI-M": Product(
        sku="TEE-WHI-M", style="TEE", name="Tee", size="M", colour="white", price=Money(amount=1500, currency="GBP")
    ),
    "TEE-WHI-L": Product(
        sku="TEE-WHI-L", style="TEE", name="Tee", size="L", colour="white", price=Money(amount=1800, currency="GBP")
    ),
    "JEAN-IND-32": Product(
        sku="JEAN-IND-32",
        style="JEAN",
        name="Jeans",
        size="32",
        colour="indigo",
        price=Money(amount=4500, currency="GBP"),
    ),
}
TOTAL = 1500 * 2 + 4500
MODES = ["prepaid", "auth_capture", "authorise", "offline", "on_collection", "gift_card+authorise"]
OUTCOMES = st.sampled_from(["approve", "approve", "decline", "unknown_booked", "unknown_lost"])
HO = {"reason": "property", "actor": "ho:test"}


def _gbp(amount: int) -> dict:
    return {"amount": amount, "currency": "GBP"}


def _payments(mode: str, discount: int) -> dict:
    total = TOTAL - discount
    if mode == "gift_card+authorise":
        return {
            "payments": [
                {"mode": "auth_capture", "method": "gift_card", "amount": _gbp(1000), "token": "gc"},
                {"mode": "authorise", "method": "card", "amount": _gbp(total - 1000), "token": "tok"},
            ]
        }
    payment: dict = {"mode": mode, "method": "card", "amount": _gbp(total)}
    if mode in ("auth_capture", "authorise"):
        payment["token"] = "tok"
    if mode == "prepaid":
        payment["reference"] = "PSP-1"
    return {"payment": payment}


class MoneyMachine(RuleBasedStateMachine):
    @initialize(
        mode=st.sampled_from(MODES),
        discount=st.sampled_from([0, 500]),
        approval=st.booleans(),
        fee=st.sampled_from([0, 300]),
        first=st.lists(OUTCOMES, max_size=2),
    )
    def place(self, mode: str, discount: int, approval: bool, fee: int, first: list[str]) -> None:
        order = PlaceOrder.model_validate(
            {
                "web_reference": "W1",
                "channel": "web",
                "customer": {"id": "C1", "name": "Ada", "email": "ada@example.com"},
                "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
                "lines": [
                    {"sku": "TEE-WHI-M", "quantity": 2, "unit_price": _gbp(1500)},
                    {"sku": "JEAN-IND-32", "quantity": 1, "unit_price": _gbp(4500)},
                ],
                "loyalty_offers": [{"code": "X", "discount": _gbp(discount)}] if discount else [],
                **_payments(mode, discount),
            }
        )
        policy = PaymentPolicy(approval_channels=["web"] if approval else [], uncollected_fee={"GBP": fee})
        state = new_order("100001", order, PRODUCTS, T0, policy)
        self.books = Books()
        self.gateway = FakeGateway(self.books, next_outcomes=list(first))  # type: ignore[arg-type]
        self.shell = PureShell(state, self.gateway, T0)
        self.events = 0

    # ---- the world ------------------------------------------------------------------------------------------

    @rule(outcomes=st.lists(OUTCOMES, min_size=1, max_size=3))
    def gateway_will_answer(self, outcomes: list[str]) -> None:
        self.gateway.next_outcomes.extend(outcomes)  # type: ignore[arg-type]

    @rule(hours=st.sampled_from([1, 6, 30, 24 * 8]))
    def time_passes(self, hours: int) -> None:
        """Deadlines: SLA alerts, reconciliation of unknown outcomes, the collection expiry."""
        self.shell.later(timedelta(hours=hours))

    @rule(down=st.booleans())
    def gateway_down(self, down: bool) -> None:
        self.gateway.down = down

    # ---- the store ------------------------------------------------------------------------------------------

    def _store(self, type_: StoreEventType, **extra: object) -> None:
        self.events += 1
        self.shell.store(
            StoreEvent(event_id=f"e{self.events}", type=type_, store_id="S001", occurred_at=self.shell.now, **extra)
        )

    @rule()
    def acknowledged(self) -> None:
        self._store(StoreEventType.acknowledged)

    @rule(short=st.booleans())
    def picked(self, short: bool) -> None:
        lines = {line.line_id: max(0, line.quantity - (1 if short else 0)) for line in self.shell.state.lines}
        self._store(StoreEventType.picked, picked=lines)

    @rule()
    def collected(self) -> None:
        self._store(StoreEventType.collected)

    @rule()
    def not_collected(self) -> None:
        self._store(StoreEventType.not_collected)

    @rule()
    def update_acknowledged(self) -> None:
        self._store(StoreEventType.update_acknowledged)

    @rule()
    def whole_journey(self) -> None:
        """The happy path in one step, so that completed orders are common enough to check."""
        self._store(StoreEventType.acknowledged)
        self._store(StoreEventType.picked, picked={line.line_id: line.quantity for line in self.shell.state.lines})
        self._store(StoreEventType.collected)

    # ---- Head Office ----------------------------------------------------------------------------------------

    @rule()
    def cancel(self) -> None:
        self.shell.act("cancel_order", CancelOrder(**HO))

    @rule(quantity=st.integers(1, 2))
    def cancel_a_line(self, quantity: int) -> None:
        self.shell.act("cancel_lines", CancelLines(lines=[LineQuantity(line_id="L1", quantity=quantity)], **HO))

    @rule(quantity=st.integers(1, 3))
    def add_item(self, quantity: int) -> None:
        item = NewLine(
            sku="JEAN-IND-32", style="JEAN", size="32", colour="indigo", unit_price=Money(amount=4500, currency="GBP")
        )
        self.shell.act("add_item", AddItem(item=item, quantity=quantity, **HO))

    @rule()
    def dearer_variant(self) -> None:
        variant = NewLine(
            sku="TEE-WHI-L", style="TEE", size="L", colour="white", unit_price=Money(amount=1800, currency="GBP")
        )
        self.shell.act("change_variant", ChangeVariant(line_id="L1", variant=variant, **HO))

    @rule(amount=st.sampled_from([100, 700, 2500]))
    def take_payment(self, amount: int) -> None:
        self.shell.act("take_payment", TakePayment(amount=Money(amount=amount, currency="GBP"), **HO))

    @rule(amount=st.sampled_from([100, 1500, 4000, 9000]))
    def refund(self, amount: int) -> None:
        self.shell.act("refund", IssueRefund(amount=Money(amount=amount, currency="GBP"), **HO))

    @rule()
    def refund_a_line(self) -> None:
        self.shell.act("refund", IssueRefund(lines=[LineQuantity(line_id="L2", quantity=1)], **HO))

    @rule()
    def approve(self) -> None:
        self.shell.act("approve_order", ApproveOrder(**HO))

    @rule()
    def reject(self) -> None:
        self.shell.act("reject_order", RejectOrder(**HO))

    @rule()
    def confirm_money(self) -> None:
        waiting = sum(p.amount.amount for p in self.shell.state.payments if p.status in ("awaiting", "due"))
        if self.shell.act("confirm_payment", ConfirmPayment(reference="BANK-1", **HO)) is None:
            self.books.outside_in += waiting  # Head Office saw it arrive in the bank

    @rule(token=st.sampled_from([None, "tok2"]))
    def retry(self, token: str | None) -> None:
        self.shell.act("retry_payment", RetryPayment(token=token, **HO))

    @rule()
    def settle_by_hand(self) -> None:
        failed = [p for p in self.shell.state.payments if p.status in ("capture_failed", "declined")]
        if self.shell.act("override_payment", OverridePayment(reference="PDQ-1", **HO)) is None:
            self.books.outside_in += sum(p.amount.amount for p in failed)

    @rule()
    def release(self) -> None:
        self.shell.act("release_hold", ReleaseHold(**HO))

    @rule()
    def note(self) -> None:
        self.shell.act("add_note", AddNote(text="called", actor="ho:test"))

    # ---- invariants -----------------------------------------------------------------------------------------

    @invariant()
    def paid_is_money_that_moved(self) -> None:
        """Never more; exactly, unless a gateway call has no answer yet (it may have moved money)."""
        state = self.shell.state
        moved_in = self.books.gateway_in + self.books.outside_in
        moved_out = self.books.gateway_out + self.books.instructed_out
        assert state.paid().amount <= moved_in, self._story()
        assert state.refunded().amount <= moved_out, self._story()
        if not state.unknown_operations():
            assert state.paid().amount == moved_in, self._story()
            assert state.refunded().amount == moved_out, self._story()

    @invariant()
    def no_refund_exceeds_its_payment(self) -> None:
        state = self.shell.state
        for payment in state.payments:
            assert state.refunded_of(payment.payment_id) <= payment.moved_in, self._story()
        assert self.books.over_refunds == 0, self._story()

    @invariant()
    def never_keeps_more_than_owed(self) -> None:
        state = self.shell.state
        held = any(a.is_open and a.type.value == "refund_failed" for a in state.alerts)
        # In flight includes an operation without an answer: a refund that may have moved money is given back
        # (or asked again) only once its outcome is known, so what is kept is judged then.
        in_flight = not self.shell.quiet or state.unknown_operations()
        if not in_flight and not held and state.cleared_at is not None:
            assert state.kept().amount <= state.total().amount, self._story()

    @precondition(lambda self: self.shell.state.is_final)
    @invariant()
    def settled_orders_net_what_is_owed(self) -> None:
        state = self.shell.state
        unsettled = (
            state.operations
            or any(p.status in ("capture_failed", "declined", "pending") for p in state.payments)
            or any(r.status == "declined" for r in state.refunds)
        )
        if unsettled:
            return
        event(f"settled {state.status} with {len(state.payments)} payments, {len(state.refunds)} refunds")
        net = (self.books.gateway_in + self.books.outside_in) - (self.books.gateway_out + self.books.instructed_out)
        owed = state.total().amount
        if state.status == OrderStatus.cancelled:  # everything goes back but a fee on an uncollected order
            fees = sum(c.amount.amount for c in state.charges if not c.cancelled)
            assert owed == max(0, fees - sum(a.amount.amount for a in state.adjustments)), self._story()
        assert net == owed, self._story()

    def _story(self) -> str:
        state = self.shell.state
        lines = [
            f"status {state.status} total {state.total()} paid {state.paid()} refunded {state.refunded()}",
            f"books {self.books}",
        ]
        lines += [f"  {p.payment_id} {p.mode} {p.status} {p.amount} moved {p.moved_in}" for p in state.payments]
        lines += [f"  {r.refund_id} {r.payment_id} {r.status} {r.amount}" for r in state.refunds]
        lines += [f"  op {op.operation_id} {op.status} {op.amount}" for op in state.operations]
        lines += [f"  {h.action}: {h.detail}" for h in state.history[-12:]]
        return "\n".join(lines)


MoneyMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("BATON_PROPERTY_EXAMPLES", "300")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMoney = MoneyMachine.TestCase


def test_a_small_refund_after_a_declined_one_gives_back_the_rest_once_its_outcome_is_known():
    """Found by the machine: a declined refund, Head Office refunds less than it while the gateway is down (no
    answer). Nothing is kept beyond the total once the outcome is known: the rest is refunded then."""
    machine = MoneyMachine()
    machine.place(mode="auth_capture", discount=0, approval=False, fee=0, first=["approve", "decline"])
    machine.cancel_a_line(quantity=1)
    machine.gateway_down(down=True)
    machine.time_passes(hours=1)
    machine.refund(amount=100)
    machine.never_keeps_more_than_owed()
    machine.gateway_down(down=False)
    machine.time_passes(hours=6)
    state = machine.shell.state
    assert not state.unknown_operations() and machine.shell.quiet
    assert state.kept().amount == state.total().amount == 6000
    machine.paid_is_money_that_moved()
    machine.never_keeps_more_than_owed()
    machine.teardown()
