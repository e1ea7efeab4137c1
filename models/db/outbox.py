"""The outbox: order events and store messages, written with the change they report (no commit here: the commit
activity commits the whole change), read and marked by the lanes that deliver them, and the lanes' cursors.
Each takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models.db.engine import dialect_insert
from models.db.tables import LocationRow, OrderEventRow, OutboxCursorRow, StoreMessageRow, WebhookSubscriberRow
from models.events import OrderEvent
from models.outbound import event_body
from models.transition import StoreMessageOut

# PostgreSQL hands out sequence values when rows are inserted, not when they commit: two changes committing at once
# could make id 11 visible before id 10, and a subscriber lane past 11 would never see 10. The events of a change
# are inserted last, under this transaction-level lock, so ids become visible in order. (SQLite has one writer.)
EVENTS_LOCK = 0x6261746F6E0E  # "baton", then 0E for events


def add_events(session: Session, events: list[OrderEvent], now: datetime) -> list[OrderEvent]:
    """Insert each event once; returns those inserted (a repeated change inserts none). Call it last before the
    commit: on PostgreSQL it takes EVENTS_LOCK until then."""
    if not events:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))
    table = OrderEventRow.__table__  # type: ignore[attr-defined]
    inserted = []
    for event in events:
        statement = (
            dialect_insert(session)(table)
            .values(
                event_id=event.event_id,
                order_number=event.order_number,
                sequence=event.sequence,
                type=event.type.value,
                occurred_at=event.occurred_at,
                body=event_body(event),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )
        if session.exec(statement).rowcount:
            inserted.append(event)
    return inserted


def events_after(session: Session, position: int, limit: int) -> list[OrderEventRow]:
    query = select(OrderEventRow).where(col(OrderEventRow.id) > position).order_by(col(OrderEventRow.id)).limit(limit)
    return list(session.exec(query))


def last_event_id(session: Session) -> int:
    last = session.exec(select(func.coalesce(func.max(OrderEventRow.id), 0))).one()
    assert last is not None  # coalesced to 0
    return last


def cursor(session: Session, lane: str) -> int | None:
    row = session.get(OutboxCursorRow, lane)
    return None if row is None else row.position


def start_cursor(session: Session, lane: str, now: datetime) -> int:
    """The lane's position, placed at the end of the outbox the first time (a new subscriber hears what happens
    from now on). Commits."""
    statement = (
        dialect_insert(session)(OutboxCursorRow.__table__)  # type: ignore[attr-defined]
        .values(lane=lane, position=last_event_id(session), updated_at=now)
        .on_conflict_do_nothing(index_elements=["lane"])
    )
    session.exec(statement)
    session.commit()
    position = cursor(session, lane)
    assert position is not None
    return position


def place_cursor(session: Session, lane: str, position: int, now: datetime) -> None:
    """Place a lane's cursor the first time (another copy placing it first wins). Commits."""
    statement = (
        dialect_insert(session)(OutboxCursorRow.__table__)  # type: ignore[attr-defined]
        .values(lane=lane, position=position, updated_at=now)
        .on_conflict_do_nothing(index_elements=["lane"])
    )
    session.exec(statement)
    session.commit()


def move_cursor(session: Session, lane: str, was: int, to: int, now: datetime) -> bool:
    """Move the lane on from `was`; False when it is not there any more (another copy of the relay moved it)."""
    result = session.exec(
        update(OutboxCursorRow)
        .where(col(OutboxCursorRow.lane) == lane, col(OutboxCursorRow.position) == was)
        .values(position=to, updated_at=now)
    )
    return bool(result.rowcount)


# ---- store messages ------------------------------------------------------------------------------------------


def add_store_messages(session: Session, messages: list[StoreMessageOut], now: datetime) -> int:
    """Insert each message once; returns how many were new. A store without a webhook reads its orders from the
    API and the Pick Manager: its messages are written as `no_endpoint` at once, so no lane works on them."""
    table = StoreMessageRow.__table__  # type: ignore[attr-defined]
    added = 0
    endpoints: dict[str, bool] = {}
    for message in messages:
        if message.store_id not in endpoints:
            location = session.get(LocationRow, message.store_id)
            endpoints[message.store_id] = bool(location is not None and location.webhook_url)
        statement = (
            dialect_insert(session)(table)
            .values(
                message_id=message.message_id,
                store_id=message.store_id,
                order_number=message.order_number,
                type=message.type,
                body=message.body,
                status="pending" if endpoints[message.store_id] else "no_endpoint",
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["message_id"])
        )
        added += session.exec(statement).rowcount
    return added


def pending_store_messages(session: Session, store_id: str, limit: int) -> list[StoreMessageRow]:
    query = (
        select(StoreMessageRow)
        .where(StoreMessageRow.store_id == store_id, StoreMessageRow.status == "pending")
        .order_by(col(StoreMessageRow.id))
        .limit(limit)
    )
    return list(session.exec(query))


def record_store_attempt(
    session: Session, message_id: str, status: str, error: str | None, now: datetime, *, attempted: bool = True
) -> bool:
    """Count an attempt at a pending message and set its status (pending while it is retried); False when it was
    not pending any more. Commits."""
    values: dict[str, Any] = {"status": status, "last_error": error[:1000] if error else None}
    if attempted:
        values["attempts"] = StoreMessageRow.attempts + 1
    if status == "delivered":
        values["delivered_at"] = now
    result = session.exec(
        update(StoreMessageRow)
        .where(col(StoreMessageRow.message_id) == message_id, col(StoreMessageRow.status) == "pending")
        .values(**values)
    )
    session.commit()
    return bool(result.rowcount)


def store_messages_for_order(session: Session, order_number: str) -> list[StoreMessageRow]:
    query = select(StoreMessageRow).where(StoreMessageRow.order_number == order_number)
    return list(session.exec(query.order_by(col(StoreMessageRow.id))))


# ---- who has a lane ------------------------------------------------------------------------------------------


def lane_owners(session: Session, *, inactive_too: bool = False) -> tuple[list[str], list[str]]:
    """The subscriber ids (active ones, unless `inactive_too`) and the ids of locations with a webhook (every
    location's, with `inactive_too`): a store without one has nothing to send."""
    subscribers = select(WebhookSubscriberRow.subscriber_id).order_by(col(WebhookSubscriberRow.subscriber_id))
    locations = select(LocationRow.store_id).order_by(col(LocationRow.store_id))
    if not inactive_too:
        subscribers = subscribers.where(WebhookSubscriberRow.active == True)  # noqa: E712  (SQL, not truthiness)
        locations = locations.where(col(LocationRow.webhook_url).is_not(None))
    return list(session.exec(subscribers)), list(session.exec(locations))
