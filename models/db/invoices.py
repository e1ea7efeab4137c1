"""Invoices (invoices): numbered in one gapless sequence across all orders, each issued once per order and key, so a
retried issuing activity returns the invoice it issued before instead of a second one. Kept here, not only on the
order, so an order's invoices stay readable after its workflow has closed. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column
from models.invoice_documents import Invoice, InvoiceDraft

# Two orders issuing at the same moment may both read the same highest number: the unique number refuses the
# second, which reads again. A handful of rounds is plenty; past them the activity fails and Temporal retries it.
_ROUNDS = 10
# PostgreSQL: numbering transactions take this advisory lock in turn, so max + 1 is read and written by one at a
# time (an aggregate cannot be locked FOR UPDATE). SQLite already lets one writer at a time; a clash is retried.
_NUMBERING_LOCK = 0x1A7015


class InvoiceRow(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("order_number", "key", name="uq_invoices_order_key"),)

    number: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    order_number: str = Field(max_length=32, index=True)
    key: str = Field(max_length=80)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    gross: int = Field(sa_column=Column(BigInteger, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    issued_at: datetime = Field(sa_column=utc_column())


def _invoice(row: InvoiceRow) -> Invoice:
    return Invoice.model_validate(row.document)


def _issued(session: Session, order_number: str, key: str) -> InvoiceRow | None:
    query = select(InvoiceRow).where(InvoiceRow.order_number == order_number, InvoiceRow.key == key)
    return session.exec(query).first()


def issue(session: Session, draft: InvoiceDraft, now: datetime) -> Invoice:
    """The draft issued under the next number, or the invoice issued before for the same order and key."""
    for _ in range(_ROUNDS):
        if session.get_bind().dialect.name == "postgresql":
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_NUMBERING_LOCK))  # type: ignore[call-overload]
        if (row := _issued(session, draft.order_number, draft.key)) is not None:
            issued = _invoice(row)
            session.rollback()  # ends the transaction, and the lock with it
            return issued
        number = (session.exec(select(func.max(col(InvoiceRow.number)))).one() or 0) + 1
        invoice = Invoice(**draft.model_dump(), number=number, issued_at=now)
        session.add(
            InvoiceRow(
                number=number,
                order_number=draft.order_number,
                key=draft.key,
                kind=draft.kind.value,
                currency=draft.currency,
                gross=draft.gross,
                document=invoice.model_dump(mode="json"),
                issued_at=now,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        return invoice
    raise RuntimeError(f"could not number invoice {draft.key} of order {draft.order_number}: retried")


def for_order(session: Session, order_number: str) -> list[Invoice]:
    query = select(InvoiceRow).where(InvoiceRow.order_number == order_number).order_by(col(InvoiceRow.number))
    return [_invoice(row) for row in session.exec(query)]


def get(session: Session, order_number: str, number: int) -> Invoice | None:
    row = session.get(InvoiceRow, number)
    return _invoice(row) if row is not None and row.order_number == order_number else None
