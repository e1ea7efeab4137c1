"""A subscription's page (Head Office): its terms, its schedule (the next billing and the periods to come), its past
periods with their orders, its alerts and its history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep, TemporalDep
from api.pages.session import HeadOfficeUser
from api.pages.shared import page
from api.routers.subscriptions import SubscriptionId, subscription_view
from models.subscriptions import SubscriptionStatus, due_at

SCHEDULE_AHEAD = 6  # periods shown to come

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/subscriptions/{subscription_id}")
async def subscription_page(
    request: Request, subscription_id: SubscriptionId, session: SessionDep, temporal: TemporalDep, user: HeadOfficeUser
) -> Response:
    view = await subscription_view(session, temporal, subscription_id, user)
    schedule = []
    if view.status is not SubscriptionStatus.cancelled:
        upcoming = range(view.next_period, view.next_period + SCHEDULE_AHEAD)
        schedule = [(k, due_at(view.starts_at, view.period, k), k in view.skipped) for k in upcoming]
    return page(request, "subscription.html", user, s=view, schedule=schedule)
