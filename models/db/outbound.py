"""The outbound tables: webhook subscribers, the delivery log, the export audit. Each takes an open Session."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, func, select

from models.db.engine import commit_unless_taken
from models.db.tables import OrderExportRow, WebhookDeliveryRow, WebhookSubscriberRow
from models.events import OrderEvent, OrderEventType
from models.outbound import ExportAudit, SubscriberRef, event_body, resend_delivery_id


def create_subscriber(
    session: Session, name: str, url: str, event_types: list[OrderEventType], now: datetime
) -> WebhookSubscriberRow:
    """A new active subscriber with a generated signing secret."""
    row = WebhookSubscriberRow(
        subscriber_id=f"whs_{secrets.token_hex(8)}",
        name=name,
        url=url,
        event_types=[event_type.value for event_type in event_types],
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        created_at=now,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def list_subscribers(session: Session) -> list[WebhookSubscriberRow]:
    return list(session.exec(select(WebhookSubscriberRow).order_by(col(WebhookSubscriberRow.created_at))))


def get_subscriber(session: Session, subscriber_id: str) -> WebhookSubscriberRow | None:
    return session.get(WebhookSubscriberRow, subscriber_id)


def deactivate_subscriber(session: Session, subscriber_id: str) -> WebhookSubscriberRow | None:
    row = session.get(WebhookSubscriberRow, subscriber_id)
    if row is not None and row.active:
        row.active = False
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def subscribers_for(session: Session, event_types: set[str]) -> list[SubscriberRef]:
    """Active subscribers to any of these event types, oldest first."""
    rows = session.exec(
        select(WebhookSubscriberRow)
        .where(WebhookSubscriberRow.active == True)  # noqa: E712  (SQL, not Python truthiness)
        .order_by(col(WebhookSubscriberRow.created_at), col(WebhookSubscriberRow.subscriber_id))
    )
    return [
        SubscriberRef(subscriber_id=row.subscriber_id, event_types=row.event_types)  # type: ignore[arg-type]
        for row in rows
        if event_types & set(row.event_types)
    ]


def deliveries(
    session: Session, subscriber_id: str, order_number: str | None, limit: int, offset: int
) -> tuple[list[WebhookDeliveryRow], int]:
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscriber_id == subscriber_id)
    if order_number is not None:
        query = query.where(WebhookDeliveryRow.order_number == order_number)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(WebhookDeliveryRow.created_at), col(WebhookDeliveryRow.delivery_id))
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def original_delivery(session: Session, subscriber_id: str, event_id: str) -> WebhookDeliveryRow | None:
    return session.exec(
        select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.subscriber_id == subscriber_id,
            WebhookDeliveryRow.event_id == event_id,
            WebhookDeliveryRow.kind == "event",
        )
    ).first()


def add_resend(session: Session, original: WebhookDeliveryRow, actor: str, now: datetime) -> WebhookDeliveryRow:
    """A Head Office resend of a logged delivery: same body, same event id, its own row in the log."""
    while True:
        count = session.exec(
            select(func.count()).where(
                WebhookDeliveryRow.subscriber_id == original.subscriber_id,
                WebhookDeliveryRow.event_id == original.event_id,
                WebhookDeliveryRow.kind == "resend",
            )
        ).one()
        row = WebhookDeliveryRow(
            delivery_id=resend_delivery_id(original.subscriber_id, original.event_id, count + 1),
            subscriber_id=original.subscriber_id,
            event_id=original.event_id,
            event_type=original.event_type,
            order_number=original.order_number,
            kind="resend",
            payload=original.payload,
            requested_by=actor,
            created_at=now,
        )
        if not commit_unless_taken(session, row):
            continue  # another resend of the same event took this number: take the next
        session.refresh(row)
        return row


def logged_delivery(
    session: Session, delivery_id: str, subscriber_id: str, event: OrderEvent | None, now: datetime
) -> WebhookDeliveryRow | None:
    """The delivery's log row, written on its first attempt (its body is what every attempt sends); None when it
    was never logged and no event came to log it with. The row is detached, for reading after the session."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        if event is None:
            return None
        row = WebhookDeliveryRow(
            delivery_id=delivery_id,
            subscriber_id=subscriber_id,
            event_id=event.event_id,
            event_type=event.type.value,
            order_number=event.order_number,
            payload=event_body(event),
            created_at=now,
        )
        session.add(row)
        session.commit()
        session.refresh(row)
    session.expunge(row)
    return row


def count_delivery_attempt(
    session: Session, delivery_id: str, status: str, code: int | None, error: str | None, now: datetime
) -> int:
    """Count one attempt of a logged delivery and how it went; returns the attempts so far (0: not logged)."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return 0
    row.attempts += 1
    row.status = status
    row.last_status_code = code
    row.last_error = error[:1000] if error else None
    if status == "delivered":
        row.delivered_at = now
    session.add(row)
    session.commit()
    return row.attempts


def mark_delivery_failed(session: Session, delivery_id: str, detail: str) -> None:
    """The delivery gave up: refused stays refused, anything else not delivered becomes failed."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is not None and row.status != "delivered":
        row.status = "refused" if row.status == "refused" else "failed"
        row.last_error = detail[:1000]
        session.add(row)
        session.commit()


def record_export(session: Session, audit: ExportAudit) -> None:
    """Upsert a run's audit row; a finished run keeps its start time and attempt count."""
    row = session.get(OrderExportRow, audit.run_id)
    if row is None:
        row = OrderExportRow(
            run_id=audit.run_id,
            order_number=audit.order_number,
            exporter=audit.exporter,
            kind=audit.kind,
            state=audit.state,
            sets_state=audit.sets_state,
            started_at=audit.at,
        )
    elif row.outcome != "running":
        return  # already finished: a retried local activity changes nothing
    row.outcome = audit.outcome
    row.detail = audit.detail[:1000]
    if audit.outcome != "running":
        row.finished_at = audit.at
    session.add(row)
    session.commit()


def count_export_attempt(session: Session, run_id: str, attempt: int, detail: str = "") -> None:
    row = session.get(OrderExportRow, run_id)
    if row is not None:
        row.attempts = max(row.attempts, attempt)
        row.detail = detail[:1000]
        session.add(row)
        session.commit()


def exports_for_order(session: Session, order_number: str) -> list[OrderExportRow]:
    return list(
        session.exec(
            select(OrderExportRow)
            .where(OrderExportRow.order_number == order_number)
            .order_by(col(OrderExportRow.started_at), col(OrderExportRow.run_id))
        )
    )
