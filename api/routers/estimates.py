"""Estimates: what an order would come to and who would fulfil it when, before it is placed (activities/estimates.py).
`POST /orders` with the answer's `estimation_id` places exactly it within two hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from activities import placement
from activities.estimates import estimate
from api.deps import SessionDep, in_threadpool
from api.problems import Forbidden, InvalidInput
from api.rate_limits import PlacementLimited
from models.estimates import Estimate, EstimateRequest, EstimateScope
from models.settings import ApiKeyHolder

router = APIRouter(prefix="/estimates", tags=["orders"])


def _estimate(session: Session, caller: ApiKeyHolder, request: EstimateRequest, scope: EstimateScope) -> Estimate:
    try:
        return estimate(session, caller.name, request, scope, datetime.now(UTC))
    except placement.PlacementRefused as refused:
        raise InvalidInput([{"field": p.field, "message": p.message} for p in refused.problems]) from None


@router.post("", response_model=Estimate)
async def post_estimate(
    request: EstimateRequest,
    session: SessionDep,
    caller: PlacementLimited,  # an order placer, within its placement rate limit
    scope: Annotated[EstimateScope, Query(description="full, or fulfilment: only who would fulfil it and when")] = (
        EstimateScope.full
    ),
) -> Estimate:
    """Estimate an order as `POST /orders` takes it (payments may be left out): judged by the same rules, it answers
    who would fulfil each delivery and when, its amounts (gross, discounts, net, tax, charges, total), how account
    credit and wallet funds would pay it, and an `estimation_id` to place it by within two hours."""
    if caller.channels is not None and request.channel not in caller.channels:
        allowed = ", ".join(caller.channels) or "none"
        raise Forbidden(
            f"this key places orders for {allowed} only, not {request.channel}", type_="channel-not-allowed"
        )
    return await in_threadpool(session, _estimate, session, caller, request, scope)
