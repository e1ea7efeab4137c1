"""Properties of the pure invoicing rules (models/invoicing.py) over random orders and queues: net + tax = gross on
every line and invoice, an order's invoices never total more than the order, and the final invoice credits every
earlier invoice exactly once and invoices the whole order."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models import invoicing, queues
from models.invoice_documents import Invoice, InvoiceKind
from models.money import BASIS_POINTS, Money
from models.order import OrderLine, OrderState, OrderStatus
from models.payments import Charge, PaymentRecord
from models.placing import LoyaltyOffer
from models.queues import InvoicingModel, Milestone, Queue, QueueEvent, QueueSettings, QueueStage
from tests.models.factories import T0, make_state

RATES = st.one_of(st.sampled_from([0, 500, 2000, 2100, 10_000]), st.integers(0, 10_000))


def gbp(amount: int) -> Money:
    return Money(amount=amount, currency="GBP")


@st.composite
def orders(draw: st.DrawFn) -> OrderState:
    lines = [
        OrderLine(
            line_id=f"L{i}",
            sku=f"SKU-{i}",
            style="TEE",
            size="M",
            colour="white",
            quantity=draw(st.integers(1, 5)),
            unit_price=gbp(draw(st.integers(0, 50_000))),
            tax_rate_bp=draw(RATES),
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]
    gross = sum(line.total.amount for line in lines)
    discount = draw(st.integers(0, gross))
    offers = [LoyaltyOffer(code="O1", discount=gbp(discount))] if discount else []
    charges = [
        Charge(charge_id=f"C{i}", amount=gbp(draw(st.integers(0, 5_000))), reason="fee", actor="ho", at=T0,
               tax_rate_bp=draw(RATES))
        for i in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    return make_state(OrderStatus.acknowledged, lines=lines, loyalty_offers=offers, charges=charges)


@st.composite
def milestone_queues(draw: st.DrawFn) -> Queue:
    count = draw(st.integers(1, 5))
    left = BASIS_POINTS
    stages = []
    for i in range(count):
        if draw(st.booleans()):
            share = draw(st.integers(0, left))
            left -= share
            milestone = Milestone(percent_bp=share) if share else None
        else:
            milestone = Milestone(amount=gbp(draw(st.integers(0, 200_000))))
        stages.append(QueueStage(name=f"s{i}", event=QueueEvent.placed, milestone=milestone))
    return Queue(name="q", stages=stages, invoicing=InvoicingModel.milestone)


def _issue(state: OrderState, numbers: list[int]) -> list[Invoice]:
    """Issue what is due, numbered in sequence, as the activity would."""
    issued = []
    for draft in invoicing.due(state):
        numbers.append(numbers[-1] + 1)
        issued.append(Invoice(**draft.model_dump(), number=numbers[-1], issued_at=T0))
    invoicing.record_issued(state, issued, T0)
    return issued


def _balanced(invoice: Invoice) -> bool:
    return all(line.net + line.tax == line.gross for line in invoice.lines) and (
        invoice.net + invoice.tax == invoice.gross
    )


def _order_amount(state: OrderState) -> int:
    return sum(item.gross for item in invoicing.items(state))


@settings(max_examples=150, deadline=None)
@given(orders(), milestone_queues(), st.lists(st.integers(0, 100_000), max_size=2), st.booleans())
def test_milestone_invoices_balance_never_pass_the_order_and_the_final_credits_each_once(
    state: OrderState, queue: Queue, taken: list[int], completed: bool
) -> None:
    state.queue = queues.lock(QueueSettings(queues=[queue], rules=[queues.QueueRule(queue="q")]), "web", "x")
    assert state.queue is not None
    numbers = [0]
    whole = _order_amount(state)
    for index, stage in enumerate(state.queue.stages):
        stage.reached_at = T0 + timedelta(minutes=index)
        if index < len(taken):  # Head Office took a payment: an ad hoc milestone invoice
            state.payments.append(
                PaymentRecord(payment_id=f"P{index}", mode="charge", method="card", amount=gbp(taken[index]))
            )
        _issue(state, numbers)
        assert _issue(state, numbers) == []  # asked again: nothing more
        assert sum(invoice.gross for invoice in state.invoices) <= whole
    earlier = list(state.invoices)
    assert all(_balanced(invoice) and invoice.gross > 0 for invoice in earlier)
    state.status = OrderStatus.completed if completed else OrderStatus.cancelled
    final = _issue(state, numbers)
    if not completed and not earlier:
        assert final == []
        return
    [final_invoice] = final
    assert final_invoice.kind is InvoiceKind.final and _balanced(final_invoice)
    for invoice in earlier:  # each credited exactly once, line by line
        credits = [line for line in final_invoice.lines if line.credits_invoice == invoice.number]
        assert len(credits) == len(invoice.lines)
        assert sum(line.gross for line in credits) == -invoice.gross
        assert sum(line.tax for line in credits) == -invoice.tax
    assert sum(invoice.gross for invoice in state.invoices) == (whole if completed else 0)
    assert _issue(state, numbers) == []  # the final invoice is the last


@settings(max_examples=100, deadline=None)
@given(orders())
def test_an_upfront_order_is_invoiced_whole_at_once_and_the_final_invoice_replaces_it(state: OrderState) -> None:
    queue = Queue(name="q", stages=[QueueStage(name="placed", event=QueueEvent.placed)])
    state.queue = queues.lock(QueueSettings(queues=[queue], rules=[queues.QueueRule(queue="q")]), "web", "x")
    numbers = [0]
    whole = _order_amount(state)
    upfront = _issue(state, numbers)
    assert [invoice.gross for invoice in upfront] == ([whole] if whole else [])
    assert all(_balanced(invoice) for invoice in upfront)
    state.status = OrderStatus.completed
    [final] = _issue(state, numbers)
    assert _balanced(final) and final.gross == 0 if upfront else final.gross == whole
    assert sum(invoice.gross for invoice in state.invoices) == whole


def test_a_milestone_changes_nothing_once_reached_and_milestones_never_pass_the_order() -> None:
    too_much = [
        QueueStage(name="a", event=QueueEvent.placed, milestone=Milestone(percent_bp=6000)),
        QueueStage(name="b", event=QueueEvent.ready, milestone=Milestone(percent_bp=5000)),
    ]
    try:
        Queue(name="q", stages=too_much, invoicing=InvoicingModel.milestone)
    except ValueError as error:
        assert "more than 100%" in str(error)
    else:
        raise AssertionError("milestones over 100% accepted")
    state = make_state(OrderStatus.acknowledged)
    fixed = [QueueStage(name="a", event=QueueEvent.placed, milestone=Milestone(amount=gbp(10**9)))]
    queue = Queue(name="q", stages=fixed, invoicing=InvoicingModel.milestone)
    state.queue = queues.lock(QueueSettings(queues=[queue], rules=[queues.QueueRule(queue="q")]), "web", "x")
    assert state.queue is not None
    state.queue.stages[0].reached_at = T0
    [invoice] = invoicing.due(state)
    assert invoice.gross == _order_amount(state) == 7500  # a fixed milestone past the order invoices the order


def test_stages_are_reached_by_the_statuses_the_order_held() -> None:
    queue = queues.lock(
        QueueSettings(
            queues=[
                Queue(
                    name="q",
                    stages=[
                        QueueStage(name=event.value, event=event, point_of_no_return=event is QueueEvent.ready)
                        for event in QueueEvent
                    ],
                )
            ],
            rules=[queues.QueueRule(queue="q", channel="web")],
        ),
        "web",
        "click_and_collect",
    )
    assert queue is not None
    assert queue.current_stage is None
    assert queues.advance(queue, ["received", "awaiting_acknowledgement"], T0) == ["placed"]
    assert queue.current_stage == "placed"
    assert queues.past_point_of_no_return(queue) is None
    assert queues.advance(queue, ["acknowledged"], T0) == ["accepted"]
    assert queues.advance(queue, ["ready_for_collection"], T0) == ["picked", "ready"]
    assert "point of no return" in (queues.past_point_of_no_return(queue) or "")
    assert queues.advance(queue, ["ready_for_collection", "collected"], T0) == ["shipped", "collected", "delivered"]
    assert queues.advance(queue, ["completed"], T0) == ["completed"]
    assert queue.current_stage == "completed"


def test_a_fixed_milestone_in_another_currency_does_not_apply_to_the_order() -> None:
    euros = Milestone(amount=Money(amount=1000, currency="EUR"))
    queue = Queue(
        name="q",
        stages=[QueueStage(name="a", event=QueueEvent.placed, milestone=euros)],
        invoicing=InvoicingModel.milestone,
    )
    state = make_state(OrderStatus.acknowledged)  # in GBP
    state.queue = queues.lock(QueueSettings(queues=[queue], rules=[queues.QueueRule(queue="q")]), "web", "x")
    assert state.queue is not None
    state.queue.stages[0].reached_at = T0
    assert invoicing.due(state) == []
    state.queue.stages[0].milestone = Milestone(amount=gbp(1000))
    assert [draft.gross for draft in invoicing.due(state)] == [1000]
