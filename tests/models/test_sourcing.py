"""Sourcing (models/sourcing.py): which locations ship a home delivery, and why every other candidate lost."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.locations import LocationKind
from models.sourcing import (
    Candidate,
    LineToSource,
    SourcingPolicy,
    SourcingStrategy,
    postcode_area,
    source,
    usable,
)
from tests.models.factories import T0

TEE, JEAN = "TEE-WHI-M", "JEAN-IND-32"
DISTANCES = {"SW": {"W001": 80, "W002": 20, "S001": 2, "S002": 9}}


def lines(*wanted: tuple[str, int]) -> list[LineToSource]:
    return [LineToSource(line_id=f"L{i}", sku=sku, quantity=q) for i, (sku, q) in enumerate(wanted, start=1)]


def at(location_id: str, online: bool = True, **stock: int) -> Candidate:
    kind = LocationKind.warehouse if location_id.startswith("W") else LocationKind.store
    skus = {"tee": TEE, "jean": JEAN}
    return Candidate(
        location_id=location_id, kind=kind, online=online, available={skus[k]: v for k, v in stock.items()}
    )


def test_warehouse_first_chooses_the_nearest_warehouse_with_stock_over_a_nearer_store() -> None:
    policy = SourcingPolicy(distances_km=DISTANCES)
    decision = source(
        lines((TEE, 2)), [at("S001", tee=5), at("W001", tee=5), at("W002", tee=5)], policy, "SW1Y 4JU", T0
    )
    assert decision.assignments == {"W002": ["L1"]}
    reasons = {v.location_id: v.reason for v in decision.candidates}
    assert reasons["W002"] == "chosen"
    assert reasons["W001"] == "ranked after W002 (warehouses first, then nearest)"
    assert reasons["S001"] == "ranked after W002 (warehouses first, then nearest)"
    assert {v.location_id: v.distance_km for v in decision.candidates} == {"W002": 20, "W001": 80, "S001": 2}


def test_nearest_store_chooses_the_nearest_location_of_any_kind() -> None:
    policy = SourcingPolicy(strategy=SourcingStrategy.nearest_store, distances_km=DISTANCES)
    decision = source(lines((TEE, 2)), [at("S002", tee=5), at("W002", tee=5), at("S001", tee=5)], policy, "SW3", T0)
    assert decision.assignments == {"S001": ["L1"]}
    assert [v.location_id for v in decision.candidates] == ["S001", "S002", "W002"]  # nearest first


def test_offline_disabled_and_short_locations_lose_and_say_why() -> None:
    policy = SourcingPolicy(disabled_locations=["W002"], safety_stock={"S001": 2})
    decision = source(
        lines((TEE, 2)),
        [at("W001", online=False, tee=9), at("W002", tee=9), at("S001", tee=3), at("S002", tee=2)],
        policy,
        None,
        T0,
    )
    assert decision.assignments == {"S002": ["L1"]}
    reasons = {v.location_id: v.reason for v in decision.candidates}
    assert reasons == {
        "W001": "offline",
        "W002": "disabled for sourcing",
        "S001": f"not enough stock after a safety stock of 2: {TEE} 1 of 2",
        "S002": "chosen",
    }


def test_one_location_holding_every_line_beats_two_nearer_ones() -> None:
    policy = SourcingPolicy(strategy=SourcingStrategy.nearest_store, distances_km=DISTANCES)
    decision = source(
        lines((TEE, 1), (JEAN, 1)),
        [at("S001", tee=1), at("S002", jean=1), at("W001", tee=1, jean=1)],
        policy,
        "SW1",
        T0,
    )
    assert decision.assignments == {"W001": ["L1", "L2"]} and decision.splits == 1


def test_lines_no_one_location_holds_are_split_across_as_few_as_needed() -> None:
    decision = source(
        lines((TEE, 1), (JEAN, 1), (TEE, 1)),
        [at("S001", tee=2), at("S002", jean=1), at("W001", tee=1)],
        SourcingPolicy(),
        None,
        T0,
    )
    assert decision.splits == 2
    assert decision.assignments == {"S001": ["L1", "L3"], "S002": ["L2"]}
    assert decision.unsourced == []


def test_a_line_nobody_holds_is_left_unsourced() -> None:
    decision = source(lines((TEE, 3), (JEAN, 1)), [at("S001", tee=2, jean=1)], SourcingPolicy(), None, T0)
    assert decision.unsourced == ["L1"] and decision.assignments == {"S001": ["L2"]}


def test_postcode_area_is_the_opening_letters() -> None:
    assert [postcode_area(p) for p in ("SW1Y 4JU", "m1 1ae", "75001", None)] == ["SW", "M", "75001", None]


# ---- properties ------------------------------------------------------------------------------------------------

LOCATIONS = ["W001", "W002", "S001", "S002", "S003"]
candidate_sets = st.lists(
    st.builds(
        lambda location_id, online, tee, jean: at(location_id, online=online, tee=tee, jean=jean),
        st.sampled_from(LOCATIONS),
        st.booleans(),
        st.integers(0, 4),
        st.integers(0, 4),
    ),
    max_size=5,
    unique_by=lambda c: c.location_id,
)
line_sets = st.lists(st.tuples(st.sampled_from([TEE, JEAN]), st.integers(1, 3)), min_size=1, max_size=4)
policies = st.builds(
    SourcingPolicy,
    strategy=st.sampled_from(list(SourcingStrategy)),
    default_safety_stock=st.integers(0, 2),
    disabled_locations=st.lists(st.sampled_from(LOCATIONS), max_size=2),
    distances_km=st.just(DISTANCES),
)


@settings(max_examples=300, deadline=None)
@given(candidate_sets, line_sets, policies)
def test_never_a_location_without_stock_offline_or_disabled(
    candidates: list[Candidate], wanted: list[tuple[str, int]], policy: SourcingPolicy
) -> None:
    asked = lines(*wanted)
    decision = source(asked, candidates, policy, "SW1", T0)
    by_id = {c.location_id: c for c in candidates}
    by_line = {line.line_id: line for line in asked}
    for location_id, line_ids in decision.assignments.items():
        candidate = by_id[location_id]
        assert candidate.online and location_id not in policy.disabled_locations
        room = usable(candidate, policy)  # after safety stock
        for line_id in line_ids:
            room[by_line[line_id].sku] = room.get(by_line[line_id].sku, 0) - by_line[line_id].quantity
        assert all(units >= 0 for units in room.values()), f"{location_id} over-allocated"
    placed = [i for ids in decision.assignments.values() for i in ids]
    assert sorted(placed + decision.unsourced) == sorted(by_line)  # every line once, placed or unsourced


def _fits(asked: list[LineToSource], group: list[Candidate], policy: SourcingPolicy) -> bool:
    """Brute force: can these locations take every line whole between them?"""
    rooms = [usable(c, policy) for c in group]

    def place(index: int) -> bool:
        if index == len(asked):
            return True
        line = asked[index]
        for room in rooms:
            if room.get(line.sku, 0) >= line.quantity:
                room[line.sku] -= line.quantity
                if place(index + 1):
                    return True
                room[line.sku] += line.quantity
        return False

    return place(0)


@settings(max_examples=300, deadline=None)
@given(candidate_sets, line_sets, policies)
def test_never_more_splits_than_needed(
    candidates: list[Candidate], wanted: list[tuple[str, int]], policy: SourcingPolicy
) -> None:
    asked = lines(*wanted)
    decision = source(asked, candidates, policy, "SW1", T0)
    eligible = [c for c in candidates if c.online and c.location_id not in policy.disabled_locations]
    if decision.unsourced:
        return  # some line no location holds: nothing to compare against
    fewest = next(
        size
        for size in range(len(eligible) + 1)
        if any(_fits(asked, list(group), policy) for group in combinations(eligible, size))
    )
    assert decision.splits == fewest


def test_an_open_location_is_chosen_before_a_nearer_one_that_is_closed() -> None:
    policy = SourcingPolicy(strategy=SourcingStrategy.nearest_store, distances_km=DISTANCES)
    closed = at("S001", tee=5).model_copy(update={"opens_in_minutes": 45})
    decision = source(lines((TEE, 2)), [closed, at("S002", tee=5)], policy, "SW3", T0)
    assert decision.assignments == {"S002": ["L1"]}
    reasons = {v.location_id: v.reason for v in decision.candidates}
    assert reasons["S001"] == "ranked after S002 (closed now: opens in 45 min)"
    sooner = at("S002", tee=5).model_copy(update={"opens_in_minutes": 20})
    assert source(lines((TEE, 2)), [closed, sooner], policy, "SW3", T0).assignments == {"S002": ["L1"]}
