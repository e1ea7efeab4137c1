"""GET /orders/{n}/diagnosis: what the order waits for, what happens next, what is stuck on the way out
(api/diagnosis_service.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api import diagnosis_service
from api.deps import Caller, SessionDep, SettingsDep, TemporalDep
from api.params import OrderNumber
from api.problems import problem_responses

router = APIRouter(tags=["orders"])


@router.get(
    "/orders/{order_number}/diagnosis", response_model=diagnosis_service.Diagnosis, responses=problem_responses(404)
)
async def diagnose_order(
    order_number: OrderNumber, session: SessionDep, temporal: TemporalDep, settings: SettingsDep, caller: Caller
) -> diagnosis_service.Diagnosis:
    """What the order waits for, from whom, since when; its next deadline and what happens at it; who acted last;
    what the outbox has not delivered; the activities Temporal is retrying; a link to its history."""
    return await diagnosis_service.build(session, temporal, settings, order_number, caller)
