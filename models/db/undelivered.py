"""What the outbox still has to deliver for one order: messages to its store, events to webhook subscribers, XML
extracts and e-mail, each with its attempts and last error (the order's diagnosis). Each takes an open Session."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.db.mail import MailDeliveryRow
from models.db.tables import NotificationExtractRow, StoreMessageRow, WebhookDeliveryRow
from models.outbox import EXTRACTS_LANE, MAIL_LANE, store_lane, subscriber_lane


class Undelivered(BaseModel):
    lane: str  # the outbox lane that delivers it: store:S001, subscriber:<id>, extracts, mail
    what: str  # the message type, event type, extract type or mail template
    key: str  # its id on the lane
    status: str
    attempts: int
    last_error: str | None
    since: datetime


def for_order(session: Session, order_number: str, extracts_delivered: bool) -> list[Undelivered]:
    """Oldest first. Extracts count only when a destination is configured (otherwise third parties read them)."""
    found: list[Undelivered] = []
    messages = select(StoreMessageRow).where(
        StoreMessageRow.order_number == order_number, StoreMessageRow.status == "pending"
    )
    found += [
        Undelivered(
            lane=store_lane(m.store_id), what=m.type, key=m.message_id, status=m.status, attempts=m.attempts,
            last_error=m.last_error, since=m.created_at,
        )
        for m in session.exec(messages)
    ]  # fmt: skip
    deliveries = select(WebhookDeliveryRow).where(
        WebhookDeliveryRow.order_number == order_number,
        col(WebhookDeliveryRow.status).in_(("pending", "retrying")),
    )
    found += [
        Undelivered(
            lane=subscriber_lane(d.subscriber_id), what=d.event_type, key=d.event_id, status=d.status,
            attempts=d.attempts, last_error=d.last_error, since=d.created_at,
        )
        for d in session.exec(deliveries)
    ]  # fmt: skip
    if extracts_delivered:
        extracts = select(NotificationExtractRow).where(
            NotificationExtractRow.order_number == order_number,
            col(NotificationExtractRow.delivered_at).is_(None),
            col(NotificationExtractRow.failed_at).is_(None),
        )
        found += [
            Undelivered(
                lane=EXTRACTS_LANE, what=x.type, key=x.extract_id, status="pending", attempts=x.delivery_attempts,
                last_error=x.last_error, since=x.created_at,
            )
            for x in session.exec(extracts)
        ]  # fmt: skip
    mail = select(MailDeliveryRow).where(
        MailDeliveryRow.order_number == order_number, col(MailDeliveryRow.status).in_(("pending", "retrying"))
    )
    found += [
        Undelivered(
            lane=MAIL_LANE, what=m.template, key=f"{m.event_id}:{m.audience}", status=m.status, attempts=m.attempts,
            last_error=m.detail, since=m.created_at,
        )
        for m in session.exec(mail)
    ]  # fmt: skip
    return sorted(found, key=lambda item: item.since)


def failing_store_pushes(session: Session, min_attempts: int, limit: int) -> list[StoreMessageRow]:
    """Store messages still pending after this many attempts, oldest first, one per order (the sweep)."""
    query = (
        select(StoreMessageRow)
        .where(StoreMessageRow.status == "pending", StoreMessageRow.attempts >= min_attempts)
        .order_by(col(StoreMessageRow.id))
        .limit(limit)
    )
    firsts: dict[str, StoreMessageRow] = {}
    for message in session.exec(query):
        firsts.setdefault(message.order_number, message)
    return list(firsts.values())
