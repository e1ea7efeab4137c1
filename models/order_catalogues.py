"""Order catalogues (pure rules): what may be ordered, by time of ordering, supply method and fulfilling location.

Head Office names groups of products (SKUs or whole styles) and says when each group may be ordered (from / until,
and optionally on some weekdays and between some hours, in the catalogue's time zone), for which supply methods and
from which fulfilling locations. With no catalogue defined everything is orderable (Baton's behaviour before
catalogues). Once one is defined, a line may be placed only when some catalogue that applies to the line's supply
method and location holds its product and is open at the moment of ordering; else placement answers 422 naming
`lines[i].sku` and why (models/placement.py `placement_problems`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from models.calendar import WEEKDAYS, Span
from models.text import Line

SupplyMethod = Literal["click_and_collect", "home_delivery", "direct_sale"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/London'") from None
    return name


class OrderCatalogue(BaseModel):
    """One named group of products and when, how and from where it may be ordered. Empty lists mean "any"."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=64)
    skus: list[Annotated[Line, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=5000)
    styles: list[Annotated[Line, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=1000, description="Every size and colour of these styles"
    )
    available_from: AwareDatetime | None = Field(default=None, description="Orderable from this moment")
    available_until: AwareDatetime | None = Field(default=None, description="Orderable until (not at) this moment")
    days: list[Weekday] = Field(default_factory=list, max_length=7, description="Only on these weekdays (any: empty)")
    hours: Span | None = Field(default=None, description="Only between these local times (any time: left out)")
    timezone: Annotated[Line, AfterValidator(_zone)] = Field(default="UTC", max_length=64, examples=["Europe/London"])
    supply_methods: list[SupplyMethod] = Field(default_factory=list, max_length=3, description="Any: empty")
    locations: list[Annotated[Line, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=500, description="Fulfilling locations (any: empty)"
    )

    @model_validator(mode="after")
    def _a_window_that_opens(self) -> Self:
        if not self.skus and not self.styles:
            raise ValueError(f"catalogue {self.name!r} names no SKUs or styles")
        if self.available_from and self.available_until and self.available_until <= self.available_from:
            raise ValueError(f"catalogue {self.name!r}: available_until must be after available_from")
        return self

    def holds(self, sku: str, style: str) -> bool:
        return sku in self.skus or style in self.styles

    def applies_to(self, method: str, location_id: str | None) -> bool:
        """Whether the catalogue governs a line fulfilled this way from this location (None: not known yet, only a
        catalogue for any location applies)."""
        if self.supply_methods and method not in self.supply_methods:
            return False
        return not self.locations or location_id in self.locations

    def open_at(self, moment: datetime) -> bool:
        """Whether the catalogue's window is open at this moment: between from and until, on one of its days, in its
        hours (local time in its zone)."""
        if self.available_from is not None and moment < self.available_from:
            return False
        if self.available_until is not None and moment >= self.available_until:
            return False
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.days and WEEKDAYS[local.weekday()] not in self.days:
            return False
        if self.hours is not None:
            minute = local.hour * 60 + local.minute
            return _minutes(self.hours.opens) <= minute < _minutes(self.hours.closes)
        return True

    def window(self) -> str:
        """The window in words, for refusals."""
        parts = []
        if self.available_from:
            parts.append(f"from {self.available_from.isoformat()}")
        if self.available_until:
            parts.append(f"until {self.available_until.isoformat()}")
        if self.days:
            parts.append("on " + ", ".join(self.days))
        if self.hours:
            parts.append(f"{self.hours.opens}–{self.hours.closes} {self.timezone}")
        return " ".join(parts) or "at any time"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class OrderCatalogues(BaseModel):
    """`GET/PUT /settings/catalogues`: none (the default) leaves everything orderable."""

    model_config = ConfigDict(extra="forbid")

    catalogues: list[OrderCatalogue] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        names = [catalogue.name for catalogue in self.catalogues]
        if len(names) != len(set(names)):
            raise ValueError("each catalogue has its own name")
        return self


class LineToOrder(BaseModel):
    """A line as the catalogue rule judges it: its product and how and from where it would be fulfilled."""

    sku: str
    style: str
    method: str
    location_id: str | None = None


def refusal(catalogues: Sequence[OrderCatalogue], line: LineToOrder, now: datetime) -> str | None:
    """Why this line may not be ordered now, or None. With no catalogues, nothing is refused."""
    if not catalogues:
        return None
    holding = [c for c in catalogues if c.holds(line.sku, line.style)]
    if not holding:
        return f"{line.sku} is in no order catalogue"
    applying = [c for c in holding if c.applies_to(line.method, line.location_id)]
    if not applying:
        where = f" from {line.location_id}" if line.location_id else ""
        names = ", ".join(repr(c.name) for c in holding)
        return f"{line.sku} is not orderable for {line.method}{where} (its catalogues: {names})"
    if any(c.open_at(now) for c in applying):
        return None
    windows = "; ".join(f"{c.name!r} {c.window()}" for c in applying)
    return f"{line.sku} is orderable only {windows}, not at {now.isoformat()}"
