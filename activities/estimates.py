"""Estimating an order (`POST /estimates`): judged by the placement rules (activities/placement.py `check`), sourced
as placement would source it, its amounts and tax worked out on the order as it would be born (models/placement.py
`new_order`, never started), and kept two hours (models/db/estimates.py) so `POST /orders` can place exactly it."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlmodel import Session

from activities.placement import Checked, check
from models.balances import payment_plan
from models.calendar import location_time
from models.charges import placement_charges
from models.db import balances, policies
from models.db import estimates as estimates_db
from models.estimates import (
    ESTIMATE_VALID_FOR,
    ChargeEstimate,
    DeliveryEstimate,
    Estimate,
    EstimateRequest,
    EstimateScope,
    Locked,
    estimate_amounts,
    estimated_part,
    starts_at,
)
from models.order_tax import order_tax
from models.placement import new_order


def estimate(session: Session, holder: str, request: EstimateRequest, scope: EstimateScope, now: datetime) -> Estimate:
    """The estimate of the order; refused (activities/placement.py PlacementRefused) as its placement would be."""
    order = request.model_copy(update={"payment": None, "payments": [], "estimation_id": None})
    checked = check(session, order, None)
    deliveries = _deliveries(session, checked, now)
    if scope is EstimateScope.fulfilment:
        return Estimate(estimation_id=None, scope=scope, estimated_at=now, expires_at=None, deliveries=deliveries)
    charges = placement_charges(checked.charges, checked.tax, now)
    state = new_order("estimate", order, checked.products, now, checked.policy, "test", checked.sourced, checked.tax)
    state.charges = charges
    currency = state.currency
    discounts = sum(offer.discount.amount for offer in order.loyalty_offers)
    amounts = estimate_amounts(state.gross().amount, discounts, checked.charged, order_tax(state).total.tax, currency)
    held = balances.balances(session, order.customer.id)
    plan = payment_plan(amounts.total, held.get(("account_credit", currency), 0), held.get(("wallet", currency), 0))
    row = estimates_db.EstimateRow(
        estimation_id=f"E{uuid4().hex}",
        holder=holder,
        scope=scope.value,
        created_at=now,
        expires_at=now + ESTIMATE_VALID_FOR,
        request=estimated_part(order),
        locked=Locked(
            prices={line.sku: line.unit_price for line in order.lines}, charges=checked.charges, tax=checked.tax
        ).model_dump(mode="json"),
    )
    estimates_db.keep(session, row)
    return Estimate(
        estimation_id=row.estimation_id,
        scope=scope,
        estimated_at=now,
        expires_at=row.expires_at,
        deliveries=deliveries,
        amounts=amounts,
        charges=[ChargeEstimate(delivery_id=c.delivery_id, amount=c.amount, reason=c.reason) for c in checked.charges],
        payment_plan=plan,
    )


def _deliveries(session: Session, checked: Checked, now: datetime) -> list[DeliveryEstimate]:
    """Who would fulfil each delivery, and when it would start on it: at once while the location is open, else
    when its calendar next opens it (null: not within the calendar's horizon)."""
    answers = []
    for delivery in checked.deliveries:
        calendar = policies.policy_for_store(session, delivery.location_id).calendar if delivery.location_id else None
        starts = starts_at(calendar, now)
        answers.append(
            DeliveryEstimate(
                delivery_id=delivery.delivery_id,
                method=delivery.method.value,
                location_id=delivery.location_id,
                line_ids=delivery.line_ids,
                starts_at=starts,
                location_time=location_time(calendar, starts) if starts is not None else None,
                sourced=delivery.sourcing is not None,
            )
        )
    return answers
