"""E-mail to customers, mailing lists and Head Office (activities/mail.py): every message the mail lane decided to
send, one row per event and address, so a relay that stops half-way never sends one twice; and each customer's
mail preferences. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column
from models.mail import MailPreferences, Recipient


class MailDeliveryRow(SQLModel, table=True):
    """One e-mail about one order event to one address: `sent`, `suppressed` (the customer opted out), `retrying`
    (the SMTP server could not take it yet) or `failed` (refused, or still failing past the horizon)."""

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "address", name="uq_mail_deliveries_event_address"),
        Index("ix_mail_deliveries_order", "order_number", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=80)
    order_number: str = Field(max_length=32)
    event_type: str = Field(max_length=32)
    template: str = Field(max_length=40)
    audience: str = Field(max_length=16)
    address: str = Field(max_length=254)
    subject: str = Field(default="", max_length=300)
    status: str = Field(max_length=16)
    attempts: int = 0
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class MailPreferencesRow(SQLModel, table=True):
    __tablename__ = "customer_mail_preferences"

    customer_id: str = Field(primary_key=True, max_length=64)
    suppressed: bool = False
    suppressed_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())


FINAL = ("sent", "suppressed", "failed")


def delivery_for(
    session: Session, event_id: str, order_number: str, event_type: str, recipient: Recipient, now: datetime
) -> MailDeliveryRow:
    """The row for this event and address, made (and committed) the first time it is asked for."""
    same = (MailDeliveryRow.event_id == event_id, MailDeliveryRow.address == recipient.address)
    row = session.exec(select(MailDeliveryRow).where(*same)).first()
    if row is None:
        row = MailDeliveryRow(
            event_id=event_id,
            order_number=order_number,
            event_type=event_type,
            template=recipient.template,
            audience=recipient.audience.value,
            address=recipient.address,
            status="suppressed" if recipient.suppressed else "pending",
            created_at=now,
        )
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def record_attempt(session: Session, row_id: int, status: str, subject: str, detail: str | None, now: datetime) -> None:
    row = session.get(MailDeliveryRow, row_id)
    if row is None:
        return
    row.status, row.subject, row.detail = status, subject[:300], (detail or None) and detail[:500]
    row.attempts += 1
    if status == "sent":
        row.sent_at = now
    session.add(row)
    session.commit()


def for_order(session: Session, order_number: str) -> list[MailDeliveryRow]:
    query = select(MailDeliveryRow).where(MailDeliveryRow.order_number == order_number)
    return list(session.exec(query.order_by(col(MailDeliveryRow.id))))


def latest(session: Session, limit: int, offset: int = 0) -> list[MailDeliveryRow]:
    query = select(MailDeliveryRow).order_by(col(MailDeliveryRow.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def preferences(session: Session, customer_id: str) -> MailPreferences | None:
    row = session.get(MailPreferencesRow, customer_id)
    if row is None:
        return None
    return MailPreferences.model_validate({"suppressed": row.suppressed, "suppressed_types": row.suppressed_types})


def set_preferences(session: Session, customer_id: str, prefs: MailPreferences, now: datetime) -> None:
    row = session.get(MailPreferencesRow, customer_id) or MailPreferencesRow(customer_id=customer_id, updated_at=now)
    row.suppressed, row.suppressed_types, row.updated_at = prefs.suppressed, list(prefs.suppressed_types), now
    session.add(row)
    session.commit()
