"""Calendars as people type them on the page (models/calendar.py parse_spans, parse_exceptions)."""

from __future__ import annotations

import pytest

from models.calendar import LocationCalendar, Span, parse_exceptions, parse_spans, spans_text


def test_spans_and_exceptions_read_as_typed_and_show_back_the_same():
    spans = parse_spans("09:00-12:30, 13:30-21:00")
    assert spans == [{"opens": "09:00", "closes": "12:30"}, {"opens": "13:30", "closes": "21:00"}]
    assert spans_text([Span(**s) for s in spans]) == "09:00-12:30, 13:30-21:00"
    assert parse_spans("Closed") == [] and parse_spans("") == []
    days = parse_exceptions("2026-12-25 closed Christmas\n\n2026-12-24 09:00-16:00 Christmas Eve\n2027-01-01")
    assert days == [
        {"day": "2026-12-25", "spans": [], "reason": "Christmas"},
        {"day": "2026-12-24", "spans": [{"opens": "09:00", "closes": "16:00"}], "reason": "Christmas Eve"},
        {"day": "2027-01-01", "spans": [], "reason": ""},
    ]
    LocationCalendar.model_validate({"timezone": "Europe/London", "weekly": {"mon": spans}, "exceptions": days})


def test_a_span_without_a_dash_names_its_line():
    with pytest.raises(ValueError, match="09:00 17:00"):
        parse_spans("09:00 17:00")
    with pytest.raises(ValueError, match="line 2"):
        parse_exceptions("2026-12-25 closed\n2026-12-24 0900 x")
