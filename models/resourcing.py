"""Automatic re-sourcing (pure rules): a further home delivery whose location Baton chose reports that it cannot fulfil
it (a short pick, a rejection). Instead of waiting for Head Office, Baton sources just that delivery again among the
locations that have not failed it: the new location's stock is reserved first (activities/inventory.py
`resource_delivery`), then the delivery moves there (allocated again, its old reservation released, both locations
told) and its sourcing decision says why the location that failed it lost. With no other location holding every line
the delivery stays rejected under its `delivery_rejected` alert, as before, for Head Office; it is not tried again
until it is moved. A delivery Head Office placed at a named location is left to Head Office."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from models import delivery_stages, journey
from models.catalogue import LocationKind
from models.deliveries import Delivery, DeliveryStatus
from models.effects import Effects
from models.order import AlertType, OrderState
from models.sourcing import CandidateVerdict, LineToSource, SourcingDecision


class ResourceDelivery(BaseModel):
    """What the re-sourcing activity needs: the delivery's open lines, where it goes, where not to look."""

    order_number: str
    delivery_id: str
    lines: list[LineToSource]
    postcode: str | None = None
    excluded: list[str] = Field(description="The locations that could not fulfil it (the current one last)")
    at: datetime


class Resourced(BaseModel):
    """The activity's answer: sourcing's decision, and whether its one location reserved every line."""

    decision: SourcingDecision
    reserved: bool = False


def wanted(state: OrderState, now: datetime) -> ResourceDelivery | None:
    """The first further delivery to source again: Baton sourced it, its location has just rejected it."""
    for delivery in delivery_stages.further(state):
        if delivery.status is not DeliveryStatus.rejected or delivery.sourcing is None or delivery.location_id is None:
            continue
        if delivery.location_id in delivery.rejected_by:
            continue  # tried already: Head Office moves it
        lines = [state.line(line_id) for line_id in delivery.line_ids]
        return ResourceDelivery(
            order_number=state.order_number,
            delivery_id=delivery.delivery_id,
            lines=[LineToSource(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in lines if l and l.quantity],
            postcode=delivery.address.postcode if delivery.address else None,
            excluded=[*delivery.rejected_by, delivery.location_id],
            at=now,
        )
    return None


def _why_rejected(state: OrderState, delivery: Delivery) -> str:
    alert = next(
        (
            a
            for a in reversed(state.alerts)
            if a.type is AlertType.delivery_rejected and a.delivery_id == delivery.delivery_id
        ),
        None,
    )
    return alert.detail.split(": ", 1)[-1] if alert else "it could not fulfil it"


def apply(state: OrderState, request: ResourceDelivery, outcome: Resourced, now: datetime) -> Effects:
    """Move the delivery to the location chosen and reserved, or leave it rejected for Head Office."""
    delivery = next(d for d in delivery_stages.further(state) if d.delivery_id == request.delivery_id)
    old = delivery.location_id
    assert old is not None
    delivery.rejected_by.append(old)
    why = _why_rejected(state, delivery)
    decision = outcome.decision
    if not outcome.reserved or decision.unsourced or len(decision.assignments) != 1:
        detail = f"{delivery.delivery_id}: no other location holds every line; Head Office moves it"
        journey.record(state, now, journey.SYSTEM, "delivery_not_resourced", detail)
        return Effects()
    (location_id,) = decision.assignments
    kind = next(
        (c.kind for c in (delivery.sourcing.candidates if delivery.sourcing else []) if c.location_id == old), None
    )
    decision.candidates.append(
        CandidateVerdict(location_id=old, kind=kind or LocationKind.warehouse, reason=f"could not fulfil it: {why}")
    )
    delivery.location_id, delivery.sourcing = location_id, decision
    delivery.status, delivery.status_since = delivery_stages.first_stage(state, delivery), now
    detail = f"{delivery.delivery_id} re-sourced after {old} could not fulfil it ({why}): {old} → {location_id}"
    journey.record(state, now, journey.SYSTEM, "delivery_resourced", detail)
    journey.settle_alerts(state, now)  # its delivery_rejected alert clears: it moved on
    effects = Effects().release({line_id: 0 for line_id in delivery.line_ids}, old)
    return effects.tell_store("delivery_cancelled", old).tell_store("delivery_created", location_id)
