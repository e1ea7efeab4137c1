"""The XML notification extract outbox: one extract per extract id, and how its delivery went (the `extracts`
outbox lane delivers it). Each takes an open Session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db.engine import dialect_insert
from models.db.tables import NotificationExtractRow, OrderRecordRow


def get_extract(session: Session, extract_id: str) -> NotificationExtractRow | None:
    return session.get(NotificationExtractRow, extract_id)


def add_extract(
    session: Session,
    extract_id: str,
    order_number: str,
    extract_type: str,
    occurred_at: datetime,
    payload: str,
    now: datetime,
) -> bool:
    """Keep the extract unless its id is already kept (the first document stays); True if added. Leaves the commit
    to the caller (the commit activity keeps a change's extracts with the change)."""
    statement = (
        dialect_insert(session)(NotificationExtractRow.__table__)  # type: ignore[attr-defined]
        .values(
            extract_id=extract_id,
            order_number=order_number,
            type=extract_type,
            occurred_at=occurred_at,
            created_at=now,
            payload=payload,
            delivery_attempts=0,
            delivered_to=[],
        )
        .on_conflict_do_nothing(index_elements=["extract_id"])
    )
    return bool(session.exec(statement).rowcount)


def pending_extracts(session: Session, limit: int) -> list[NotificationExtractRow]:
    """Extracts neither delivered nor given up, in the order they were made."""
    query = (
        select(NotificationExtractRow)
        .where(col(NotificationExtractRow.delivered_at).is_(None), col(NotificationExtractRow.failed_at).is_(None))
        .order_by(col(NotificationExtractRow.created_at), col(NotificationExtractRow.extract_id))
        .limit(limit)
    )
    return list(session.exec(query))


def list_extracts(
    session: Session,
    *,
    order_number: str | None = None,
    extract_type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    channels: list[str] | None = None,
) -> list[NotificationExtractRow]:
    """Oldest first, so a process polling with `since` reads them in the order they were made; with `channels`,
    only extracts of those channels' orders."""
    query = select(NotificationExtractRow)
    if channels is not None:
        of_channels = select(OrderRecordRow.order_number).where(col(OrderRecordRow.channel).in_(channels))
        query = query.where(col(NotificationExtractRow.order_number).in_(of_channels))
    if order_number is not None:
        query = query.where(NotificationExtractRow.order_number == order_number)
    if extract_type is not None:
        query = query.where(NotificationExtractRow.type == extract_type)
    if since is not None:
        query = query.where(col(NotificationExtractRow.created_at) >= since)
    query = query.order_by(col(NotificationExtractRow.created_at), col(NotificationExtractRow.extract_id))
    return list(session.exec(query.limit(limit)))


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt at delivering an extract: where it got to, and what went wrong (None: delivered)."""

    extract_id: str
    reached: list[str]
    error: str | None
    now: datetime
    failed: bool = False  # given up: refused, or failing past the horizon


def record_delivery_attempts(session: Session, attempts: list[DeliveryAttempt]) -> None:
    """Count each attempt (atomically, so concurrent attempts are all counted) and remember where its extract got
    to; without an error the extract is delivered, with `failed` it is given up. One transaction for the lot: a
    lane records a whole batch at once instead of taking the database's write lock once per extract."""
    for attempt in attempts:
        session.exec(
            update(NotificationExtractRow)
            .where(col(NotificationExtractRow.extract_id) == attempt.extract_id)
            .values(delivery_attempts=NotificationExtractRow.delivery_attempts + 1)
        )
        row = session.get(NotificationExtractRow, attempt.extract_id, with_for_update=True)
        assert row is not None
        row.delivered_to = sorted(set(row.delivered_to) | set(attempt.reached))
        row.last_error = attempt.error
        if attempt.error is None and row.delivered_at is None:
            row.delivered_at = attempt.now
        elif attempt.failed and row.failed_at is None:
            row.failed_at = attempt.now
        session.add(row)
    session.commit()


def record_delivery_attempt(
    session: Session, extract_id: str, *, reached: list[str], error: str | None, now: datetime, failed: bool = False
) -> NotificationExtractRow:
    """One attempt recorded on its own (record_delivery_attempts), the extract's row as it now is."""
    record_delivery_attempts(session, [DeliveryAttempt(extract_id, reached, error, now, failed)])
    row = session.get(NotificationExtractRow, extract_id)
    assert row is not None
    return row
