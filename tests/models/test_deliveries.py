"""Placement per line and deliveries (models/deliveries.py, models/delivery_views.py, models/placement.py): old
single-fulfilment bodies keep working, lines group into deliveries, and every order view lists them."""

from __future__ import annotations

from typing import Any

from models import clearance
from models.catalogue import ReservationOutcome
from models.deliveries import DeliveryMethod, DeliveryStatus, group_lines
from models.delivery_views import deliveries_of
from models.order import LineFulfilment, OrderStatus
from models.placement import FieldProblem, fulfilment_problems, new_order, placement_problems
from models.placing import PlaceOrder
from models.sourcing import SourcingDecision, SourcingStrategy
from models.views import for_api
from tests.models.factories import OPEN_STORE, PRODUCTS, STORE, T0, WAREHOUSE_ID, make_state
from tests.models.test_placement import place

ADDRESS = {"name": "Ada Lovelace", "line1": "1 St James's Square", "city": "London", "postcode": "SW1Y 4JU",
           "country": "GB"}  # fmt: skip


def placed(fulfilment: dict[str, Any], line_fulfilments: list[dict[str, Any] | None] | None = None) -> PlaceOrder:
    body = place().model_dump(mode="json")
    body["fulfilment"] = fulfilment
    for line, own in zip(body["lines"], line_fulfilments or [], strict=False):
        if own is not None:
            line["fulfilment"] = own
    return PlaceOrder.model_validate(body)


def test_old_single_fulfilment_body_makes_one_click_and_collect_delivery() -> None:
    order = place()  # {"method": "click_and_collect", "store_id": ...}: the body every channel sends today
    assert fulfilment_problems(order) == []
    state = new_order("100001", order, PRODUCTS, T0)
    assert state.store_id == STORE
    assert [(d.delivery_id, d.method, d.location_id, d.line_ids) for d in state.deliveries] == [
        ("D1", DeliveryMethod.click_and_collect, STORE, ["L1", "L2"])
    ]
    view = for_api(state).deliveries
    assert [(d.delivery_id, d.method, d.status, d.lines) for d in view] == [
        ("D1", DeliveryMethod.click_and_collect, DeliveryStatus.placed, ["L1", "L2"])
    ]


def test_lines_repeating_the_order_fulfilment_stay_one_delivery() -> None:
    same = {"method": "click_and_collect", "store_id": STORE}
    order = placed(same, [same, None])
    assert len(group_lines(order)) == 1
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == []


def test_lines_placed_two_ways_are_two_deliveries_the_collection_first() -> None:
    home = {"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID}
    order = placed(home, [home, {"method": "click_and_collect", "store_id": STORE}])
    assert [g.method for g in group_lines(order)] == [DeliveryMethod.home_delivery, DeliveryMethod.click_and_collect]
    assert fulfilment_problems(order) == []
    state = new_order("100001", order, PRODUCTS, T0)
    assert [(d.delivery_id, d.method, d.line_ids) for d in state.deliveries] == [
        ("D1", DeliveryMethod.click_and_collect, ["L2"]),
        ("D2", DeliveryMethod.home_delivery, ["L1"]),
    ]
    assert (state.store_id, state.dispatch_location, state.fulfilment_method) == (STORE, None, "click_and_collect")


def test_an_order_is_collected_at_one_store() -> None:
    order = placed(
        {"method": "click_and_collect", "store_id": STORE}, [None, {"method": "click_and_collect", "store_id": "S002"}]
    )
    assert fulfilment_problems(order) == [
        FieldProblem("lines", "an order is collected at one store, not 2 (S001, S002)")
    ]


def test_each_named_location_is_checked_by_its_field() -> None:
    order = placed(
        {"method": "click_and_collect", "store_id": STORE},
        [None, {"method": "home_delivery", "address": ADDRESS, "location_id": "W999"}],
    )
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [
        FieldProblem("lines[1].fulfilment.location_id", "unknown location 'W999'")
    ]


def test_each_method_names_what_it_lacks_by_field() -> None:
    assert fulfilment_problems(placed({"method": "home_delivery"})) == [
        FieldProblem("fulfilment.address", "home_delivery needs the delivery address")
    ]
    assert fulfilment_problems(
        placed({"method": "click_and_collect", "store_id": STORE}, [None, {"method": "click_and_collect"}])
    )[0] == FieldProblem("lines[1].fulfilment.store_id", "click_and_collect needs the store")
    wrong = placed({"method": "click_and_collect", "store_id": STORE, "address": ADDRESS})
    assert [p.field for p in fulfilment_problems(wrong)] == ["fulfilment"]


def test_home_delivery_from_a_named_location_is_an_order_dispatched_from_it() -> None:
    order = placed({"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID})
    assert placement_problems(order, PRODUCTS, None) == [
        FieldProblem("fulfilment.location_id", f"unknown location {WAREHOUSE_ID!r}")
    ]
    state = new_order("100001", order, PRODUCTS, T0)
    assert (state.store_id, state.dispatch_location, state.fulfilment_method) == (
        WAREHOUSE_ID,
        WAREHOUSE_ID,
        "home_delivery",
    )
    assert state.delivery_address is not None and state.delivery_address.postcode == "SW1Y 4JU"
    assert {line.fulfilment for line in state.lines} == {LineFulfilment.home_delivery}
    (delivery,) = for_api(state).deliveries
    assert (delivery.method, delivery.location_id, delivery.sourcing) == (
        DeliveryMethod.home_delivery,
        WAREHOUSE_ID,
        None,
    )


def test_a_sourced_home_delivery_keeps_its_decision() -> None:
    order = placed({"method": "home_delivery", "address": ADDRESS})
    decision = SourcingDecision(
        decided_at=T0, strategy=SourcingStrategy.warehouse_first, assignments={WAREHOUSE_ID: ["L1", "L2"]}
    )
    state = new_order("100001", order, PRODUCTS, T0, sourced={0: decision})
    (delivery,) = for_api(state).deliveries
    assert delivery.location_id == WAREHOUSE_ID and delivery.sourcing == decision


def test_an_order_placed_before_deliveries_shows_one_derived_from_it() -> None:
    state = make_state(OrderStatus.ready_for_collection)
    assert state.deliveries == []
    (delivery,) = deliveries_of(state)
    assert (delivery.delivery_id, delivery.method, delivery.location_id, delivery.status, delivery.lines) == (
        "D1",
        DeliveryMethod.click_and_collect,
        STORE,
        DeliveryStatus.ready_for_collection,
        ["L1", "L2"],
    )


def test_lines_held_to_buy_in_store_show_as_a_direct_sale_at_the_store() -> None:
    state = make_state(OrderStatus.completed)
    state.lines[1].fulfilment = LineFulfilment.buy_in_store
    collect, till = deliveries_of(state)
    assert (collect.method, collect.lines, collect.status) == (
        DeliveryMethod.click_and_collect,
        ["L1"],
        DeliveryStatus.collected,
    )
    assert (till.delivery_id, till.method, till.location_id, till.lines, till.status) == (
        "D2",
        DeliveryMethod.direct_sale,
        STORE,
        ["L2"],
        DeliveryStatus.sold,
    )


def test_an_order_switched_to_home_delivery_shows_its_dispatch_location() -> None:
    state = make_state(OrderStatus.awaiting_dispatch, dispatch_location=WAREHOUSE_ID)
    for line in state.lines:
        line.fulfilment = LineFulfilment.home_delivery
    (delivery,) = deliveries_of(state)
    assert (delivery.method, delivery.location_id, delivery.status) == (
        DeliveryMethod.home_delivery,
        WAREHOUSE_ID,
        DeliveryStatus.allocated,
    )


def test_a_direct_sale_is_for_the_store_and_phone_channels_and_is_the_whole_order() -> None:
    sale = {"method": "direct_sale", "store_id": STORE}
    assert fulfilment_problems(placed(sale)) == [
        FieldProblem("fulfilment.method", "a direct sale is for the store and phone channels")
    ]
    at_till = PlaceOrder.model_validate({**placed(sale).model_dump(mode="json"), "channel": "store"})
    assert fulfilment_problems(at_till) == []
    mixed = at_till.model_dump(mode="json")
    mixed["lines"][1]["fulfilment"] = {"method": "click_and_collect", "store_id": STORE}
    assert [p.field for p in fulfilment_problems(PlaceOrder.model_validate(mixed))] == ["lines"]


def test_a_direct_sale_completes_at_once_when_sent_out() -> None:
    order = PlaceOrder.model_validate(
        {**placed({"method": "direct_sale", "store_id": STORE}).model_dump(mode="json"), "channel": "store"}
    )
    state = new_order("100001", order, PRODUCTS, T0)
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == []
    state.cleared_at = T0
    effects = clearance.after_reservation(state, ReservationOutcome(reserved=True), T0)
    assert state.status is OrderStatus.completed and effects.commit_at == STORE
    assert effects.store_messages == []
    (delivery,) = for_api(state).deliveries
    assert (delivery.method, delivery.status) == (DeliveryMethod.direct_sale, DeliveryStatus.sold)
