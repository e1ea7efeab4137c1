"""Location calendars: a store's or warehouse's time zone, its opening hours per weekday (several spans a day if it
closes for lunch) and its exceptions (holidays, early closing, special openings). An SLA measured in open time
counts only the minutes the location is open: `add_open_time` is the one function that says when such a deadline
falls. Pure (the zone rules come from the IANA database through zoneinfo)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead open time is counted: past it, what is left of a wait runs in calendar time, so a location closed
# for good still gives an order a deadline (a late one).
HORIZON_DAYS = 400
CLOCK_PATTERN = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
_CLOCK = re.compile(CLOCK_PATTERN)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(text: str) -> str:
    if not _CLOCK.match(text):
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    return text


Clock = Annotated[
    str,
    AfterValidator(_clock),
    WithJsonSchema({"type": "string", "pattern": CLOCK_PATTERN, "examples": ["09:00"]}),
]


def _zone(name: str) -> str:
    try:
        _zone_info(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/London'") from None
    return name


@lru_cache(maxsize=256)
def _zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class Span(BaseModel):
    """Open from `opens` to `closes`, local time, the same day ("24:00" closes at midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: Clock
    closes: Clock

    @model_validator(mode="after")
    def _closes_after_it_opens(self) -> Self:
        if _minutes(self.closes) <= _minutes(self.opens):
            raise ValueError(f"a span closes after it opens ({self.opens}–{self.closes})")
        return self


class SpecialDay(BaseModel):
    """One day that differs from the week: closed (no spans), or open at other times."""

    model_config = ConfigDict(extra="forbid")

    day: date
    spans: list[Span] = Field(default_factory=list, max_length=6)
    reason: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class LocationCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, AfterValidator(_zone)] = Field(
        examples=["Europe/London"], max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$"
    )
    weekly: dict[str, Annotated[list[Span], Field(max_length=6)]] = Field(
        max_length=7,
        description="Opening spans per weekday (mon … sun); a day left out is closed",
        examples=[{"mon": [{"opens": "09:00", "closes": "21:00"}]}],
    )
    exceptions: list[SpecialDay] = Field(default_factory=list, max_length=400)

    @model_validator(mode="after")
    def _known_days_without_overlaps(self) -> Self:
        unknown = sorted(set(self.weekly) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"weekly: unknown days {unknown}; use {', '.join(WEEKDAYS)}")
        for where, spans in [*self.weekly.items(), *((str(e.day), e.spans) for e in self.exceptions)]:
            ordered = sorted(spans, key=lambda s: _minutes(s.opens))
            for first, second in zip(ordered, ordered[1:], strict=False):
                if _minutes(second.opens) < _minutes(first.closes):
                    raise ValueError(f"{where}: spans overlap ({first.opens}–{first.closes}, {second.opens}–…)")
        days = [e.day for e in self.exceptions]
        if len(days) != len(set(days)):
            raise ValueError("exceptions: one entry per day")
        return self

    def spans_on(self, day: date) -> list[Span]:
        for exception in self.exceptions:
            if exception.day == day:
                return sorted(exception.spans, key=lambda s: _minutes(s.opens))
        return sorted(self.weekly.get(WEEKDAYS[day.weekday()], []), key=lambda s: _minutes(s.opens))

    def open_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open periods as UTC moments; a span whose local times do not exist or repeat on a
        daylight-saving night is taken as the clock on the wall reads it (zoneinfo's rules)."""
        zone = _zone_info(self.timezone)
        periods = []
        for span in self.spans_on(day):
            start = _at(day, span.opens, zone)
            end = _at(day, span.closes, zone)
            if end > start:
                periods.append((start, end))
        return periods

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(_zone_info(self.timezone)).date()
        return any(s <= moment < e for day in (local - timedelta(days=1), local) for s, e in self.open_periods(day))


def _at(day: date, clock: str, zone: ZoneInfo) -> datetime:
    minutes = _minutes(clock)
    if minutes == 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)


def add_open_time(calendar: LocationCalendar, start: datetime, wait: timedelta) -> datetime:
    """The moment `wait` of open time has passed since `start`: never in closed time (for a wait above zero), later
    for a longer wait. What the location's open time within HORIZON_DAYS cannot hold runs in calendar time after."""
    if wait <= timedelta(0):
        return start
    remaining = wait
    first_day = start.astimezone(_zone_info(calendar.timezone)).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS):
        for opens, closes in calendar.open_periods(first_day + timedelta(days=offset)):
            if closes <= start:
                continue
            begin = max(opens, start)
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
    # Open too little to count it all within the horizon: the rest runs in calendar time from there (still later
    # for a longer wait).
    horizon = datetime.combine(first_day + timedelta(days=HORIZON_DAYS), time(), tzinfo=UTC)
    return max(horizon, start) + remaining


def spans_text(spans: list[Span]) -> str:
    """ "09:00-12:30, 13:30-21:00": how a page shows a day's spans (and reads them back with `parse_spans`)."""
    return ", ".join(f"{span.opens}-{span.closes}" for span in spans)


def parse_spans(text: str) -> list[dict[str, str]]:
    """A day's spans as people type them: "09:00-12:30, 13:30-21:00"; "" or "closed" is closed."""
    text = text.strip().lower()
    if text in ("", "closed"):
        return []
    spans = []
    for part in text.split(","):
        opens, sep, closes = part.strip().partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r}: write a span as 09:00-17:00")
        spans.append({"opens": opens.strip(), "closes": closes.strip()})
    return spans


def parse_exceptions(text: str) -> list[dict[str, object]]:
    """One day a line: "2026-12-25 closed Christmas" or "2026-12-24 09:00-16:00 Christmas Eve"."""
    days: list[dict[str, object]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        day, _, rest = line.partition(" ")
        rest = rest.strip()
        hours, _, reason = rest.partition(" ") if rest[:1].isdigit() else ("closed", "", rest.removeprefix("closed"))
        try:
            spans = parse_spans(hours)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
        days.append({"day": day, "spans": spans, "reason": reason.strip()})
    return days


def minutes_until_open(calendar: LocationCalendar, moment: datetime) -> int | None:
    """0 while the location is open, else the minutes until it next opens (None: not within HORIZON_DAYS)."""
    if calendar.is_open(moment):
        return 0
    first_day = moment.astimezone(_zone_info(calendar.timezone)).date()
    for offset in range(HORIZON_DAYS):
        for opens, _closes in calendar.open_periods(first_day + timedelta(days=offset)):
            if opens > moment:
                return -int(-(opens - moment).total_seconds() // 60)  # whole minutes, rounded up
    return None


def location_time(calendar: LocationCalendar | None, moment: datetime) -> str | None:
    """The moment as the location's clock reads it ("Mon 09:25 Europe/London"); None without a calendar."""
    if calendar is None:
        return None
    return f"{moment.astimezone(_zone_info(calendar.timezone)):%a %H:%M} {calendar.timezone}"
