"""The outbox on a real database: the commit activity writes one order change in one transaction (and a retried
one changes nothing twice), and each lane's relay delivers to a real HTTP receiver, in order, with retries,
horizons and refusals."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import projection
from activities.notifications import validate_extract
from activities.projection import ProjectionActivities
from models.catalogue import LineReservation, ReserveStock
from models.db import outbound, stock
from models.db.tables import (
    NotificationExtractRow,
    OrderEventRow,
    OrderExportRow,
    OrderExportStateRow,
    OrderOpenAlertRow,
    OrderRecordRow,
    OutboxCursorRow,
    StockLevelRow,
    StockReservationRow,
    StoreMessageRow,
    WebhookDeliveryRow,
)
from models.events import OrderEventType as E
from models.order import Alert, AlertType, OrderStatus
from models.outbox import EXTRACTS_LANE, exporter_lane, subscriber_lane
from models.payments import RefundRecord
from models.signing import verify
from models.sla import SlaPolicy
from models.transition import StockWork
from tests.http_receiver import http_receiver
from tests.models.factories import at, gbp
from tests.outbox_support import change, event, new_order, outbox_settings, relay, rows

EXPORTERS = [
    {"name": "erp", "kind": "webhook", "on_state": "INITPAID", "url": "http://127.0.0.1:9/never", "sets_state": "ERP"},
    {"name": "crm", "kind": "xml_extract", "on_state": "DELIVERY"},
]


def _commit(db, transition, **settings):  # type: ignore[no-untyped-def]
    activities = ProjectionActivities(db, outbox_settings(str(db.url), **settings))
    return ActivityEnvironment().run(activities.commit_transition, transition)


def _reserve(db, number: str) -> None:  # type: ignore[no-untyped-def]
    lines = [LineReservation(line_id="L1", sku="TEE-WHI-M", quantity=2),
             LineReservation(line_id="L2", sku="JEAN-IND-32", quantity=1)]  # fmt: skip
    with Session(db) as session:
        assert stock.reserve(session, ReserveStock(order_number=number, location_id="S001", lines=lines)) == []


def _level(db, sku: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        level = session.get(StockLevelRow, ("S001", sku))
        assert level is not None
        return level.on_hand, level.reserved


def _snapshot(db, number: str) -> dict:  # type: ignore[no-untyped-def]
    """Everything a commit writes for one order, as plain values."""
    tables = {
        "orders": (OrderRecordRow, "order_number"),
        "alerts": (OrderOpenAlertRow, "order_number"),
        "events": (OrderEventRow, "order_number"),
        "extracts": (NotificationExtractRow, "order_number"),
        "exports": (OrderExportRow, "order_number"),
        "states": (OrderExportStateRow, "order_number"),
        "messages": (StoreMessageRow, "order_number"),
        "reservations": (StockReservationRow, "order_number"),
    }
    found = {name: [r.model_dump() for r in rows(db, table, **{key: number})] for name, (table, key) in tables.items()}
    return found | {"levels": [_level(db, "TEE-WHI-M"), _level(db, "JEAN-IND-32")]}


def _collected(db):  # type: ignore[no-untyped-def]
    """A collected order: L2 released, L1 committed at S001, payment confirmed and collected, a store message."""
    state = new_order(OrderStatus.completed)
    state.alerts.append(Alert(alert_id="A1", type=AlertType.not_collected, raised_at=at(5), detail="late"))
    state.seen_event_ids = ["evt-1", "evt-2"]
    _reserve(db, state.order_number)
    events = [event(state, 1, E.payment_confirmed, at(1)), event(state, 2, E.collected, at(9)),
              event(state, 3, E.completed, at(9))]  # fmt: skip
    work = StockWork(releases=[({"L2": 0}, None)], commit_at="S001")
    return state, change(state, 3, events, ["order_updated"], work)


def test_commit_writes_stock_projection_events_extracts_runs_and_messages(db):
    before = _level(db, "TEE-WHI-M"), _level(db, "JEAN-IND-32")
    state, transition = _collected(db)
    number = state.order_number

    policy = _commit(db, transition, exporters=EXPORTERS)

    assert isinstance(policy, SlaPolicy)
    assert _level(db, "TEE-WHI-M") == (before[0][0] - 2, before[0][1])  # consumed: gone with the customer
    assert _level(db, "JEAN-IND-32") == before[1]  # released
    [record] = rows(db, OrderRecordRow, order_number=number)
    assert (record.version, record.status, record.seen_event_ids) == (3, "completed", ["evt-1", "evt-2"])
    assert record.view == transition.projection.view
    assert [a.alert_type for a in rows(db, OrderOpenAlertRow, order_number=number)] == ["not_collected"]
    events = sorted(rows(db, OrderEventRow, order_number=number), key=lambda e: e.id)  # outbox order
    assert [(e.event_id, e.type, e.sequence) for e in events] == [(f"{number}:1", "payment_confirmed", 1),
                                                                   (f"{number}:2", "collected", 2),
                                                                   (f"{number}:3", "completed", 3)]  # fmt: skip
    assert events[0].id < events[1].id < events[2].id and events[1].body["order"]["status"] == "completed"
    [extract] = rows(db, NotificationExtractRow, order_number=number)
    assert (extract.extract_id, extract.type, extract.delivered_at) == (f"{number}:2:extract", "collected", None)
    validate_extract(extract.payload.encode())
    assert "<Name>London Oxford Street</Name>" in extract.payload and "Organic cotton tee" in extract.payload
    runs = {r.run_id: (r.outcome, r.state) for r in rows(db, OrderExportRow, order_number=number)}
    assert runs == {f"{number}:erp:INITPAID": ("queued", "INITPAID"), f"{number}:crm:DELIVERY": ("queued", "DELIVERY")}
    states = {s.state: s for s in rows(db, OrderExportStateRow, order_number=number)}
    assert set(states) == {"INITPAID", "DELIVERY", "(completed)"}
    assert states["DELIVERY"].snapshot is not None and states["DELIVERY"].occurred_at == at(9)
    [message] = rows(db, StoreMessageRow, order_number=number)
    assert (message.store_id, message.type, message.status, message.attempts) == (
        "S001",
        "order_updated",
        "no_endpoint",
        0,
    )  # S001 has no webhook here


def test_commit_retried_twice_changes_nothing(db):
    state, transition = _collected(db)
    _commit(db, transition, exporters=EXPORTERS)
    first = _snapshot(db, state.order_number)
    _commit(db, transition, exporters=EXPORTERS)
    _commit(db, transition, exporters=EXPORTERS)
    assert _snapshot(db, state.order_number) == first


def test_commit_is_one_transaction(db, monkeypatch):
    """A part that fails (the events, written last) leaves no trace of the others: no stock, no projection."""
    state, transition = _collected(db)
    broken = transition.model_copy(update={"stock": StockWork(releases=[({"L2": 0}, None)])})
    before = _snapshot(db, state.order_number)

    def fail(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(projection.outbox, "add_events", fail)
    with pytest.raises(RuntimeError):
        _commit(db, broken)
    assert _snapshot(db, state.order_number) == before


def test_commit_never_overwrites_a_newer_projection_but_keeps_its_events(db):
    state = new_order(OrderStatus.acknowledged)
    _commit(db, change(state, 5))
    late = change(new_order(OrderStatus.received, order_number=state.order_number), 4,
                  [event(state, 1, E.placed, at(0))])  # fmt: skip
    _commit(db, late)
    [record] = rows(db, OrderRecordRow, order_number=state.order_number)
    assert (record.version, record.status) == (5, "acknowledged")
    assert [e.type for e in rows(db, OrderEventRow, order_number=state.order_number)] == ["placed"]


def test_commit_of_an_instructed_refund_makes_an_extract_that_says_so(db):
    state = new_order(OrderStatus.completed)
    state.refunds.append(RefundRecord(refund_id="R1", payment_id="P1", amount=gbp(1500), at=at(20), actor="ho:alice",
                                      reason="damaged", status="instructed", reference="MKT-77"))  # fmt: skip
    _commit(db, change(state, 2, [event(state, 1, E.refund_instructed, at(20))]))
    [extract] = rows(db, NotificationExtractRow, order_number=state.order_number)
    assert extract.type == "refunded"
    assert "<How>instructed</How>" in extract.payload
    assert "<PaymentReference>MKT-77</PaymentReference>" in extract.payload


# ---- subscriber lanes ----------------------------------------------------------------------------------------


def _subscriber(db, url: str, *types: str) -> str:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        row = outbound.create_subscriber(session, "ERP", url, [E(t) for t in types], datetime.now(UTC))
        return row.subscriber_id


def _secret(db, subscriber_id: str) -> str:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        row = outbound.get_subscriber(session, subscriber_id)
        assert row is not None
        return row.secret


def _orders_with_events(db, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` orders, each placed, paid and sent to its store (three events)."""
    ids = []
    for _ in range(count):
        state = new_order(OrderStatus.awaiting_acknowledgement)
        events = [event(state, 1, E.placed, at(0)), event(state, 2, E.payment_confirmed, at(0)),
                  event(state, 3, E.sent_to_store, at(1))]  # fmt: skip
        _commit(db, change(state, 1, events))
        ids += [e.event_id for e in events]
    return ids


def _received(receiver) -> list[str]:  # type: ignore[no-untyped-def]
    return [json.loads(request.body)["event_id"] for request in receiver.requests]


async def test_subscriber_lane_delivers_its_event_types_in_outbox_order_signed(db):
    _orders_with_events(db, 1)  # before the subscriber existed: not for it
    with http_receiver(200) as receiver:
        subscriber = _subscriber(db, receiver.url, "placed", "sent_to_store")
        ids = _orders_with_events(db, 3)
        report = await relay(db, outbox_settings(str(db.url)), subscriber_lane(subscriber))
    wanted = [i for i in ids if not i.endswith(":2")]
    assert _received(receiver) == wanted
    assert (report.delivered, report.skipped, report.given_up, report.blocked) == (6, 3, 0, None)
    first = receiver.requests[0]
    assert first.headers["baton-event-id"] == wanted[0]
    verify(_secret(db, subscriber), first.headers["baton-signature"], first.body, time.time())
    log = rows(db, WebhookDeliveryRow, subscriber_id=subscriber)
    assert {(d.status, d.attempts) for d in log} == {("delivered", 1)} and len(log) == 6
    [cursor] = rows(db, OutboxCursorRow, lane=subscriber_lane(subscriber))
    assert cursor.position == max(e.id for e in rows(db, OrderEventRow))


async def test_failing_subscriber_is_retried_then_served_in_order_and_holds_up_nobody(db):
    settings = outbox_settings(str(db.url))
    with http_receiver(503, 500, 200) as failing, http_receiver(200) as healthy:
        slow = _subscriber(db, failing.url, "placed")
        fine = _subscriber(db, healthy.url, "placed")
        ids = [i for i in _orders_with_events(db, 3) if i.endswith(":1")]
        for attempt in (1, 2):
            with pytest.raises(ApplicationError) as failed:  # nothing moved: Temporal backs off
                await relay(db, settings, subscriber_lane(slow))
            assert failed.value.type == "delivery_failing" and not failed.value.non_retryable
            [head] = rows(db, WebhookDeliveryRow, subscriber_id=slow)
            assert (head.event_id, head.status, head.attempts) == (ids[0], "retrying", attempt)
        assert (await relay(db, settings, subscriber_lane(fine))).delivered == 3
        assert _received(healthy) == ids
        assert (await relay(db, settings, subscriber_lane(slow))).delivered == 3
    assert _received(failing) == [ids[0], ids[0], *ids]
    assert [d.attempts for d in sorted(rows(db, WebhookDeliveryRow, subscriber_id=slow), key=lambda d: d.event_id)] \
        == [3, 1, 1]  # fmt: skip


async def test_delivery_failing_past_the_horizon_is_failed_and_the_lane_moves_on(db):
    settings = outbox_settings(str(db.url), outbound_retry_horizon_seconds=0.01)
    with http_receiver(503) as receiver:
        subscriber = _subscriber(db, receiver.url, "placed")
        _orders_with_events(db, 2)
        time.sleep(0.05)
        report = await relay(db, settings, subscriber_lane(subscriber))
    assert (report.delivered, report.given_up) == (0, 2)
    log = rows(db, WebhookDeliveryRow, subscriber_id=subscriber)
    assert [(d.status, d.attempts, d.last_status_code) for d in log] == [("failed", 1, 503)] * 2
    assert "gave up" in (log[0].last_error or "")


async def test_refused_delivery_is_marked_refused_at_once(db):
    with http_receiver(422, 200) as receiver:
        subscriber = _subscriber(db, receiver.url, "placed")
        ids = [i for i in _orders_with_events(db, 2) if i.endswith(":1")]
        report = await relay(db, outbox_settings(str(db.url)), subscriber_lane(subscriber))
    assert (report.delivered, report.given_up) == (1, 1)
    assert {d.event_id: d.status for d in rows(db, WebhookDeliveryRow, subscriber_id=subscriber)} == {
        ids[0]: "refused",
        ids[1]: "delivered",
    }


async def test_head_office_resend_goes_out_through_the_lane(db):
    settings = outbox_settings(str(db.url))
    with http_receiver(200) as receiver:
        subscriber = _subscriber(db, receiver.url, "placed")
        [placed] = [i for i in _orders_with_events(db, 1) if i.endswith(":1")]
        await relay(db, settings, subscriber_lane(subscriber))
        with Session(db) as session:
            original = outbound.original_delivery(session, subscriber, placed)
            assert original is not None
            resend = outbound.add_resend(session, original, "ho:alice", datetime.now(UTC))
        report = await relay(db, settings, subscriber_lane(subscriber))
    assert report.delivered == 1 and _received(receiver) == [placed, placed]
    [row] = rows(db, WebhookDeliveryRow, delivery_id=resend.delivery_id)
    assert (row.kind, row.status, row.requested_by) == ("resend", "delivered", "ho:alice")


async def test_deactivated_subscriber_retires_its_lane(db):
    subscriber = _subscriber(db, "http://127.0.0.1:9/", "placed")
    with Session(db) as session:
        outbound.deactivate_subscriber(session, subscriber)
    assert (await relay(db, outbox_settings(str(db.url)), subscriber_lane(subscriber))).retired


# ---- exporter and extract lanes -------------------------------------------------------------------------------


async def test_exporter_chain_runs_in_order_and_hands_on(db):
    with http_receiver(200) as erp, http_receiver(200) as crm:
        exporters = [
            {"name": "erp", "kind": "webhook", "on_state": "INITPAID", "url": erp.url, "sets_state": "ERP_DONE",
             "secret": "erp-secret-0123456789"},
            {"name": "crm", "kind": "webhook", "on_state": "ERP_DONE", "url": crm.url},
        ]  # fmt: skip
        settings = outbox_settings(str(db.url), exporters=exporters)
        state, transition = _collected(db)
        _commit(db, transition, exporters=exporters)
        number = state.order_number
        assert (await relay(db, settings, exporter_lane("crm"))).delivered == 0  # nothing for it yet
        assert (await relay(db, settings, exporter_lane("erp"))).delivered == 1
        assert (await relay(db, settings, exporter_lane("crm"))).delivered == 1
    [sent] = erp.requests
    body = json.loads(sent.body)
    assert (body["export_id"], body["state"], body["order"]["order_number"]) == (f"{number}:erp:INITPAID",
                                                                                  "INITPAID", number)  # fmt: skip
    verify("erp-secret-0123456789", sent.headers["baton-signature"], sent.body, time.time())
    assert json.loads(crm.requests[0].body)["occurred_at"] == at(1).isoformat()  # the moment INITPAID was reached
    audit = {r.exporter: (r.outcome, r.attempts, r.state) for r in rows(db, OrderExportRow, order_number=number)}
    assert audit == {"erp": ("succeeded", 1, "INITPAID"), "crm": ("succeeded", 1, "ERP_DONE")}


async def test_xml_extract_exporter_and_the_extracts_lane_deliver_to_the_drop_folder(db, tmp_path: Path):
    exporters = [{"name": "acct", "kind": "xml_extract", "on_state": "DELIVERY"}]
    settings = outbox_settings(str(db.url), exporters=exporters, extract_drop_folder=str(tmp_path))
    state, transition = _collected(db)
    _commit(db, transition, exporters=exporters)
    number = state.order_number
    waiting = await relay(db, settings, exporter_lane("acct"))  # made its extract; waits for its delivery
    assert (waiting.delivered, waiting.blocked) == (0, None)
    assert (await relay(db, settings, EXTRACTS_LANE)).delivered == 2
    assert (await relay(db, settings, exporter_lane("acct"))).delivered == 1
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"{number}-collected-{number}_2_extract.xml", f"{number}-order_export-{number}_acct_DELIVERY.xml"]
    for path in tmp_path.iterdir():
        validate_extract(path.read_bytes())
    [run] = rows(db, OrderExportRow, order_number=number)
    assert (run.outcome, run.attempts) == ("succeeded", 1)


async def test_extract_refused_by_the_endpoint_is_failed_and_one_down_is_retried(db):
    state, transition = _collected(db)
    _commit(db, transition)
    with http_receiver(400) as refusing:
        await relay(db, outbox_settings(str(db.url), extract_http_url=refusing.url), EXTRACTS_LANE)
    [extract] = rows(db, NotificationExtractRow, order_number=state.order_number)
    assert extract.failed_at is not None and "refused with 400" in (extract.last_error or "")
    assert refusing.requests[0].headers["idempotency-key"] == extract.extract_id
    state, transition = _collected(db)
    _commit(db, transition)
    with http_receiver(503) as down, pytest.raises(ApplicationError):
        await relay(db, outbox_settings(str(db.url), extract_http_url=down.url), EXTRACTS_LANE)
    [extract] = rows(db, NotificationExtractRow, order_number=state.order_number)
    assert (extract.failed_at, extract.delivered_at, extract.delivery_attempts) == (None, None, 1)
