"""Further deliveries (models/delivery_stages.py): a mixed order (one line collected at a store, one delivered from
the warehouse) through the pure shell: reserved at each location, each delivery captures its own share in
`authorise` mode, the order is partially collected until the last delivery is done, and what nobody needs is
voided. Head Office's whole-order moves and changes after a shipment are refused by rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models import clearance, delivery_stages
from models.actions import BY_NAME
from models.deliveries import DeliveryMethod, DeliveryStatus
from models.delivery_views import deliveries_of
from models.events import OrderEventType, event_types_for
from models.order import AlertType, LineFulfilment, OrderState, OrderStatus, StoreEvent, StoreEventType
from models.payments import GatewayOperationKind
from models.placement import new_order
from models.placing import PlaceOrder
from models.sla import SlaPolicy
from tests.models.factories import HO, PRODUCTS, STORE, T0, WAREHOUSE_ID, order_command, refused_by
from tests.models.pure_shell import Books, FakeGateway, PureShell
from tests.models.test_placement import place

S = OrderStatus
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ",
           "country": "GB"}  # fmt: skip
TEE, JEANS = 3000, 4500  # L1: 2 × 15.00 collected at S001; L2: 1 × 45.00 delivered from W001


def mixed(mode: str = "authorise") -> OrderState:
    body: dict[str, Any] = place().model_dump(mode="json")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID}
    body["payment"] = {"mode": mode, "method": "card", "token": "tok_approve", "amount": body["payment"]["amount"]}
    return new_order("100001", PlaceOrder.model_validate(body), PRODUCTS, T0)


def shell(state: OrderState) -> PureShell:
    return PureShell(state, FakeGateway(Books()), T0)


def event(kind: str, store_id: str = STORE, event_id: str | None = None, **extra: Any) -> StoreEvent:
    return StoreEvent(
        event_id=event_id or f"E-{kind}", type=StoreEventType(kind), store_id=store_id, occurred_at=T0, **extra
    )


def shipped(**extra: Any) -> StoreEvent:
    return event("shipped", WAREHOUSE_ID, carrier="DPD", tracking_number="JD014600003GB", **extra)


def test_a_mixed_order_is_two_deliveries_each_authorised_for_its_share() -> None:
    state = mixed()
    assert [(d.delivery_id, d.method, d.location_id, d.line_ids) for d in state.deliveries] == [
        ("D1", DeliveryMethod.click_and_collect, STORE, ["L1"]),
        ("D2", DeliveryMethod.home_delivery, WAREHOUSE_ID, ["L2"]),
    ]
    assert [(p.payment_id, p.amount.amount, p.delivery_id) for p in state.payments] == [
        ("P1", TEE, "D1"),
        ("P2", JEANS, "D2"),
    ]
    assert [line.fulfilment for line in state.lines] == [LineFulfilment.click_and_collect, LineFulfilment.home_delivery]
    assert [r.line_id for r in clearance.lines_to_reserve(state)] == ["L1"]
    (further,) = delivery_stages.reservations(state)
    assert (further.location_id, [r.line_id for r in further.lines]) == (WAREHOUSE_ID, ["L2"])


def test_one_prepaid_payment_is_not_split() -> None:
    body: dict[str, Any] = place().model_dump(mode="json")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID}
    state = new_order("100001", PlaceOrder.model_validate(body), PRODUCTS, T0)
    assert [(p.amount.amount, p.delivery_id) for p in state.payments] == [(TEE + JEANS, None)]


def test_sent_out_each_location_is_told_and_the_further_delivery_is_allocated() -> None:
    run = shell(mixed())
    state = run.state
    assert state.status is S.awaiting_acknowledgement
    assert [p.status for p in state.payments] == ["authorised", "authorised"]
    (own, further) = deliveries_of(state)
    assert (own.status, further.status) == (DeliveryStatus.allocated, DeliveryStatus.allocated)


def test_each_delivery_captures_its_own_share_and_the_order_completes_with_the_last() -> None:
    run = shell(mixed())
    assert run.store(event("packed", WAREHOUSE_ID)) is None
    assert run.store(shipped()) is None
    state = run.state
    assert [(p.payment_id, p.status, p.moved_in) for p in state.payments] == [
        ("P1", "authorised", 0),
        ("P2", "captured", JEANS),
    ]
    assert state.paid().amount == JEANS and state.status is S.awaiting_acknowledgement
    assert deliveries_of(state)[1].tracking_number == "JD014600003GB"
    assert refused_by("cancel_order", state, actor=HO, reason="no") == "delivery_shipped"

    assert run.store(event("acknowledged")) is None
    assert run.store(event("picked", picked={"L1": 2})) is None
    assert run.store(event("collected")) is None
    assert state.status is S.partially_collected
    assert [(p.status, p.moved_in) for p in state.payments] == [("captured", TEE), ("captured", JEANS)]
    assert run.store(event("delivered", WAREHOUSE_ID)) is None
    assert state.status is S.completed
    assert [d.status for d in deliveries_of(state)] == [DeliveryStatus.collected, DeliveryStatus.delivered]
    assert run.books.gateway_in == TEE + JEANS and state.paid().amount == TEE + JEANS


def test_collected_first_the_order_waits_partially_collected_and_captures_the_rest_on_shipment() -> None:
    run = shell(mixed())
    for kind, extra in (("acknowledged", {}), ("picked", {"picked": {"L1": 2}}), ("collected", {})):
        assert run.store(event(kind, **extra)) is None
    state = run.state
    assert state.status is S.partially_collected and state.paid().amount == TEE
    told = [e for h in state.history for e in event_types_for(h, state)]
    assert OrderEventType.collected in told and OrderEventType.completed not in told  # not completed yet
    assert run.store(shipped()) is None
    assert run.store(event("delivered", WAREHOUSE_ID)) is None
    assert state.status is S.completed and state.paid().amount == TEE + JEANS
    last = state.history[-1]
    assert event_types_for(last, state) == [OrderEventType.completed]


def test_a_further_delivery_answers_only_its_location_and_its_stage() -> None:
    run = shell(mixed())
    assert run.store(event("delivered", WAREHOUSE_ID)) == "delivered does not apply to delivery D2 allocated"
    assert (
        run.store(event("shipped", WAREHOUSE_ID, carrier="DPD")) == "a shipped event needs carrier and tracking_number"
    )
    assert run.store(event("packed", WAREHOUSE_ID, delivery_id="D9")) == "delivery D9 is not on the order"
    assert run.store(event("packed", "S002", event_id="x", delivery_id="D2")) == "delivery D2 ships from W001, not S002"


def test_cancelling_the_order_cancels_a_delivery_not_yet_shipped_and_voids_both_authorisations() -> None:
    run = shell(mixed())
    assert run.act("cancel_order", _cancel()) is None
    state = run.state
    assert state.status is S.cancelled
    assert deliveries_of(state)[1].status is DeliveryStatus.cancelled
    assert [p.status for p in state.payments] == ["voided", "voided"] and run.books.gateway_in == 0


def test_whole_order_moves_are_refused_for_several_deliveries() -> None:
    state = shell(mixed()).state
    assert refused_by("move_to_store", state, store_id="S002", actor=HO) == "several_deliveries"


def _cancel() -> Any:
    return order_command("cancel_order", reason="customer asked", actor=HO)


def test_shipping_queues_the_capture_of_its_own_share_only() -> None:
    state = shell(mixed()).state
    delivery_stages.apply(state, shipped(), state.deliveries[1], T0)
    assert [(op.kind, op.payment_id, op.amount.amount) for op in state.operations] == [
        (GatewayOperationKind.capture, "P2", JEANS)
    ]


# ---- a location that cannot fulfil its delivery, and Head Office moving it ------------------------------------


def _move(state: OrderState, location_id: str = "S002", delivery_id: str = "D2", **extra: Any) -> Any:
    return order_command("move_delivery", delivery_id=delivery_id, location_id=location_id, actor=HO, **extra)


def test_a_rejected_delivery_raises_an_alert_naming_it_and_moving_it_clears_it() -> None:
    run = shell(mixed())
    assert run.store(event("rejected", WAREHOUSE_ID, reason="short pick: JEAN-IND-32 0 of 1")) is None
    state = run.state
    assert deliveries_of(state)[1].status is DeliveryStatus.rejected
    (alert,) = [a for a in state.alerts if a.is_open]
    assert (alert.type, alert.detail) == (AlertType.delivery_rejected, "D2 at W001: short pick: JEAN-IND-32 0 of 1")
    action = BY_NAME["move_delivery"]
    needs = action.decide_needs(state, _move(state))
    assert (needs.reserve_at, [r.line_id for r in needs.reserve]) == ("S002", ["L2"])
    assert run.act("move_delivery", _move(state)) is None
    moved = deliveries_of(state)[1]
    assert (moved.location_id, moved.status) == ("S002", DeliveryStatus.allocated)
    assert not state.has_open_alert
    assert run.store(event("shipped", "S002", event_id="E-s2", carrier="DPD", tracking_number="JD1")) is None
    assert state.payments[1].status == "captured"


def test_moving_a_delivery_releases_it_where_it_was_and_tells_both_locations() -> None:
    state = shell(mixed()).state
    effects = BY_NAME["move_delivery"].apply(state, _move(state), T0)
    assert [(r.targets, r.location_id) for r in effects.releases] == [({"L2": 0}, WAREHOUSE_ID)]
    assert [(m.type, m.store_id) for m in effects.store_messages] == [
        ("delivery_cancelled", WAREHOUSE_ID),
        ("delivery_created", "S002"),
    ]


def test_move_delivery_refusals_are_named() -> None:
    state = shell(mixed()).state
    assert refused_by("move_delivery", state, delivery_id="D9", location_id="S002", actor=HO) == "unknown_delivery"
    assert refused_by("move_delivery", state, delivery_id="D1", location_id="S002", actor=HO) == "unknown_delivery"
    assert refused_by("move_delivery", state, delivery_id="D2", location_id=WAREHOUSE_ID, actor=HO) == "same_location"
    delivery_stages.apply(state, shipped(), state.deliveries[1], T0)
    assert refused_by("move_delivery", state, delivery_id="D2", location_id="S002", actor=HO) == "delivery_not_movable"


def test_only_a_further_delivery_is_rejected() -> None:
    run = shell(mixed())
    assert run.store(event("rejected", STORE)) == "rejected does not apply to an order awaiting_acknowledgement"


# ---- SLA clocks per further delivery --------------------------------------------------------------------------


def test_each_further_delivery_runs_its_own_clock_and_its_alert_names_it() -> None:
    run = shell(mixed())
    state = run.state
    (allocated,) = delivery_stages.running_deadlines(state, run.policy)
    assert (allocated[0].delivery_id, allocated[1], allocated[2]) == (
        "D2",
        AlertType.not_packed,
        T0 + timedelta(days=1),
    )
    run.store(event("acknowledged"))  # the order's own journey moves on; D2's clock keeps running
    run.later(timedelta(days=1))
    (alert,) = [a for a in state.alerts if a.is_open and a.delivery_id]  # besides the order's own not_picked
    assert (alert.type, alert.delivery_id) == (AlertType.not_packed, "D2")
    assert alert.detail.startswith("D2 at W001: SLA of")
    run.store(event("packed", WAREHOUSE_ID))
    assert not alert.is_open  # D2 left the stage that caused it
    assert [(d.delivery_id, t) for d, t, _due in delivery_stages.running_deadlines(state, run.policy)] == [
        ("D2", AlertType.not_shipped)
    ]


# ---- edges: a shortage anywhere holds the order; the customer never comes for the collection ------------------


def test_short_at_any_location_holds_the_whole_order_and_a_release_sends_every_delivery_out() -> None:
    state = mixed()
    run = PureShell.__new__(PureShell)
    run.state, run.gateway, run.now = state, FakeGateway(Books()), T0
    run.policy, run.stock_short, run.books = SlaPolicy(), True, run.gateway.books  # every location is short
    run.decide(lambda now: None)
    run.move_money()
    assert state.status is S.on_hold
    assert [d.status for d in deliveries_of(state)] == [DeliveryStatus.on_hold, DeliveryStatus.placed]
    run.stock_short = False
    assert run.act("release_hold", order_command("release_hold", actor=HO)) is None
    assert state.status is S.awaiting_acknowledgement
    assert [d.status for d in deliveries_of(state)] == [DeliveryStatus.allocated, DeliveryStatus.allocated]


def test_not_collected_after_the_parcel_shipped_keeps_the_parcel_paid_and_voids_the_rest() -> None:
    run = shell(mixed())
    assert run.store(shipped()) is None
    for kind, extra in (("acknowledged", {}), ("picked", {"picked": {"L1": 2}})):
        assert run.store(event(kind, **extra)) is None
    assert run.store(event("not_collected")) is None
    state = run.state
    assert state.status is S.cancelled
    assert [(line.line_id, line.quantity) for line in state.lines] == [("L1", 0), ("L2", 1)]
    assert [(p.payment_id, p.status) for p in state.payments] == [("P1", "voided"), ("P2", "captured")]
    assert state.paid().amount == JEANS and run.books.gateway_in == JEANS


# ---- split lines off into a new home delivery ------------------------------------------------------------------


def _split(line_ids: list[str], location: str = "S002", **extra: Any) -> Any:
    return order_command("split_delivery", line_ids=line_ids, from_location=location, actor=HO, **extra)


def collected_two_lines() -> PureShell:
    """A click & collect order of two lines, sent to S001."""
    return shell(new_order("100001", place(), PRODUCTS, T0))


def test_a_line_to_be_collected_is_delivered_instead_as_a_new_delivery() -> None:
    run = collected_two_lines()
    state = run.state
    assert refused_by("split_delivery", state, line_ids=["L2"], from_location=WAREHOUSE_ID, actor=HO) is None
    assert run.act("split_delivery", _split(["L2"], WAREHOUSE_ID, address=ADDRESS)) is None
    own, new = deliveries_of(state)
    assert (own.delivery_id, own.lines) == ("D1", ["L1"])
    assert (new.delivery_id, new.method, new.location_id, new.status, new.lines) == (
        "D2",
        DeliveryMethod.home_delivery,
        WAREHOUSE_ID,
        DeliveryStatus.allocated,
        ["L2"],
    )
    assert state.lines[1].fulfilment is LineFulfilment.home_delivery
    assert state.store_update_pending_since is not None  # the collection store picks one line fewer
    effects = BY_NAME["split_delivery"].apply(
        collected_two_lines().state, _split(["L2"], WAREHOUSE_ID, address=ADDRESS), T0
    )
    assert [(r.targets, r.location_id) for r in effects.releases] == [({"L2": 0}, STORE)]
    assert ("delivery_created", WAREHOUSE_ID) in [(m.type, m.store_id) for m in effects.store_messages]


def test_a_further_delivery_splits_into_two_and_each_ships_on_its_own() -> None:
    body: dict[str, Any] = place(
        lines=[("TEE-WHI-M", 2, 1500), ("JEAN-IND-32", 1, 4500), ("TEE-WHI-M", 1, 1500)]
    ).model_dump(mode="json")
    for line in body["lines"][1:]:
        line["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID}
    run = shell(new_order("100001", PlaceOrder.model_validate(body), PRODUCTS, T0))
    state = run.state
    assert run.act("split_delivery", _split(["L3"])) is None
    assert [(d.delivery_id, d.location_id, d.lines) for d in deliveries_of(state)] == [
        ("D1", STORE, ["L1"]),
        ("D2", WAREHOUSE_ID, ["L2"]),
        ("D3", "S002", ["L3"]),
    ]
    assert deliveries_of(state)[2].address is not None  # the parcel goes where D2 was going
    assert run.store(shipped()) is None
    assert run.store(event("shipped", "S002", event_id="E-s3", carrier="DPD", tracking_number="JD2")) is None
    assert [d.status for d in deliveries_of(state)[1:]] == [DeliveryStatus.shipped, DeliveryStatus.shipped]


def test_split_refusals_are_named() -> None:
    run = collected_two_lines()
    state = run.state
    assert (
        refused_by("split_delivery", state, line_ids=["L1", "L2"], from_location="S002", actor=HO) == "whole_delivery"
    )
    assert (
        refused_by("split_delivery", state, line_ids=["L2"], from_location=STORE, actor=HO, address=None)
        == "address_needed"
    )
    assert refused_by("split_delivery", state, line_ids=["L2"], from_location=STORE, actor=HO) == "same_location"
    assert refused_by("split_delivery", state, line_ids=["L9"], from_location="S002", actor=HO) == "unknown_line"
    unsent = mixed()
    assert refused_by("split_delivery", unsent, line_ids=["L1"], from_location="S002", actor=HO) == "order_not_sent"
    sent = shell(mixed()).state
    assert (
        refused_by("split_delivery", sent, line_ids=["L1", "L2"], from_location="S002", actor=HO)
        == "lines_in_several_deliveries"
    )
    assert refused_by("split_delivery", sent, line_ids=["L2"], from_location="S002", actor=HO) == "whole_delivery"
    state.lines[1].fulfilment = LineFulfilment.buy_in_store
    assert refused_by("split_delivery", state, line_ids=["L2"], from_location="S002", actor=HO) == "not_collected_lines"
    state.lines[1].fulfilment = LineFulfilment.click_and_collect
    state.lines[1].picked_quantity = 1
    assert refused_by("split_delivery", state, line_ids=["L2"], from_location="S002", actor=HO) == "already_picked"


def test_an_item_the_collection_store_lacks_ships_as_a_new_delivery() -> None:
    run = shell(mixed())
    state = run.state
    command = order_command("add_item", actor=HO, ship_from="S002", address=ADDRESS)
    needs = BY_NAME["add_item"].decide_needs(state, command)
    assert (needs.reserve_at, [r.line_id for r in needs.reserve]) == ("S002", ["L3"])
    effects = BY_NAME["add_item"].apply(state, command, T0)
    assert [(m.type, m.store_id) for m in effects.store_messages] == [("delivery_created", "S002")]
    assert [(d.delivery_id, d.location_id, d.status, d.lines) for d in deliveries_of(state)][2] == (
        "D3",
        "S002",
        DeliveryStatus.allocated,
        ["L3"],
    )
    assert state.lines[2].fulfilment is LineFulfilment.home_delivery
    assert [op.kind for op in state.operations] == [GatewayOperationKind.authorise]  # its price, on the card


def _three_deliveries() -> PureShell:
    """D1 collected at S001; D2 and D3 delivered from W001 to the same address; one authorise card per delivery."""
    lines = [("TEE-WHI-M", 2, 1500), ("JEAN-IND-32", 1, 4500), ("TEE-WHI-M", 1, 1500)]
    body: dict[str, Any] = place(lines=lines).model_dump(mode="json")
    body["payment"] = {
        "mode": "authorise",
        "method": "card",
        "token": "tok_approve",
        "amount": body["payment"]["amount"],
    }
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": WAREHOUSE_ID}
    body["lines"][2]["fulfilment"] = {
        "method": "home_delivery",
        "address": {**ADDRESS, "line2": "Flat 2"},
        "location_id": WAREHOUSE_ID,
    }
    run = shell(new_order("100001", PlaceOrder.model_validate(body), PRODUCTS, T0))
    run.state.deliveries[2].address = run.state.deliveries[1].address  # the same address after all
    return run


def test_two_deliveries_from_one_location_to_one_address_merge_into_one_parcel() -> None:
    run = _three_deliveries()
    state = run.state
    assert [(p.payment_id, p.delivery_id) for p in state.payments] == [("P1", "D1"), ("P2", "D2"), ("P3", "D3")]
    assert run.act("merge_deliveries", order_command("merge_deliveries", actor=HO)) is None
    assert [(d.delivery_id, d.lines) for d in deliveries_of(state)] == [("D1", ["L1"]), ("D2", ["L2", "L3"])]
    assert [p.delivery_id for p in state.payments] == ["D1", "D2", "D2"]
    assert run.store(shipped()) is None
    assert [(p.payment_id, p.status) for p in state.payments] == [
        ("P1", "authorised"),
        ("P2", "captured"),
        ("P3", "captured"),
    ]


def test_merge_refusals_are_named() -> None:
    state = _three_deliveries().state
    merge = "merge_deliveries"
    assert refused_by(merge, state, delivery_id="D2", into="D2", actor=HO) == "same_delivery"
    assert refused_by(merge, state, delivery_id="D1", into="D2", actor=HO) == "unknown_delivery"
    state.deliveries[2].address = None
    assert refused_by(merge, state, actor=HO) == "not_one_parcel"
    state.deliveries[2].status = DeliveryStatus.ready_to_ship
    assert refused_by(merge, state, actor=HO) == "delivery_not_movable"
