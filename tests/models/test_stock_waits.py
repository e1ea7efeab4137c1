"""Preorders and backorders (models/stock_waits.py) through the pure shell: a preorder reserves on its release date, a
backorder short of stock tries again every hour until replenished, and is held for Head Office at its deadline."""

from __future__ import annotations

from datetime import timedelta

from models import deadlines, delivery_stages, stock_waits
from models.catalogue import ReservationOutcome
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus
from models.order import AlertType, HoldReason, OrderStatus
from models.placement import new_order
from models.placing import PlaceOrder
from models.sla import SlaPolicy
from models.stock_waits import BACKORDER_RECHECK
from tests.models.factories import HO, PRODUCTS, T0, order_command, refused_by
from tests.models.pure_shell import Books, FakeGateway, PureShell
from tests.models.test_placement import place

S = OrderStatus


def shell(**waits: object) -> PureShell:
    order = PlaceOrder.model_validate({**place().model_dump(mode="json"), **waits})
    return PureShell(new_order("100001", order, PRODUCTS, T0), FakeGateway(Books()), T0)


def test_a_preorder_waits_for_its_release_date_then_goes_to_its_store() -> None:
    release = T0 + timedelta(days=3)
    run = shell(release_at=release.isoformat())
    assert run.state.status is S.awaiting_release and run.state.cleared_at is None
    assert deadlines.next_wakeup(run.state, SlaPolicy()) == release
    run.later(timedelta(days=2))
    assert run.state.status is S.awaiting_release
    run.later(timedelta(days=1))
    assert run.state.status is S.awaiting_acknowledgement


def test_a_backorder_tries_again_every_hour_and_goes_out_once_replenished() -> None:
    assert shell(backorder_for="P2D").state.status is S.awaiting_acknowledgement  # stock was there: no wait

    run = _short_backorder()
    assert run.state.status is S.backordered and not run.state.has_open_alert
    assert deadlines.next_wakeup(run.state, SlaPolicy()) == T0 + BACKORDER_RECHECK
    run.later(BACKORDER_RECHECK)
    assert run.state.status is S.backordered  # still short
    run.stock_short = False  # replenished
    run.later(BACKORDER_RECHECK)
    assert run.state.status is S.awaiting_acknowledgement


def test_a_backorder_not_replenished_in_time_is_held_for_head_office() -> None:
    run = _short_backorder()
    run.later(timedelta(days=2))
    assert run.state.status is S.on_hold and run.state.hold_reason is HoldReason.stock_shortage
    assert [a.type for a in run.state.alerts if a.is_open] == [AlertType.stock_shortage]


def test_head_office_may_cancel_a_waiting_order() -> None:
    run = shell(release_at=(T0 + timedelta(days=3)).isoformat())
    assert refused_by("cancel_order", run.state, actor=HO) is None
    assert run.act("cancel_order", order_command("cancel_order", actor=HO)) is None
    assert run.state.status is S.cancelled


def _short_backorder() -> PureShell:
    """A backorder placed while its store is short (the shell's reservation fails until `stock_short` is False)."""
    order = PlaceOrder.model_validate({**place().model_dump(mode="json"), "backorder_for": "P2D"})
    state = new_order("100001", order, PRODUCTS, T0)
    run = PureShell.__new__(PureShell)
    run.state, run.gateway, run.now = state, FakeGateway(Books()), T0
    run.policy, run.stock_short, run.books = SlaPolicy(), True, run.gateway.books
    run.books.outside_in += sum(p.moved_in for p in state.payments)
    run.decide(lambda now: None)
    run.move_money()
    return run


def _waiting(short: bool, **waits: object) -> PureShell:
    """An order with the backorder and preorder clocks (a new order's workflow sets them), its store short or not."""
    order = PlaceOrder.model_validate({**place().model_dump(mode="json"), **waits})
    state = new_order("100001", order, PRODUCTS, T0)
    state.waits_have_clocks = True
    run = PureShell.__new__(PureShell)
    run.state, run.gateway, run.now = state, FakeGateway(Books()), T0
    run.policy, run.stock_short, run.books = SlaPolicy(), short, run.gateway.books
    run.books.outside_in += sum(p.moved_in for p in state.payments)
    run.decide(lambda now: None)
    run.move_money()
    return run


def _open(run: PureShell) -> list[AlertType]:
    return [a.type for a in run.state.alerts if a.is_open]


def test_a_backorder_not_replenished_within_its_sla_raises_backorder_overdue_and_keeps_waiting() -> None:
    run = _waiting(short=True, backorder_for="P7D")
    assert run.state.status is S.backordered
    run.later(timedelta(days=2, hours=23))
    assert _open(run) == []
    run.later(timedelta(hours=1))
    assert run.state.status is S.backordered and _open(run) == [AlertType.backorder_overdue]
    assert run.state.alerts[-1].raised_at == T0 + SlaPolicy().backorder_overdue
    run.stock_short = False  # replenished: the order goes out and the alert clears
    run.later(BACKORDER_RECHECK)
    assert run.state.status is S.awaiting_acknowledgement and _open(run) == []


def test_a_preorder_still_not_reserved_after_its_release_raises_preorder_not_reserved() -> None:
    release = T0 + timedelta(days=3)
    run = _waiting(short=True, release_at=release.isoformat(), backorder_for="P7D")
    run.later(timedelta(days=3))
    assert run.state.status is S.backordered and _open(run) == []
    assert deadlines.next_wakeup(run.state, SlaPolicy()) == min(
        release + BACKORDER_RECHECK, release + SlaPolicy().preorder_not_reserved
    )
    run.later(SlaPolicy().preorder_not_reserved)
    assert _open(run) == [AlertType.preorder_not_reserved]
    run.stock_short = False
    run.later(BACKORDER_RECHECK)
    assert run.state.status is S.awaiting_acknowledgement and _open(run) == []


def test_a_preorder_reserved_on_its_date_raises_nothing_and_an_order_without_the_clocks_runs_none() -> None:
    release = T0 + timedelta(days=3)
    run = _waiting(short=False, release_at=release.isoformat())
    run.later(timedelta(days=3))  # the order's alarm wakes it on its release date
    run.later(timedelta(days=2))
    assert run.state.status is S.awaiting_acknowledgement
    assert AlertType.preorder_not_reserved not in [a.type for a in run.state.alerts]
    old = _short_backorder()  # started before the clocks: its timers never had them
    old.state.backorder_until = T0 + timedelta(days=30)
    old.later(timedelta(days=10))
    assert AlertType.backorder_overdue not in [a.type for a in old.state.alerts]


def test_a_delivery_backordered_alone_is_tried_hourly_and_alerts_when_its_window_closes() -> None:
    run = _waiting(short=False, backorder_for="P1D")
    state = run.state
    state.deliveries = [
        Delivery(
            delivery_id="D1", method=DeliveryMethod.click_and_collect, location_id=state.store_id, line_ids=["L1"]
        ),
        Delivery(delivery_id="D2", method=DeliveryMethod.home_delivery, location_id="W001", line_ids=["L2"]),
        Delivery(
            delivery_id="D3", method=DeliveryMethod.home_delivery, location_id="S002", line_ids=[], status="placed"
        ),
    ]
    state.deliveries[1].status = DeliveryStatus.placed
    short_at_store = ReservationOutcome(reserved=False, detail="short", location_id=state.store_id)
    assert not stock_waits.delivery_backordered(state, short_at_store, T0)  # the order's own store: order-level
    short = ReservationOutcome(reserved=False, detail="not enough stock at W001", location_id="W001")
    assert stock_waits.delivery_backordered(state, short, T0)
    assert [d.status for d in state.deliveries[1:]] == [DeliveryStatus.backordered, DeliveryStatus.placed]
    assert stock_waits.due_backorders(state, T0) == []
    assert [d.delivery_id for d in stock_waits.due_backorders(state, T0 + BACKORDER_RECHECK)] == ["D2"]
    stock_waits.backorder_tried(state, "D2", False, T0 + BACKORDER_RECHECK)
    assert stock_waits.next_wakeup(state) == T0 + 2 * BACKORDER_RECHECK
    stock_waits.close_delivery_windows(state, T0 + timedelta(days=1))
    assert [(a.type, a.delivery_id) for a in state.alerts if a.is_open] == [(AlertType.stock_shortage, "D2")]
    assert stock_waits.due_backorders(state, T0 + timedelta(days=1)) == [] and stock_waits.next_wakeup(state) is None
    effects = stock_waits.backorder_tried(state, "D2", True, T0 + timedelta(days=2))  # replenished
    assert state.deliveries[1].status is DeliveryStatus.allocated and not [a for a in state.alerts if a.is_open]
    assert [(m.type, m.store_id) for m in effects.store_messages] == [("delivery_created", "W001")]


def test_a_preordered_delivery_not_reserved_a_day_after_its_release_raises_preorder_not_reserved() -> None:
    run = _waiting(short=False, backorder_for="P7D")
    state, release = run.state, T0 + timedelta(days=2)
    state.deliveries = [
        Delivery(delivery_id="D1", method=DeliveryMethod.click_and_collect, location_id="S001", line_ids=["L1"]),
        Delivery(
            delivery_id="D2",
            method=DeliveryMethod.home_delivery,
            location_id="W001",
            line_ids=["L2"],
            status=DeliveryStatus.awaiting_release,
            status_since=T0,
            release_at=release,
        ),
    ]
    policy = SlaPolicy()
    assert stock_waits.next_wakeup(state) == release
    assert [d.delivery_id for d in stock_waits.due_backorders(state, release)] == ["D2"]
    stock_waits.backorder_tried(state, "D2", False, release)  # released short: backordered
    assert state.deliveries[1].status is DeliveryStatus.backordered
    due = {t: at for _d, t, at in delivery_stages.running_deadlines(state, policy)}
    assert due[AlertType.preorder_not_reserved] == release + policy.preorder_not_reserved
    delivery_stages.raise_breached(state, policy, release + policy.preorder_not_reserved)
    assert [(a.type, a.delivery_id) for a in state.alerts if a.is_open] == [(AlertType.preorder_not_reserved, "D2")]
    stock_waits.backorder_tried(state, "D2", True, release + timedelta(days=2))
    assert state.deliveries[1].status is DeliveryStatus.allocated and not [a for a in state.alerts if a.is_open]
