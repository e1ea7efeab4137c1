"""XML extracts of a return (schema 1.3): `return_authorised`, `return_received` and `return_refunded`, each once per
return, made when the return's workflow saves the stage. A return has its own workflow and the order's may have
ended, so the document's Order is read from the order's read model (its API view), not from its live state. Pure."""

from __future__ import annotations

from pydantic import BaseModel

from models.extracts import ExtractType
from models.money import Money
from models.returns import ReturnState, ReturnStatus
from models.views import ExtractLine, ExtractOrder, ExtractRefund, OrderView, line_status


class ReturnExtractLine(BaseModel):
    line_id: str
    quantity: int
    reason: str
    accepted: int | None = None  # inspected: units restocked
    written_off: int | None = None  # inspected: units refunded, not restocked


class ReturnExtract(BaseModel):
    """What a return extract says of the return: no actor, note or internal alert."""

    return_id: str
    status: str
    method: str
    location_id: str
    carrier: str | None
    tracking_number: str | None
    lines: list[ReturnExtractLine]


def extracts_due(state: ReturnState) -> list[ExtractType]:
    """The return's extracts its stage has reached (the outbox keeps each extract id once, so asking again is
    harmless): authorised from the start; received once it arrived; refunded once reimbursed with a refund."""
    if state.status in (ReturnStatus.rejected, ReturnStatus.cancelled):
        return []
    due = [ExtractType.return_authorised]
    if state.received_at is not None:
        due.append(ExtractType.return_received)
    if state.status is ReturnStatus.reimbursed and state.refunded_lines and "refund_refused" not in state.alerts:
        due.append(ExtractType.return_refunded)
    return due


def return_extract_id(return_id: str, extract_type: ExtractType) -> str:
    return f"{return_id}:{extract_type.value}:extract"


def for_return_extract(state: ReturnState) -> ReturnExtract:
    inspected = {line.line_id: line for line in state.inspected}
    return ReturnExtract(
        return_id=state.return_id,
        status=state.status.value,
        method=state.method,
        location_id=state.location_id,
        carrier=state.carrier,
        tracking_number=state.tracking_number,
        lines=[
            ReturnExtractLine(
                line_id=line.line_id,
                quantity=line.quantity,
                reason=line.reason,
                accepted=inspected[line.line_id].accepted if line.line_id in inspected else None,
                written_off=inspected[line.line_id].written_off if line.line_id in inspected else None,
            )
            for line in state.lines
        ],
    )


def extract_order_of_view(view: OrderView) -> ExtractOrder:
    """The order as the read model last held it, in the words an extract uses (views.for_extract does the same from
    the live state): client-facing notes only, and the last refund paid or instructed."""
    refunds = [r for r in view.refunds if r.status in ("refunded", "instructed")]
    last = refunds[-1] if refunds else None
    currency = view.total.currency
    return ExtractOrder(
        order_number=view.order_number,
        web_reference=view.web_reference,
        channel=view.channel,
        status=view.status,
        created_at=view.created_at,
        customer=view.customer,
        store_id=view.store_id,
        fulfilment_method="home_delivery" if view.delivery_address else "click_and_collect",
        delivery_address=view.delivery_address,
        dispatch_location=view.dispatch_location,
        dispatched_at=view.dispatched_at,
        carrier=view.deliveries[0].carrier if view.deliveries else None,
        tracking_number=view.deliveries[0].tracking_number if view.deliveries else None,
        lines=[
            ExtractLine(
                line_id=line.line_id,
                sku=line.sku,
                style=line.style,
                size=line.size,
                colour=line.colour,
                quantity=line.quantity,
                cancelled_quantity=line.cancelled_quantity,
                unit_price=line.unit_price,
                line_total=line.total,
                fulfilment=line.fulfilment,
                status=line_status(line, view.status),
            )
            for line in view.lines
        ],  # fmt: skip
        total=view.total,
        discount=Money(amount=sum(o.discount.amount for o in view.loyalty_offers), currency=currency),
        paid=view.paid,
        refunded=view.refunded,
        notes=[note for note in view.notes if note.client_facing],
        last_refund=None
        if last is None
        else ExtractRefund(
            amount=last.amount,
            at=last.at,
            how=last.status,
            payment_reference=last.reference if last.status == "instructed" else "",
        ),
        cancelled_by=None,
        collection_code=None,  # a return's extract has no use for the collection code
    )
