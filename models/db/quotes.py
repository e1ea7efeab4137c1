"""Requests for quote (quotes): the request, Head Office's offer, the customer's answer and the order it placed. Each
change of status is a compare-and-set on the status it leaves, so a late expiry never overrides an answer and two
answers never both win. A request is kept once per holder and Idempotency-Key. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column
from models.quotes import Quote, QuoteStatus


class QuoteRow(SQLModel, table=True):
    __tablename__ = "quotes"
    __table_args__ = (UniqueConstraint("requested_by", "idempotency_key", name="uq_quotes_requested_by_key"),)

    quote_id: str = Field(primary_key=True, max_length=40)
    status: str = Field(max_length=16, index=True)
    requested_by: str = Field(max_length=120)  # the channel key holder that asked (and alone may answer)
    idempotency_key: str | None = Field(default=None, max_length=200)
    requested_at: datetime = Field(sa_column=utc_column())
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # models/quotes.py RequestQuote
    offer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # Offer
    locked: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # estimates' Locked
    order_number: str | None = Field(default=None, max_length=32)
    accept_key: str | None = Field(default=None, max_length=200)  # the acceptance's Idempotency-Key
    answered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    answer: str | None = Field(default=None, max_length=500)


def quote_of(row: QuoteRow) -> Quote:
    return Quote.model_validate(
        {
            "quote_id": row.quote_id,
            "status": row.status,
            "requested_by": row.requested_by,
            "requested_at": row.requested_at,
            "request": row.request,
            "offer": row.offer,
            "order_number": row.order_number,
            "answered_at": row.answered_at,
            "answer": row.answer,
            "href": f"/quotes/{row.quote_id}",
        }
    )


def find(session: Session, quote_id: str) -> QuoteRow | None:
    return session.get(QuoteRow, quote_id)


def find_by_key(session: Session, holder: str, key: str) -> QuoteRow | None:
    return session.exec(
        select(QuoteRow).where(col(QuoteRow.requested_by) == holder, col(QuoteRow.idempotency_key) == key)
    ).first()


def keep(session: Session, row: QuoteRow) -> QuoteRow:
    """Keep a new request; the one kept before under the holder's key when a concurrent retry won."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        assert row.idempotency_key is not None
        kept = find_by_key(session, row.requested_by, row.idempotency_key)
        assert kept is not None
        return kept
    return row


def listed(session: Session, status: QuoteStatus | None, limit: int, offset: int) -> list[QuoteRow]:
    query = select(QuoteRow).order_by(col(QuoteRow.requested_at))
    if status is not None:
        query = query.where(col(QuoteRow.status) == status.value)
    return list(session.exec(query.offset(offset).limit(limit)))


def _move(session: Session, quote_id: str, leaving: set[QuoteStatus], **values: Any) -> bool:
    moved = session.execute(
        update(QuoteRow)
        .where(col(QuoteRow.quote_id) == quote_id, col(QuoteRow.status).in_([s.value for s in leaving]))
        .values(**values)
    )
    session.commit()
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def price(session: Session, quote_id: str, offer: dict[str, Any], locked: dict[str, Any]) -> bool:
    """Make (or replace) the offer while the quote is unanswered."""
    return _move(
        session, quote_id, {QuoteStatus.requested, QuoteStatus.quoted}, status="quoted", offer=offer, locked=locked
    )


def claim_acceptance(session: Session, quote_id: str, claim: str, now: datetime) -> bool:
    """Claim the quote for one acceptance (its Idempotency-Key, or a token of its own) before its order is placed:
    an expiry or a decline at the same moment then finds it answered, and a second acceptance finds it taken."""
    return _move(session, quote_id, {QuoteStatus.quoted}, status="accepted", accept_key=claim, answered_at=now)


def release_acceptance(session: Session, quote_id: str, claim: str) -> None:
    """The claimed acceptance placed no order (its payments were refused): the offer stands again."""
    session.execute(
        update(QuoteRow)
        .where(
            col(QuoteRow.quote_id) == quote_id,
            col(QuoteRow.accept_key) == claim,
            col(QuoteRow.order_number).is_(None),
        )
        .values(status="quoted", accept_key=None, answered_at=None)
    )
    session.commit()


def record_order(session: Session, quote_id: str, claim: str, order_number: str) -> None:
    session.execute(
        update(QuoteRow)
        .where(col(QuoteRow.quote_id) == quote_id, col(QuoteRow.accept_key) == claim)
        .values(order_number=order_number)
    )
    session.commit()


def decline(session: Session, quote_id: str, reason: str, now: datetime) -> bool:
    return _move(
        session,
        quote_id,
        {QuoteStatus.requested, QuoteStatus.quoted},
        status="declined",
        answered_at=now,
        answer=reason,
    )


def expire(session: Session, quote_id: str, valid_until: datetime, now: datetime) -> bool:
    """Expire the quote if it is still unanswered and its offer is still the one valid until `valid_until` (a
    re-pricing meanwhile moved it on)."""
    row = find(session, quote_id)
    if row is None or row.offer is None or row.status != QuoteStatus.quoted.value:
        return False
    if datetime.fromisoformat(row.offer["valid_until"]) != valid_until:
        return False
    return _move(
        session,
        quote_id,
        {QuoteStatus.quoted},
        status="expired",
        answered_at=now,
        answer=f"not answered by {valid_until.isoformat()}",
    )
