"""Sourcing: which locations ship a home delivery, as a pure function of the lines, the candidate locations (their
kind, whether they are enabled and online, their stock) and the sourcing settings. Each decision keeps every
candidate it considered and why each lost, so Head Office can read why an order ships from where it does.

The rules, in order:
1. only locations enabled for sourcing and not offline are candidates;
2. a location's stock counts less its safety stock;
3. the fewest locations (splits) that hold every line whole;
4. among as few, the best ranked: warehouses first (`warehouse_first`) or any kind (`nearest_store`); then open
   now before opening soonest (by each location's calendar); then nearest, by a postcode-to-location table
   (unknown distances rank last).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from itertools import combinations
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from models.locations import LocationKind
from models.text import Line

# One or two locations are searched among every candidate; three or more only among this many of the best ranked
# (exact within them): a delivery's lines fit a handful of locations, and a busy network must not slow placement.
CANDIDATES_COMBINED = 12


LocationId = Annotated[Line, Field(min_length=1, max_length=32)]
PostcodeArea = Annotated[Line, Field(min_length=1, max_length=20)]


class SourcingStrategy(StrEnum):
    warehouse_first = "warehouse_first"  # warehouses before stores, each nearest first
    nearest_store = "nearest_store"  # nearest location with stock, warehouse or store


class SourcingPolicy(BaseModel):
    """Head Office's sourcing settings (`PUT /settings/sourcing`)."""

    strategy: SourcingStrategy = SourcingStrategy.warehouse_first
    default_safety_stock: int = Field(default=0, ge=0, le=100_000, description="Units kept back at every location")
    safety_stock: dict[LocationId, int] = Field(
        default_factory=dict, max_length=1000, description="Units kept back per location id (overrides the default)"
    )
    disabled_locations: list[LocationId] = Field(
        default_factory=list, max_length=1000, description="Location ids sourcing never chooses"
    )
    distances_km: dict[PostcodeArea, Annotated[dict[LocationId, int], Field(max_length=1000)]] = Field(
        default_factory=dict,
        max_length=5000,
        description="Postcode area (the outward code's letters, e.g. `SW` for SW1A 1AA) to {location id: km}",
    )

    @field_validator("safety_stock")
    @classmethod
    def _safety_stock_not_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for location_id, units in value.items():
            if not 0 <= units <= 100_000:
                raise ValueError(f"safety stock at {location_id} must be 0..100000")
        return value

    @field_validator("distances_km")
    @classmethod
    def _distances_not_negative(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for area, table in value.items():
            for location_id, km in table.items():
                if not 0 <= km <= 40_000:
                    raise ValueError(f"distance from {area} to {location_id} must be 0..40000 km")
        return value

    def safety_stock_at(self, location_id: str) -> int:
        return self.safety_stock.get(location_id, self.default_safety_stock)


class Candidate(BaseModel):
    """A location as sourcing sees it: its available stock (on hand less reserved) of the SKUs asked for."""

    location_id: str
    kind: LocationKind
    online: bool = True  # False only when its link monitor says offline (an unmonitored location counts as online)
    available: dict[str, int] = Field(default_factory=dict)
    # Minutes until it opens by its calendar: 0 while open (and for a location without a calendar); None when it
    # does not open within the calendar's horizon.
    opens_in_minutes: int | None = 0


class LineToSource(BaseModel):
    line_id: str
    sku: str
    quantity: int


class CandidateVerdict(BaseModel):
    """One candidate and the decision about it: chosen (for which lines), or why it lost."""

    location_id: str
    kind: LocationKind
    distance_km: int | None = None
    chosen: bool = False
    line_ids: list[str] = Field(default_factory=list)
    reason: str


class SourcingDecision(BaseModel):
    """Where a delivery's lines ship from; `unsourced` lines no candidate could take whole (the caller refuses or
    backorders them)."""

    decided_at: datetime
    strategy: SourcingStrategy
    postcode: str | None = None
    assignments: dict[str, list[str]] = Field(default_factory=dict, description="location id → its line ids")
    unsourced: list[str] = Field(default_factory=list)
    candidates: list[CandidateVerdict] = Field(default_factory=list)

    @property
    def splits(self) -> int:
        return len(self.assignments)


def postcode_area(postcode: str | None) -> str | None:
    """The letters that open a UK-style postcode (`SW1A 1AA` → `SW`); the whole code, upper-cased, otherwise."""
    if not postcode:
        return None
    code = postcode.strip().upper()
    letters = ""
    for char in code:
        if not char.isalpha():
            break
        letters += char
    return letters or code


def distance(policy: SourcingPolicy, postcode: str | None, location_id: str) -> int | None:
    area = postcode_area(postcode)
    if area is None:
        return None
    table = policy.distances_km.get(area) or policy.distances_km.get((postcode or "").strip().upper()) or {}
    return table.get(location_id)


def usable(candidate: Candidate, policy: SourcingPolicy) -> dict[str, int]:
    """What sourcing may take at a location: available stock less its safety stock, never below zero."""
    keep = policy.safety_stock_at(candidate.location_id)
    return {sku: max(0, units - keep) for sku, units in candidate.available.items()}


def _rank(candidate: Candidate, policy: SourcingPolicy, postcode: str | None) -> tuple[int, int, int, int, str]:
    km = distance(policy, postcode, candidate.location_id)
    kind_rank = 0
    if policy.strategy is SourcingStrategy.warehouse_first:
        kind_rank = 0 if candidate.kind is LocationKind.warehouse else 1
    opens = candidate.opens_in_minutes if candidate.opens_in_minutes is not None else 10**9
    return (kind_rank, opens, 0 if km is not None else 1, km or 0, candidate.location_id)


def _assign(lines: list[LineToSource], stock: list[dict[str, int]]) -> list[int] | None:
    """Each line (whole) to one of the locations whose stock is given, or None when they cannot all fit. Lines go
    to the first location that can take them, backtracking when a later line finds no room."""
    left = [dict(units) for units in stock]
    chosen: list[int] = []

    def place(index: int) -> bool:
        if index == len(lines):
            return True
        line = lines[index]
        for where, units in enumerate(left):
            if units.get(line.sku, 0) >= line.quantity:
                units[line.sku] -= line.quantity
                chosen.append(where)
                if place(index + 1):
                    return True
                chosen.pop()
                units[line.sku] += line.quantity
        return False

    return chosen if place(0) else None


def source(
    lines: Iterable[LineToSource],
    candidates: Iterable[Candidate],
    policy: SourcingPolicy,
    postcode: str | None,
    now: datetime,
) -> SourcingDecision:
    """Choose where each line ships from: the fewest locations, then the best ranked; every candidate's verdict."""
    lines = [line for line in lines if line.quantity > 0]
    ranked = sorted(candidates, key=lambda c: _rank(c, policy, postcode))
    verdicts: dict[str, CandidateVerdict] = {}
    eligible: list[Candidate] = []
    for candidate in ranked:
        verdict = CandidateVerdict(
            location_id=candidate.location_id,
            kind=candidate.kind,
            distance_km=distance(policy, postcode, candidate.location_id),
            reason="",
        )
        verdicts[candidate.location_id] = verdict
        if candidate.location_id in policy.disabled_locations:
            verdict.reason = "disabled for sourcing"
        elif not candidate.online:
            verdict.reason = "offline"
        elif not any(_holds(candidate, policy, line) for line in lines):
            verdict.reason = _short(candidate, policy, lines)
        else:
            eligible.append(candidate)
    decision = SourcingDecision(decided_at=now, strategy=policy.strategy, postcode=postcode)
    # Lines no eligible location holds whole are left unsourced; the rest are placed on as few locations as can be.
    placeable = [line for line in lines if any(_holds(c, policy, line) for c in eligible)]
    decision.unsourced = [line.line_id for line in lines if line not in placeable]
    picked = _fewest(placeable, eligible, policy)
    if picked is None:  # the lines compete for the same stock: place what fits, line by line, in rank order
        picked = _greedy(placeable, eligible, policy, decision)
    for location_id, line_ids in picked:
        decision.assignments[location_id] = line_ids
        verdicts[location_id].chosen, verdicts[location_id].line_ids = True, line_ids
        verdicts[location_id].reason = "chosen"
    first = next(iter(decision.assignments), None)
    for candidate in eligible:
        verdict = verdicts[candidate.location_id]
        if not verdict.chosen:
            verdict.reason = _why_not(candidate, policy, placeable, decision, first)
    decision.candidates = list(verdicts.values())
    return decision


def _holds(candidate: Candidate, policy: SourcingPolicy, line: LineToSource) -> bool:
    return usable(candidate, policy).get(line.sku, 0) >= line.quantity


def _short(candidate: Candidate, policy: SourcingPolicy, lines: list[LineToSource]) -> str:
    stock = usable(candidate, policy)
    keep = policy.safety_stock_at(candidate.location_id)
    kept = f" after a safety stock of {keep}" if keep else ""
    shortages = ", ".join(f"{line.sku} {stock.get(line.sku, 0)} of {line.quantity}" for line in lines)
    return f"not enough stock{kept}: {shortages}"


def _fewest(
    lines: list[LineToSource], eligible: list[Candidate], policy: SourcingPolicy
) -> list[tuple[str, list[str]]] | None:
    """The fewest eligible locations that take every line whole (best ranked first among as few), or None."""
    if not lines:
        return []
    stock = [usable(candidate, policy) for candidate in eligible]
    for size in range(1, min(len(lines), len(eligible)) + 1):
        pool = len(eligible) if size <= 2 else min(len(eligible), CANDIDATES_COMBINED)
        for group in combinations(range(pool), size):
            where = _assign(lines, [stock[i] for i in group])
            if where is None:
                continue
            by_location: dict[str, list[str]] = {}
            for line, slot in zip(lines, where, strict=True):
                by_location.setdefault(eligible[group[slot]].location_id, []).append(line.line_id)
            return list(by_location.items())
    return None


def _greedy(
    lines: list[LineToSource], eligible: list[Candidate], policy: SourcingPolicy, decision: SourcingDecision
) -> list[tuple[str, list[str]]]:
    left = {candidate.location_id: usable(candidate, policy) for candidate in eligible}
    by_location: dict[str, list[str]] = {}
    for line in lines:
        where = next((c.location_id for c in eligible if left[c.location_id].get(line.sku, 0) >= line.quantity), None)
        if where is None:
            decision.unsourced.append(line.line_id)
            continue
        left[where][line.sku] -= line.quantity
        by_location.setdefault(where, []).append(line.line_id)
    return list(by_location.items())


def _why_not(
    candidate: Candidate,
    policy: SourcingPolicy,
    lines: list[LineToSource],
    decision: SourcingDecision,
    first: str | None,
) -> str:
    if first is None:
        return "not needed"
    order = "warehouses first, then nearest" if policy.strategy is SourcingStrategy.warehouse_first else "nearest first"
    if all(_holds(candidate, policy, line) for line in lines):
        if candidate.opens_in_minutes != 0:
            when = "not within a year" if candidate.opens_in_minutes is None else f"in {candidate.opens_in_minutes} min"
            return f"ranked after {first} (closed now: opens {when})"
        return f"ranked after {first} ({order})"
    if decision.splits <= 1:
        return f"{_short(candidate, policy, lines)}; {first} ships every line"
    return f"{_short(candidate, policy, lines)}; {', '.join(decision.assignments)} ship the lines in fewer splits"
