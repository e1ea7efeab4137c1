"""Customers' balances (account credit and wallet funds) as a ledger of entries: a balance is the sum of its entries.

Every entry has a unique `entry_key` (Head Office's Idempotency-Key for a credit, the gateway operation id for a
debit or a refund), so a retried credit or payment never moves money twice. Debits are serialised per balance by
touching its lock row first (a row lock in PostgreSQL, the write lock in SQLite), so two concurrent payments never
both spend the same funds. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, Column, Integer, UniqueConstraint, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column

Account = Literal["wallet", "account_credit"]
EntryKind = Literal["credit", "debit", "refund", "declined"]


class BalanceEntryRow(SQLModel, table=True):
    __tablename__ = "customer_balance_entries"
    __table_args__ = (UniqueConstraint("entry_key", name="uq_customer_balance_entries_key"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    entry_key: str = Field(max_length=200)
    customer_id: str = Field(index=True, max_length=64)
    account: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))  # signed minor units: credits are positive
    kind: str = Field(max_length=16)
    reference: str = Field(default="", max_length=200)  # a refund: the debit it pays back
    order_number: str = Field(default="", max_length=32)
    actor: str = Field(default="", max_length=120)
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=utc_column())


class BalanceLockRow(SQLModel, table=True):
    """One row per balance, touched before a debit so debits of one balance run one at a time."""

    __tablename__ = "customer_balance_locks"

    customer_id: str = Field(primary_key=True, max_length=64)
    account: str = Field(primary_key=True, max_length=16)
    currency: str = Field(primary_key=True, max_length=3)
    debits: int = Field(default=0)


def entry(session: Session, entry_key: str) -> BalanceEntryRow | None:
    return session.exec(select(BalanceEntryRow).where(BalanceEntryRow.entry_key == entry_key)).first()


def balance(session: Session, customer_id: str, account: str, currency: str) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(BalanceEntryRow.amount), 0)).where(
            BalanceEntryRow.customer_id == customer_id,
            BalanceEntryRow.account == account,
            BalanceEntryRow.currency == currency,
        )
    ).one()
    return int(total)


def balances(session: Session, customer_id: str) -> dict[tuple[str, str], int]:
    """Every balance the customer has, by (account, currency)."""
    rows = session.exec(
        select(BalanceEntryRow.account, BalanceEntryRow.currency, func.sum(BalanceEntryRow.amount))
        .where(BalanceEntryRow.customer_id == customer_id)
        .group_by(col(BalanceEntryRow.account), col(BalanceEntryRow.currency))
    ).all()
    return {(account, currency): int(total) for account, currency, total in rows}


def entries(session: Session, customer_id: str, limit: int = 100) -> list[BalanceEntryRow]:
    return list(
        session.exec(
            select(BalanceEntryRow)
            .where(BalanceEntryRow.customer_id == customer_id)
            .order_by(col(BalanceEntryRow.id).desc())
            .limit(limit)
        ).all()
    )


def add_entry(session: Session, row: BalanceEntryRow) -> BalanceEntryRow:
    """Write the entry once: the one already kept under its key when a concurrent or earlier copy wrote first."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        kept = entry(session, row.entry_key)
        assert kept is not None, f"entry {row.entry_key} was refused but is not there"
        return kept
    session.refresh(row)
    return row


def debit(session: Session, row: BalanceEntryRow) -> BalanceEntryRow:
    """Take `-row.amount` from the balance once (by entry key), or keep a `declined` entry of nothing when the
    balance is short. Answers the entry kept under the key, whichever copy wrote it."""
    kept = entry(session, row.entry_key)
    if kept is not None:
        return kept
    _lock(session, row.customer_id, row.account, row.currency)
    kept = entry(session, row.entry_key)  # a concurrent copy may have finished while we waited for the lock
    if kept is not None:
        session.rollback()
        return kept
    available = balance(session, row.customer_id, row.account, row.currency)
    if available < -row.amount:
        row.kind, row.amount = "declined", 0
    return add_entry(session, row)


def refunded_against(session: Session, debit_key: str) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(BalanceEntryRow.amount), 0)).where(
            BalanceEntryRow.reference == debit_key, BalanceEntryRow.kind == "refund"
        )
    ).one()
    return int(total)


def _lock(session: Session, customer_id: str, account: str, currency: str) -> None:
    if session.get(BalanceLockRow, (customer_id, account, currency)) is None:
        session.add(BalanceLockRow(customer_id=customer_id, account=account, currency=currency))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a concurrent debit created it first
    session.execute(
        update(BalanceLockRow)
        .where(
            col(BalanceLockRow.customer_id) == customer_id,
            col(BalanceLockRow.account) == account,
            col(BalanceLockRow.currency) == currency,
        )
        .values(debits=BalanceLockRow.debits + 1)
    )
