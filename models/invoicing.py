"""Which invoices an order following a queue issues, and when. Pure: the order workflow asks `due` after every change
(workflows/order/invoicing.py), an activity gives each draft its number once (activities/invoices.py).

What "the order" is worth here: what the customer pays for its lines (each after its share of loyalty discounts) and
its charges, split per line by models/tax.py (models/order_tax.py) - goodwill given back later is money returned,
not a smaller invoice. Every invoice line is split on its own gross at its line's locked rate: net + tax = gross on
every line, and an invoice's figures are the sums of its lines'.

By the queue's invoicing model:
- upfront: one invoice for the whole order as soon as it is placed;
- milestone: one per milestone stage reached (its share of the order, or its fixed amount), and one per payment
  Head Office took on the order (an ad hoc milestone, for the money received), never past the whole order;
- progress: one per delivery handed over (shipped or collected), for its lines.
Each ends in a final invoice, issued before the order is recorded complete: it credits every earlier invoice, line
by line and exactly once, and invoices the whole order. A cancelled order's final invoice only credits (when there
is anything to credit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import journey, queues
from models.delivery_stages import further
from models.invoice_documents import Invoice, InvoiceDraft, InvoiceKind, InvoiceLine
from models.order import HistoryEntry, OrderState, OrderStatus
from models.order_tax import order_tax
from models.queues import InvoicingModel, Milestone, OrderQueue, rank_reached
from models.tax import apportion, split_gross

FINAL_KEY = "final"
_HANDED_OVER_RANK = 3  # shipped or collected (models/queues.py)


@dataclass(frozen=True)
class Item:
    """Something the order charges for: a line (after its share of discounts) or a charge."""

    description: str
    line_id: str | None
    quantity: int
    gross: int
    rate_bp: int


def items(state: OrderState) -> list[Item]:
    tax = order_tax(state)
    lines = {line.line_id: line for line in state.lines}
    found = [
        Item(
            f"{lines[line.line_id].sku} {lines[line.line_id].style}",
            line.line_id,
            lines[line.line_id].quantity,
            line.amounts.gross,
            line.rate_bp,
        )
        for line in tax.lines
        if lines[line.line_id].quantity > 0
    ]
    reasons = {charge.charge_id: charge.reason for charge in state.charges}
    found += [
        Item(f"charge: {reasons[charge.charge_id]}", None, 1, charge.amounts.gross, charge.rate_bp)
        for charge in tax.charges
    ]
    return found


def invoice_lines(amount: int, of: list[Item]) -> list[InvoiceLine]:
    """`amount` invoiced over these items in proportion to their value, each share split at its item's rate."""
    shares = apportion(amount, [item.gross for item in of])
    lines = []
    for item, share in zip(of, shares, strict=True):
        if share == 0:
            continue
        split = split_gross(share, item.rate_bp)
        lines.append(
            InvoiceLine(
                description=item.description,
                line_id=item.line_id,
                quantity=item.quantity if share == item.gross else 1,
                tax_rate_bp=item.rate_bp,
                net=split.net,
                tax=split.tax,
                gross=split.gross,
            )
        )
    return lines


def credit_lines(invoice: Invoice) -> list[InvoiceLine]:
    """An earlier invoice credited whole: each of its lines given back, at its own rate and split."""
    return [
        InvoiceLine(
            description=f"credit of invoice {invoice.number}: {line.description}",
            line_id=line.line_id,
            quantity=line.quantity,
            tax_rate_bp=line.tax_rate_bp,
            net=-line.net,
            tax=-line.tax,
            gross=-line.gross,
            credits_invoice=invoice.number,
        )
        for line in invoice.lines
    ]


def due(state: OrderState) -> list[InvoiceDraft]:
    """The invoices the order should issue now, given where it is and what it issued before."""
    queue = state.queue
    if queue is None or any(invoice.key == FINAL_KEY for invoice in state.invoices):
        return []
    if state.status in (OrderStatus.completed, OrderStatus.cancelled):
        final = final_invoice(state, state.invoices, completed=state.status is OrderStatus.completed)
        return [final] if final is not None else []
    charged = items(state)
    budget = sum(item.gross for item in charged) - sum(invoice.gross for invoice in state.invoices)
    issued = {invoice.key for invoice in state.invoices}
    drafts: list[InvoiceDraft] = []
    for key, kind, stage, amount, of in _wanted(state, queue, charged):
        amount = min(amount, budget)
        if key in issued or amount <= 0:
            continue
        lines = invoice_lines(amount, of)
        drafts.append(_draft(state, key, kind, stage, lines))
        budget -= amount
    return drafts


def _wanted(
    state: OrderState, queue: OrderQueue, charged: list[Item]
) -> list[tuple[str, InvoiceKind, str | None, int, list[Item]]]:
    whole = sum(item.gross for item in charged)
    if queue.invoicing is InvoicingModel.upfront:
        return [("upfront", InvoiceKind.upfront, None, whole, charged)]
    if queue.invoicing is InvoicingModel.milestone:
        reached = [stage for stage in queue.stages if _applies(stage.milestone, state) and stage.reached_at is not None]
        wanted = [
            (f"milestone:{stage.name}", InvoiceKind.milestone, stage.name, stage.milestone.of(whole), charged)
            for stage in sorted(reached, key=lambda stage: stage.reached_at or state.created_at)
            if stage.milestone is not None
        ]
        taken = [p for p in state.payments if p.mode == "charge" and p.moved_in > 0]
        return wanted + [(f"payment:{p.payment_id}", InvoiceKind.payment, None, p.moved_in, charged) for p in taken]
    return [
        (f"delivery:{delivery_id}", InvoiceKind.progress, None, sum(item.gross for item in of), of)
        for delivery_id, of in _handed_over(state, charged)
    ]


def _applies(milestone: Milestone | None, state: OrderState) -> bool:
    """A milestone to invoice on this order: a share, or a fixed amount in the order's currency."""
    return milestone is not None and (milestone.amount is None or milestone.amount.currency == state.currency)


def _handed_over(state: OrderState, charged: list[Item]) -> list[tuple[str, list[Item]]]:
    """Each delivery handed over (shipped or collected), with the items of its lines."""
    others = {line_id for delivery in further(state) for line_id in delivery.line_ids}
    done = []
    if rank_reached(statuses_held(state)) >= _HANDED_OVER_RANK:
        own_id = state.deliveries[0].delivery_id if state.deliveries else "D1"
        done.append((own_id, [item for item in charged if item.line_id and item.line_id not in others]))
    for delivery in further(state):
        if delivery.handed_over:
            done.append((delivery.delivery_id, [item for item in charged if item.line_id in delivery.line_ids]))
    return done


def final_invoice(state: OrderState, earlier: list[Invoice], completed: bool) -> InvoiceDraft | None:
    """Credits every earlier invoice once, and invoices the whole order (a completed order) or nothing (cancelled)."""
    credits = [line for invoice in earlier if invoice.kind is not InvoiceKind.final for line in credit_lines(invoice)]
    charged = items(state) if completed else []
    if not completed and not credits:
        return None
    lines = credits + invoice_lines(sum(item.gross for item in charged), charged)
    return _draft(state, FINAL_KEY, InvoiceKind.final, None, lines)


def _draft(state: OrderState, key: str, kind: InvoiceKind, stage: str | None, lines: list[InvoiceLine]) -> InvoiceDraft:
    return InvoiceDraft(
        order_number=state.order_number, key=key, kind=kind, stage=stage, currency=state.currency, lines=lines
    )


def statuses_held(state: OrderState) -> list[str]:
    """Every status the order ever held, its current one last."""
    return [entry.to_status.value for entry in state.history if entry.to_status] + [state.status.value]


def follow_queue(state: OrderState, now: datetime) -> list[InvoiceDraft]:
    """Record the stages the order has now reached (each in its history), and say which invoices are due."""
    if state.queue is None:
        return []
    for name in queues.advance(state.queue, statuses_held(state), now):
        journey.record(state, now, journey.SYSTEM, "stage_reached", f"{name} (queue {state.queue.name})")
    return due(state)


def record_issued(state: OrderState, issued: list[Invoice], now: datetime) -> None:
    """Invoices issued: kept on the order, each in its history. A final invoice is written before the completion it
    allows (the order is recorded completed only once its final invoice exists)."""
    for invoice in issued:
        if any(kept.key == invoice.key for kept in state.invoices):
            continue
        state.invoices.append(invoice)
        entry = HistoryEntry(
            at=now,
            actor=journey.SYSTEM,
            action="invoice_issued",
            detail=f"invoice {invoice.number} ({invoice.kind}): {invoice.gross} {invoice.currency} minor units",
        )
        at = _before_completion(state) if invoice.kind is InvoiceKind.final else len(state.history)
        state.history.insert(at, entry)
        state.version += 1


def _before_completion(state: OrderState) -> int:
    """Where in the history the final invoice goes: before the order's completion (decided in the same change, not
    written yet), else last."""
    for index in range(len(state.history) - 1, state.published_history - 1, -1):
        if state.history[index].to_status is OrderStatus.completed:
            return index
    return len(state.history)
