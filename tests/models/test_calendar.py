"""Location calendars (models/calendar.py), property-tested: an open-time deadline never falls in closed time,
more open time never gives an earlier deadline, and daylight-saving nights are counted as the clock on the wall."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.calendar import HORIZON_DAYS, LocationCalendar, add_open_time

WEEK = {day: [{"opens": "09:00", "closes": "12:30"}, {"opens": "13:30", "closes": "21:00"}]
        for day in ("mon", "tue", "wed", "thu", "fri", "sat")}  # fmt: skip
LONDON = LocationCalendar.model_validate(
    {"timezone": "Europe/London", "weekly": WEEK, "exceptions": [{"day": "2026-12-25", "reason": "Christmas"}]}
)
ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
waits = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3))


@st.composite
def calendars(draw: st.DrawFn) -> LocationCalendar:
    weekly = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        if draw(st.booleans()):
            opens = draw(st.integers(min_value=0, max_value=22))
            closes = draw(st.integers(min_value=opens + 1, max_value=24))
            weekly[day] = [{"opens": f"{opens:02d}:00", "closes": f"{closes:02d}:00"}]
    holidays = draw(st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=5, unique=True))
    zone = draw(st.sampled_from(ZONES))
    return LocationCalendar.model_validate(
        {"timezone": zone, "weekly": weekly or {"mon": [{"opens": "09:00", "closes": "17:00"}]},
         "exceptions": [{"day": d.isoformat()} for d in holidays]}
    )  # fmt: skip


@settings(deadline=None, max_examples=300)
@given(calendar=calendars(), start=moments, wait=waits)
def test_a_deadline_never_falls_in_closed_time(calendar: LocationCalendar, start: datetime, wait: timedelta):
    due = add_open_time(calendar, start, wait)
    assert due > start
    # (Past the horizon the rest of a wait runs in calendar time: a location almost never open, documented.)
    assume(due < start + timedelta(days=HORIZON_DAYS - 2))
    # Open just before it: the deadline is the moment the wait's last open minute ends.
    assert calendar.is_open(due - timedelta(microseconds=1))


@settings(deadline=None, max_examples=300)
@given(calendar=calendars(), start=moments, first=waits, more=waits)
def test_more_open_time_never_gives_an_earlier_deadline(calendar, start, first, more):
    assert add_open_time(calendar, start, first) <= add_open_time(calendar, start, first + more)


def test_five_minutes_before_closing_the_rest_is_counted_the_next_morning():
    friday_evening = datetime(2026, 11, 27, 20, 55, tzinfo=UTC)  # London is on GMT: 20:55 local
    assert add_open_time(LONDON, friday_evening, timedelta(minutes=30)) == datetime(2026, 11, 28, 9, 25, tzinfo=UTC)
    # Saturday evening: Sunday is closed, so Monday morning.
    saturday = datetime(2026, 11, 28, 20, 55, tzinfo=UTC)
    assert add_open_time(LONDON, saturday, timedelta(minutes=30)) == datetime(2026, 11, 30, 9, 25, tzinfo=UTC)
    # Over lunch: 12:20 plus 30 minutes is 10 before lunch and 20 after it.
    monday = datetime(2026, 11, 30, 12, 20, tzinfo=UTC)
    assert add_open_time(LONDON, monday, timedelta(minutes=30)) == datetime(2026, 11, 30, 13, 50, tzinfo=UTC)


def test_a_holiday_is_skipped():
    christmas_eve = datetime(2026, 12, 24, 20, 55, tzinfo=UTC)  # Thursday; Christmas (Friday) is closed
    assert add_open_time(LONDON, christmas_eve, timedelta(minutes=30)) == datetime(2026, 12, 26, 9, 25, tzinfo=UTC)


def test_daylight_saving_nights_are_counted_as_the_clock_on_the_wall_reads():
    # Clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026 (Europe/London); the shop
    # opens at 09:00 local either side: 09:00 GMT before, 08:00 UTC (09:00 BST) after.
    before_spring = datetime(2026, 3, 28, 20, 55, tzinfo=UTC)  # Saturday, GMT
    assert add_open_time(LONDON, before_spring, timedelta(minutes=30)) == datetime(2026, 3, 30, 8, 25, tzinfo=UTC)
    before_autumn = datetime(2026, 10, 24, 19, 55, tzinfo=UTC)  # Saturday 20:55 BST
    assert add_open_time(LONDON, before_autumn, timedelta(minutes=30)) == datetime(2026, 10, 26, 9, 25, tzinfo=UTC)
    # A shop open through the night: the spring night has an hour less of it, the autumn one an hour more.
    night = LocationCalendar.model_validate(
        {"timezone": "Europe/London", "weekly": {d: [{"opens": "00:00", "closes": "24:00"}] for d in ("sat", "sun")}}
    )
    sunday = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # Sunday 00:00 GMT; Monday 00:00 BST is 23:00 UTC
    assert add_open_time(night, sunday, timedelta(hours=23)) == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert not night.is_open(datetime(2026, 3, 29, 23, 30, tzinfo=UTC))  # Monday 00:30 BST: closed
    # The 24th hour waits for Saturday (00:00 BST is 23:00 UTC on Friday).
    assert add_open_time(night, sunday, timedelta(hours=24)) == datetime(2026, 4, 4, 0, 0, tzinfo=UTC)
    autumn = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # Sunday 01:00 BST: the day has 25 hours
    assert add_open_time(night, autumn, timedelta(hours=23)) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)


def test_bad_calendars_are_refused_with_what_is_wrong():
    for bad, words in [
        ({"timezone": "Mars/Olympus", "weekly": {}}, "IANA time zone"),
        ({"timezone": "UTC", "weekly": {"monday": []}}, "unknown days"),
        ({"timezone": "UTC", "weekly": {"mon": [{"opens": "10:00", "closes": "09:00"}]}}, "closes after it opens"),
        (
            {
                "timezone": "UTC",
                "weekly": {"mon": [{"opens": "09:00", "closes": "13:00"}, {"opens": "12:00", "closes": "17:00"}]},
            },
            "overlap",
        ),  # fmt: skip
        ({"timezone": "UTC", "weekly": {"mon": [{"opens": "9am", "closes": "17:00"}]}}, "HH:MM"),
    ]:
        with pytest.raises(ValidationError, match=words):
            LocationCalendar.model_validate(bad)


def test_minutes_until_a_location_opens():
    from models.calendar import minutes_until_open

    assert minutes_until_open(LONDON, datetime(2026, 11, 30, 10, 0, tzinfo=UTC)) == 0  # Monday, open
    assert minutes_until_open(LONDON, datetime(2026, 11, 30, 12, 45, tzinfo=UTC)) == 45  # lunch: back at 13:30
    saturday_night = datetime(2026, 11, 28, 21, 30, tzinfo=UTC)
    assert minutes_until_open(LONDON, saturday_night) == 60 * 35 + 30  # to Monday 09:00


def test_a_stores_calendar_reaches_its_effective_policy_as_a_calendar():
    from models.sla import SlaOverrides, SlaPolicy, due, effective_policy

    policy = effective_policy(SlaPolicy(), SlaOverrides(calendar=LONDON))
    assert isinstance(policy.calendar, LocationCalendar)
    friday_evening = datetime(2026, 11, 27, 20, 55, tzinfo=UTC)
    assert due(policy, "not_acknowledged", friday_evening) == datetime(2026, 11, 28, 9, 25, tzinfo=UTC)
