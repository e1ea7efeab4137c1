"""A location's calendar: its time zone, opening hours per weekday and exceptions (holidays, early closing, special
openings). The store-facing SLA clocks count only its open time (models/calendar.py, models/sla.py); running orders
pick a changed calendar up at their next step. Kept in the store's sla_overrides; this is a shorter way to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel
from sqlmodel import Session

from api.deps import HeadOffice, SessionDep, in_threadpool
from api.problems import NotFound, problem_responses
from models.calendar import LocationCalendar, add_open_time
from models.catalogue import Store, StoreSettings
from models.db import catalogue

router = APIRouter(tags=["stores"])

StoreId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


def _known(session: Session, store_id: str) -> Store:
    store = catalogue.get_store(session, store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    return store


def save_calendar(session: Session, store: Store, calendar: LocationCalendar | None) -> None:
    """Keep the calendar in the store's sla_overrides (None removes it)."""
    overrides = store.sla_overrides.model_copy(update={"calendar": calendar})
    settings = StoreSettings(
        name=store.name,
        kind=store.kind,
        click_and_collect_enabled=store.click_and_collect_enabled,
        webhook_url=store.webhook_url,
        sla_overrides=overrides,
    )
    catalogue.put_store(session, store.store_id, settings)


@router.get("/stores/{store_id}/calendar", response_model=LocationCalendar, responses=problem_responses(404))
def get_calendar(store_id: StoreId, session: SessionDep) -> LocationCalendar:
    """The location's calendar (404 when it has none: its clocks count calendar time, or the global calendar's)."""
    calendar = _known(session, store_id).sla_overrides.calendar
    if calendar is None:
        raise NotFound(f"store {store_id} has no calendar of its own", type_="calendar-not-found")
    return calendar


@router.put("/stores/{store_id}/calendar", response_model=LocationCalendar, responses=problem_responses(404))
async def put_calendar(
    store_id: StoreId, calendar: LocationCalendar, session: SessionDep, _ho: HeadOffice
) -> LocationCalendar:
    """Set the location's calendar; its running orders count open time by it from their next step."""
    store = await in_threadpool(session, _known, session, store_id)
    await in_threadpool(session, save_calendar, session, store, calendar)
    return calendar


@router.delete("/stores/{store_id}/calendar", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404))
async def delete_calendar(store_id: StoreId, session: SessionDep, _ho: HeadOffice) -> Response:
    """Remove the location's own calendar."""
    store = await in_threadpool(session, _known, session, store_id)
    await in_threadpool(session, save_calendar, session, store, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class OpenTimeAnswer(BaseModel):
    start: datetime
    wait_minutes: int
    due: datetime
    due_local: str


@router.get("/stores/{store_id}/calendar/due", response_model=OpenTimeAnswer, responses=problem_responses(404))
def open_time_due(
    store_id: StoreId,
    session: SessionDep,
    wait_minutes: Annotated[int, Query(ge=1, le=525_600)],
    start: AwareDatetime | None = None,
) -> OpenTimeAnswer:
    """When `wait_minutes` of the location's open time will have passed from `start` (default now): what an
    open-time SLA clock started then would say."""
    calendar = get_calendar(store_id, session)
    begin = (start or datetime.now(UTC)).astimezone(UTC)
    due = add_open_time(calendar, begin, timedelta(minutes=wait_minutes))
    local = due.astimezone(ZoneInfo(calendar.timezone))
    return OpenTimeAnswer(start=begin, wait_minutes=wait_minutes, due=due, due_local=local.isoformat())
