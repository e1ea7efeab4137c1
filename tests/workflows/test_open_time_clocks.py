"""SLA clocks that follow the shop floor, on the time-skipping test server: an order placed five minutes before
closing raises nothing overnight and breaches at the right open-time minute next morning; a holiday is skipped; a
daylight-saving night is counted as the clock on the wall reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import CHANNEL, HO, HO_KEY, order_body, ui_sign_in, wait_for_status


async def _calendar(stack, calendar: dict[str, Any]) -> None:
    store = (await stack.http.get("/stores/S001", headers=HO)).json()
    body = {"name": store["name"], "kind": store["kind"], "sla_overrides": {"calendar": calendar}}
    response = await stack.http.put("/stores/S001", json=body, headers=HO)
    assert response.status_code == 200, response.text


async def _place(stack) -> str:
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    return number


async def _not_acknowledged(stack, number: str) -> list[dict]:
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    return [a for a in view["alerts"] if a["type"] == "not_acknowledged"]


async def _skip_to(stack, moment: datetime) -> None:
    now = await stack.env.get_current_time()
    if moment > now:
        await stack.env.sleep(moment - now)


def _placed_at(view_history: list[dict]) -> datetime:
    return next(datetime.fromisoformat(h["at"]) for h in view_history if h["to_status"] == "awaiting_acknowledgement")


async def _closing_in_five_minutes(stack, holiday_tomorrow: bool = False) -> tuple[str, datetime, ZoneInfo]:
    """A calendar (every day open eight hours, closing five minutes from now) in a zone where that fits in one day;
    the order placed; the moment its 30 open minutes run out."""
    now = await stack.env.get_current_time()
    zone = next(
        ZoneInfo(name)
        for name in ("UTC", "Asia/Tokyo", "America/New_York")
        if 9 <= now.astimezone(ZoneInfo(name)).hour < 22
    )
    local = now.astimezone(zone)
    closes = (local + timedelta(minutes=5)).replace(second=0, microsecond=0)
    opens = closes - timedelta(hours=8)
    span = {"opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"}
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    calendar: dict[str, Any] = {"timezone": str(zone), "weekly": {day: [span] for day in days}}
    tomorrow = local.date() + timedelta(days=1)
    if holiday_tomorrow:
        calendar["exceptions"] = [{"day": tomorrow.isoformat(), "reason": "bank holiday"}]
    await _calendar(stack, calendar)
    number = await _place(stack)
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    placed = _placed_at(view["history"])
    open_today = closes.astimezone(UTC) - placed
    reopen_day = tomorrow + timedelta(days=1 if holiday_tomorrow else 0)
    reopens = datetime.combine(reopen_day, opens.time(), tzinfo=zone).astimezone(UTC)
    return number, reopens + (timedelta(minutes=30) - open_today), zone


async def test_an_order_placed_before_closing_breaches_next_morning_not_overnight(skipping_stack):
    stack = skipping_stack
    number, due, _zone = await _closing_in_five_minutes(stack)
    await _skip_to(stack, due - timedelta(minutes=1))  # the night and most of the morning's minutes
    assert await _not_acknowledged(stack, number) == []
    await _skip_to(stack, due + timedelta(minutes=1))
    (alert,) = await _not_acknowledged(stack, number)
    assert abs(datetime.fromisoformat(alert["raised_at"]) - due) < timedelta(seconds=5)


async def test_a_holiday_is_skipped(skipping_stack):
    stack = skipping_stack
    number, due, _zone = await _closing_in_five_minutes(stack, holiday_tomorrow=True)
    assert due - await stack.env.get_current_time() > timedelta(hours=24)
    await _skip_to(stack, due - timedelta(minutes=1))
    assert await _not_acknowledged(stack, number) == []
    await _skip_to(stack, due + timedelta(minutes=1))
    (alert,) = await _not_acknowledged(stack, number)
    assert abs(datetime.fromisoformat(alert["raised_at"]) - due) < timedelta(seconds=5)


async def test_a_daylight_saving_night(skipping_stack):
    """Placed at 20:55 on the Saturday before the clocks go forward in London, open 09:00–21:00: 5 minutes that
    evening, 25 the next morning from 09:00 BST, which is 08:00 UTC, not 09:00."""
    stack = skipping_stack
    now = await stack.env.get_current_time()
    year = now.year + 1
    last_sunday = max(
        datetime(year, 3, day, tzinfo=UTC) for day in range(25, 32) if datetime(year, 3, day).weekday() == 6
    )
    saturday_evening = last_sunday - timedelta(days=1) + timedelta(hours=20, minutes=55)  # GMT = UTC
    span = {"opens": "09:00", "closes": "21:00"}
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    await _skip_to(stack, saturday_evening)
    await _calendar(stack, {"timezone": "Europe/London", "weekly": {day: [span] for day in days}})
    number = await _place(stack)
    placed = _placed_at((await stack.http.get(f"/orders/{number}", headers=HO)).json()["history"])
    due = (
        last_sunday + timedelta(hours=8) + (timedelta(minutes=30) - (saturday_evening + timedelta(minutes=5) - placed))
    )
    await _skip_to(stack, due - timedelta(minutes=1))
    assert await _not_acknowledged(stack, number) == []
    await _skip_to(stack, due + timedelta(minutes=1))
    (alert,) = await _not_acknowledged(stack, number)
    assert abs(datetime.fromisoformat(alert["raised_at"]) - due) < timedelta(seconds=5)


async def test_the_calendar_api_sets_reads_answers_and_refuses_bad_calendars(stack):
    http = stack.http
    weekdays = {day: [{"opens": "09:00", "closes": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = {"timezone": "Europe/London", "weekly": weekdays,
                "exceptions": [{"day": "2026-12-28", "reason": "bank holiday"}]}  # fmt: skip
    assert (await http.get("/stores/S001/calendar")).status_code == 404
    assert (await http.put("/stores/S001/calendar", json=calendar)).status_code == 401
    put = await http.put("/stores/S001/calendar", json=calendar, headers=HO)
    assert put.status_code == 200, put.text
    assert (await http.get("/stores/S001/calendar")).json()["timezone"] == "Europe/London"
    # Friday 18 December 2026 16:50 GMT + 30 open minutes: 10 that day, 20 on Monday.
    due = await http.get("/stores/S001/calendar/due", params={"wait_minutes": 30, "start": "2026-12-18T16:50:00Z"})
    assert due.json()["due"] == "2026-12-21T09:20:00Z"
    # ... and across the bank holiday Monday, on the Tuesday.
    due = await http.get("/stores/S001/calendar/due", params={"wait_minutes": 30, "start": "2026-12-25T16:50:00Z"})
    assert due.json()["due"] == "2026-12-29T09:20:00Z"
    bad = await http.put("/stores/S001/calendar", json={**calendar, "timezone": "Mars/Olympus"}, headers=HO)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"
    assert (await http.get("/stores/S001/calendar")).json()["timezone"] == "Europe/London"  # unchanged
    # The order page shows the deadline as the store's clock reads it, beside the reader's own time.
    number = await _place(stack)
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    page = (await http.get(f"/ui/orders/{number}")).text
    assert 'id="due-at-location"' in page and "Europe/London) at S001" in page or "Europe/London at S001" in page
    assert (await http.delete("/stores/S001/calendar", headers=HO)).status_code == 204
    assert (await http.get("/stores/S001/calendar")).status_code == 404
