"""Location calendars on a page (Head Office): each store's and warehouse's time zone, opening hours per weekday and
exceptions, typed as people write them ("09:00-12:30, 13:30-21:00"; "2026-12-25 closed Christmas"). The same rules
as PUT /stores/{id}/calendar; a bad entry is shown back with what is wrong, nothing saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, in_threadpool
from api.pages.session import HeadOfficeUser
from api.pages.shared import page
from api.problems import NotFound
from api.routers.calendars import save_calendar
from models.calendar import WEEKDAYS, LocationCalendar, parse_exceptions, parse_spans, spans_text
from models.db.catalogue import get_store, list_stores

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/calendars")
async def calendars(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    stores = await in_threadpool(session, list_stores, session)
    return page(request, "calendars.html", user, stores=stores)


def _form(calendar: LocationCalendar | None) -> dict[str, Any]:
    if calendar is None:
        return {"timezone": "Europe/London", "weekly": dict.fromkeys(WEEKDAYS, ""), "exceptions": ""}
    lines = [f"{e.day.isoformat()} {spans_text(e.spans) or 'closed'} {e.reason}".rstrip() for e in calendar.exceptions]
    weekly = {day: spans_text(calendar.weekly.get(day, [])) or "closed" for day in WEEKDAYS}
    return {"timezone": calendar.timezone, "weekly": weekly, "exceptions": "\n".join(lines)}


@router.get("/calendars/{store_id}")
async def calendar_page(
    store_id: str, request: Request, session: SessionDep, user: HeadOfficeUser, saved: bool = False
) -> Response:
    store = await in_threadpool(session, get_store, session, store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    form = _form(store.sla_overrides.calendar)
    return page(request, "calendar.html", user, store=store, form=form, problems=[], saved=saved)


@router.post("/calendars/{store_id}")
async def save_calendar_page(store_id: str, request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    store = await in_threadpool(session, get_store, session, store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    data = await request.form()
    timezone, exceptions = str(data.get("timezone", "")).strip(), str(data.get("exceptions", ""))
    typed = {day: str(data.get(f"weekly_{day}", "")) for day in WEEKDAYS}
    form = {"timezone": timezone, "weekly": typed, "exceptions": exceptions}
    problems: list[str] = []
    try:
        weekly = {day: parse_spans(text) for day, text in typed.items() if parse_spans(text)}
        calendar = LocationCalendar.model_validate(
            {"timezone": timezone, "weekly": weekly, "exceptions": parse_exceptions(exceptions)}
        )
    except ValidationError as error:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'calendar'}: {e['msg']}" for e in error.errors()]
    except ValueError as error:
        problems = [str(error)]
    if problems:
        return page(
            request, "calendar.html", user, store=store, form=form, problems=problems, saved=False, status_code=422
        )
    await in_threadpool(session, save_calendar, session, store, calendar)
    return RedirectResponse(f"/ui/calendars/{store_id}?saved=true", status_code=303)
