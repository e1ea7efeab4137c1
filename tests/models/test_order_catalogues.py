"""The order catalogue rule (models/order_catalogues.py): the window properties with hypothesis, and which catalogue
governs a line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.calendar import WEEKDAYS
from models.order_catalogues import LineToOrder, OrderCatalogue, OrderCatalogues, refusal

ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
CLOCKS = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
TEE = LineToOrder(sku="TEE-WHI-M", style="TEE-WHI", method="click_and_collect", location_id="S001")


def _catalogue(**fields: object) -> OrderCatalogue:
    return OrderCatalogue.model_validate({"name": "all tees", "styles": ["TEE-WHI"], **fields})


@given(MOMENTS, ZONES)
def test_a_catalogue_without_a_window_is_always_open(moment: datetime, zone: str) -> None:
    assert _catalogue(timezone=zone).open_at(moment)


@given(MOMENTS, MOMENTS, MOMENTS, ZONES)
def test_open_between_from_and_until_and_only_then(start: datetime, end: datetime, moment: datetime, zone: str) -> None:
    start, end = min(start, end), max(start, end) + timedelta(seconds=1)
    catalogue = _catalogue(available_from=start, available_until=end, timezone=zone)
    assert catalogue.open_at(moment) == (start <= moment < end)


@given(MOMENTS, ZONES, st.sampled_from(["UTC", "Asia/Tokyo", "America/Los_Angeles"]))
def test_the_answer_depends_on_the_instant_not_on_how_it_is_written(moment: datetime, zone: str, shown: str) -> None:
    catalogue = _catalogue(days=["mon", "wed", "sat"], hours={"opens": "08:30", "closes": "17:45"}, timezone=zone)
    assert catalogue.open_at(moment) == catalogue.open_at(moment.astimezone(ZoneInfo(shown)))


@given(MOMENTS, ZONES)
def test_the_weekdays_split_the_week_exactly_once(moment: datetime, zone: str) -> None:
    open_on = [day for day in WEEKDAYS if _catalogue(days=[day], timezone=zone).open_at(moment)]
    assert open_on == [WEEKDAYS[moment.astimezone(ZoneInfo(zone)).weekday()]]


@given(MOMENTS, ZONES, CLOCKS)
def test_hours_before_and_after_a_time_split_the_day_exactly_once(moment: datetime, zone: str, split: str) -> None:
    spans = [("00:00", split), (split, "24:00")]
    open_in = [
        span for span in spans if span[0] != span[1] and _catalogue(hours={"opens": span[0], "closes": span[1]},
                                                                     timezone=zone).open_at(moment)
    ]  # fmt: skip
    assert len(open_in) == 1


@given(MOMENTS, st.lists(st.sampled_from(WEEKDAYS), max_size=7), st.booleans())
def test_adding_a_catalogue_never_refuses_a_line_that_was_accepted(
    moment: datetime, days: list[str], with_hours: bool
) -> None:
    hours = {"opens": "09:00", "closes": "18:00"} if with_hours else None
    first = _catalogue(days=days, hours=hours)
    second = _catalogue(name="night", days=["sun"], hours={"opens": "00:00", "closes": "06:00"})
    if refusal([first], TEE, moment) is None:
        assert refusal([first, second], TEE, moment) is None
    assert refusal([], TEE, moment) is None  # no catalogues: everything is orderable


def test_a_line_is_governed_only_by_the_catalogues_that_apply_to_its_method_and_location() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    collect_only = _catalogue(supply_methods=["click_and_collect"], locations=["S001"])
    assert refusal([collect_only], TEE, now) is None
    shipped = TEE.model_copy(update={"method": "home_delivery", "location_id": "W001"})
    assert refusal([collect_only], shipped, now) == (
        "TEE-WHI-M is not orderable for home_delivery from W001 (its catalogues: 'all tees')"
    )
    other = TEE.model_copy(update={"sku": "JEAN-IND-32", "style": "JEAN-IND"})
    assert refusal([collect_only], other, now) == "JEAN-IND-32 is in no order catalogue"
    closed = _catalogue(available_from=now + timedelta(days=1))
    assert "orderable only 'all tees' from 2026-12-02" in (refusal([closed], TEE, now) or "")


@pytest.mark.parametrize(
    "body",
    [
        {"catalogues": [{"name": "empty"}]},
        {"catalogues": [{"name": "x", "skus": ["A"], "timezone": "Mars/Olympus"}]},
        {"catalogues": [{"name": "x", "skus": ["A"], "days": ["funday"]}]},
        {"catalogues": [{"name": "x", "skus": ["A"]}, {"name": "x", "skus": ["B"]}]},
        {
            "catalogues": [
                {"name": "x", "skus": ["A"], "available_from": "2026-12-02T00:00:00Z",
                 "available_until": "2026-12-01T00:00:00Z"}
            ]
        },
    ],
)  # fmt: skip
def test_catalogues_that_make_no_sense_are_refused(body: dict) -> None:
    with pytest.raises(ValidationError):
        OrderCatalogues.model_validate(body)
