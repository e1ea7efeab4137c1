"""The XML notification extract outbox: one extract per extract id, and how its delivery went.
Each takes an open Session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db.engine import commit_unless_taken
from models.db.tables import NotificationExtractRow
from models.extracts import CreateExtract


def get_extract(session: Session, extract_id: str) -> NotificationExtractRow | None:
    return session.get(NotificationExtractRow, extract_id)


def add_extract(session: Session, request: CreateExtract, payload: str, now: datetime) -> bool:
    """Keep the extract unless its id is already kept (the first document stays); True if added."""
    if session.get(NotificationExtractRow, request.extract_id) is not None:
        return False
    row = NotificationExtractRow(
        extract_id=request.extract_id,
        order_number=request.order.order_number,
        type=request.type.value,
        occurred_at=request.occurred_at,
        created_at=now,
        payload=payload,
    )
    return commit_unless_taken(session, row)  # False: a concurrent copy of the same activity kept it first


def list_extracts(
    session: Session,
    *,
    order_number: str | None = None,
    extract_type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[NotificationExtractRow]:
    """Oldest first, so a process polling with `since` reads them in the order they were made."""
    query = select(NotificationExtractRow)
    if order_number is not None:
        query = query.where(NotificationExtractRow.order_number == order_number)
    if extract_type is not None:
        query = query.where(NotificationExtractRow.type == extract_type)
    if since is not None:
        query = query.where(col(NotificationExtractRow.created_at) >= since)
    query = query.order_by(col(NotificationExtractRow.created_at), col(NotificationExtractRow.extract_id))
    return list(session.exec(query.limit(limit)))


def record_delivery_attempt(
    session: Session, extract_id: str, *, reached: list[str], error: str | None, now: datetime
) -> NotificationExtractRow:
    """Count one attempt (atomically, so concurrent attempts are all counted) and remember where the extract
    got to; without an error the extract is delivered."""
    session.exec(
        update(NotificationExtractRow)  # type: ignore[call-overload]
        .where(col(NotificationExtractRow.extract_id) == extract_id)
        .values(delivery_attempts=NotificationExtractRow.delivery_attempts + 1)
    )
    row = session.get(NotificationExtractRow, extract_id, with_for_update=True)
    assert row is not None
    row.delivered_to = sorted(set(row.delivered_to) | set(reached))
    row.last_error = error
    if error is None and row.delivered_at is None:
        row.delivered_at = now
    session.add(row)
    session.commit()
    session.refresh(row)
    return row
